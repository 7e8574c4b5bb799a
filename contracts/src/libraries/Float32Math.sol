// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Float32} from "./Float32.sol";

/// @title Float32Math
/// @notice The kernels' own exp, log, erf (`prover/kernels/repkern_math.h`) and GELU
///         (`repkern_rows.h`) as the same sequence of binary32 operations, so every result has
///         the C code's bits.
/// @dev Each function follows its C twin line by line, operands in the C source's order (that
///      order decides which NaN propagates). The C code computes both sides of every select and
///      picks one; here a side whose result is thrown away is not computed at all, which cannot
///      change the bits of the side that is kept. Constants are the C literals' float bits.
library Float32Math {
    using Float32 for uint32;

    uint32 private constant ONE = 0x3F800000;
    uint32 private constant HALF = 0x3F000000;
    uint32 private constant NEG_ONE = 0xBF800000;

    // exp
    uint32 private constant EXP_LO = 0xC2AEAC4F; // -87.33654f
    uint32 private constant EXP_HI = 0x42B17217; // 88.72283f
    uint32 private constant MAGIC = 0x4B400000; // 1.5 * 2^23
    uint32 private constant LOG2E = 0x3FB8AA3B; // 1.44269504088896341f
    uint32 private constant LN2_HI = 0x3F318000; // 0.693359375f
    uint32 private constant LN2_LO = 0xB95E8083; // -2.12194440e-4f

    // erf
    uint32 private constant ERF_SPLIT = 0x3F580000; // 0.84375f
    uint32 private constant ERF_ONE_AT = 0x40800000; // 4.0f
    uint32 private constant AS_P = 0x3EA7BA05; // 0.3275911f

    // log
    uint32 private constant FLT_MIN = 0x00800000; // 1.17549435e-38f
    uint32 private constant TWO_23 = 0x4B000000; // 8388608.0f
    uint32 private constant SQRT2 = 0x3FB504F3; // 1.41421356f
    uint32 private constant LOG_NAN = 0x7FC00000; // C's NAN

    // gelu
    uint32 private constant FRAC_1_SQRT2 = 0x3F3504F3; // 0.70710678118654752f

    // polynomial coefficients (C literals, Horner order): the first, then the rest packed
    /// @dev exp polynomial 1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f,
    ///      1.6666665459e-1f, 5.0000001201e-1f
    uint32 private constant EXP_C0 = 0x39506967;
    uint256 private constant EXP_REST =
        0x00_3AB743CE_3C088908_3D2AA9C1_3E2AAAAA_3F000000;
    /// @dev log polynomial 7.0376836292e-2f, -1.1514610310e-1f, 1.1676998740e-1f,
    ///      -1.2420140846e-1f, 1.4249322787e-1f, -1.6668057665e-1f, 2.0000714765e-1f,
    ///      -2.4999993993e-1f, 3.3333331174e-1f
    uint32 private constant LOG_C0 = 0x3D9021BB;
    uint256 private constant LOG_REST =
        0xBDEBD1B8_3DEF251A_BDFE5D4F_3E11E9BF_BE2AAE50_3E4CCEAC_BE7FFFFC_3EAAAAAA;
    /// @dev erf Taylor series (in x^2) 1.64621144e-06f, -1.49256504e-05f, 1.20553330e-04f,
    ///      -8.54832702e-04f, 5.22397763e-03f, -2.68661706e-02f, 1.12837917e-01f, -3.76126389e-01f,
    ///      1.12837917e+00f
    uint32 private constant ERF_T_C0 = 0x35DCF365;
    uint256 private constant ERF_T_REST =
        0xB77A692E_38FCD194_BA6016DA_3BAB2DE7_BCDC1672_3DE71791_BEC093A3_3F906EBB;
    /// @dev erf A&S 7.1.26 polynomial (in t) 1.061405429f, -1.453152027f, 1.421413741f,
    ///      -0.284496736f, 0.254829592f
    uint32 private constant ERF_Q_C0 = 0x3F87DC22;
    uint256 private constant ERF_Q_REST =
        0xBFBA00E3_3FB5F0E3_BE91A98E_3E827906;

    /// @dev p = c0; then p = p * x + c for each further coefficient (Horner, C's order). The
    ///      further coefficients are packed 32 bits each in `rest`, the first in the top word.
    function _horner(uint32 x, uint32 c0, uint256 rest, uint256 n) private pure returns (uint32 p) {
        p = c0;
        unchecked {
            for (uint256 sh = 32 * n; sh > 0; sh -= 32) {
                p = p.mul(x).add(uint32(rest >> (sh - 32)));
            }
        }
    }

    /// @notice rk_exp: Cody-Waite reduction by ln2 and a degree-6 polynomial; 0 below -87.33654,
    ///         +inf above 88.72283, a NaN input returned as it is (not quieted).
    function exp(uint32 x) internal pure returns (uint32) {
        if (x.isNaN()) return x;
        // x < EXP_LO and x > EXP_HI for a non-NaN x, as integer compares of the patterns: a
        // negative x under EXP_LO has the larger pattern; a positive one over EXP_HI has a
        // larger pattern that is still under the sign bit
        if (x > EXP_LO) return 0;
        if (x > EXP_HI && x < Float32.SIGN) return Float32.POS_INF;
        uint32 n = x.mul(LOG2E).add(MAGIC).sub(MAGIC);
        uint32 r = x.sub(n.mul(LN2_HI));
        r = r.sub(n.mul(LN2_LO));
        uint32 p = _horner(r, EXP_C0, EXP_REST, 5);
        uint32 y = p.mul(r.mul(r)).add(r).add(ONE);
        int32 ni = n.toInt();
        // 2^n as 2^n1 * 2^n2, both normal (n in [-126, 128] after the clamp)
        unchecked {
            int32 n1 = ni / 2;
            int32 n2 = ni - n1;
            y = y.mul(uint32(uint256(int256(n1 + 127))) << 23);
            return y.mul(uint32(uint256(int256(n2 + 127))) << 23);
        }
    }

    /// @notice rk_log: exponent by bit moves, mantissa in [sqrt(1/2), sqrt(2)), degree-9
    ///         polynomial; log(±0) = -inf, log(x < 0) = C's NAN (0x7FC00000), log(+inf) = +inf,
    ///         a NaN input returned as it is.
    function log(uint32 x) internal pure returns (uint32) {
        if (x.isNaN()) return x;
        if (x & 0x7FFFFFFF == 0) return Float32.NEG_INF;
        if (x & Float32.SIGN != 0) return LOG_NAN;
        if (x == Float32.POS_INF) return x;
        bool sub = x.lt(FLT_MIN);
        uint32 u = sub ? x.mul(TWO_23) : x;
        int64 e = int64(uint64((u >> 23) & 0xFF)) - 127 - (sub ? int64(23) : int64(0));
        uint32 m = (u & 0x007FFFFF) | 0x3F800000;
        if (m.gt(SQRT2)) {
            m = m.mul(HALF);
            e = e + 1;
        }
        uint32 f = m.sub(ONE);
        uint32 z = f.mul(f);
        uint32 y = _horner(f, LOG_C0, LOG_REST, 8).mul(f).mul(z);
        uint32 fe = Float32.fromInt(e);
        y = y.add(fe.mul(LN2_LO));
        y = y.sub(HALF.mul(z));
        uint32 r = f.add(y);
        return r.add(fe.mul(LN2_HI));
    }

    /// @notice rk_erf: Taylor series to x^17 below |x| = 0.84375, Abramowitz & Stegun 7.1.26
    ///         above, ±1 from |x| = 4.
    function erf(uint32 x) internal pure returns (uint32) {
        uint32 ax = x.abs();
        uint32 z = x.mul(x);
        // the compares of |x| as integer compares of the patterns (a NaN's pattern is over
        // +inf's), and x < 0 as the sign bit of a non-NaN x
        if (ax < ERF_SPLIT) {
            return x.mul(_horner(z, ERF_T_C0, ERF_T_REST, 8));
        }
        bool negative = x & Float32.SIGN != 0 && ax <= Float32.POS_INF;
        if (ax >= ERF_ONE_AT && ax <= Float32.POS_INF) return negative ? NEG_ONE : ONE;
        uint32 t = ONE.div(ONE.add(AS_P.mul(ax)));
        uint32 big = ONE.sub(_horner(t, ERF_Q_C0, ERF_Q_REST, 4).mul(t).mul(exp(z.neg())));
        return negative ? big.neg() : big;
    }

    /// @notice GELU (erf form) as rk_gelu computes it: (0.5f * v) * (1.0f + erf(v * (1/sqrt2))).
    function gelu(uint32 v) internal pure returns (uint32) {
        return HALF.mul(v).mul(ONE.add(erf(v.mul(FRAC_1_SQRT2))));
    }
}
