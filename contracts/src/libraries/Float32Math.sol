// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Float32} from "./Float32.sol";

/// @title Float32Math
/// @notice The kernels' own exp, log, erf and GELU (`prover/kernels/repkern.c`, profile repcpu-2)
///         as the same sequence of binary32 operations, so every result has the C code's bits.
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

    /// @dev p = c[0]; p = p * x + c[i] for each further coefficient (Horner, C's order).
    function _horner(uint32 x, uint32[] memory c) private pure returns (uint32 p) {
        p = c[0];
        for (uint256 i = 1; i < c.length; ++i) {
            p = p.mul(x).add(c[i]);
        }
    }

    /// @notice rk_exp: Cody-Waite reduction by ln2 and a degree-6 polynomial; 0 below -87.33654,
    ///         +inf above 88.72283, a NaN input returned as it is (not quieted).
    function exp(uint32 x) internal pure returns (uint32) {
        if (x.isNaN()) return x;
        if (x.lt(EXP_LO)) return 0;
        if (x.gt(EXP_HI)) return Float32.POS_INF;
        uint32 n = x.mul(LOG2E).add(MAGIC).sub(MAGIC);
        uint32 r = x.sub(n.mul(LN2_HI));
        r = r.sub(n.mul(LN2_LO));
        uint32[] memory c = new uint32[](6);
        c[0] = 0x39506967; // 1.9875691500e-4f
        c[1] = 0x3AB743CE; // 1.3981999507e-3f
        c[2] = 0x3C088908; // 8.3334519073e-3f
        c[3] = 0x3D2AA9C1; // 4.1665795894e-2f
        c[4] = 0x3E2AAAAA; // 1.6666665459e-1f
        c[5] = 0x3F000000; // 5.0000001201e-1f
        uint32 p = _horner(r, c);
        uint32 y = p.mul(r.mul(r)).add(r).add(ONE);
        int32 ni = n.toInt();
        // 2^n as 2^n1 * 2^n2, both normal (n in [-126, 128] after the clamp)
        int32 n1 = ni / 2;
        int32 n2 = ni - n1;
        y = y.mul(uint32(uint256(int256(n1 + 127))) << 23);
        return y.mul(uint32(uint256(int256(n2 + 127))) << 23);
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
        uint32[] memory c = new uint32[](9);
        c[0] = 0x3D9021BB; // 7.0376836292e-2f
        c[1] = 0xBDEBD1B8; // -1.1514610310e-1f
        c[2] = 0x3DEF251A; // 1.1676998740e-1f
        c[3] = 0xBDFE5D4F; // -1.2420140846e-1f
        c[4] = 0x3E11E9BF; // 1.4249322787e-1f
        c[5] = 0xBE2AAE50; // -1.6668057665e-1f
        c[6] = 0x3E4CCEAC; // 2.0000714765e-1f
        c[7] = 0xBE7FFFFC; // -2.4999993993e-1f
        c[8] = 0x3EAAAAAA; // 3.3333331174e-1f
        uint32 y = _horner(f, c).mul(f).mul(z);
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
        if (ax.lt(ERF_SPLIT)) {
            uint32[] memory c = new uint32[](9);
            c[0] = 0x35DCF365; // 1.64621144e-06f
            c[1] = 0xB77A692E; // -1.49256504e-05f
            c[2] = 0x38FCD194; // 1.20553330e-04f
            c[3] = 0xBA6016DA; // -8.54832702e-04f
            c[4] = 0x3BAB2DE7; // 5.22397763e-03f
            c[5] = 0xBCDC1672; // -2.68661706e-02f
            c[6] = 0x3DE71791; // 1.12837917e-01f
            c[7] = 0xBEC093A3; // -3.76126389e-01f
            c[8] = 0x3F906EBB; // 1.12837917e+00f
            return x.mul(_horner(z, c));
        }
        if (ax.ge(ERF_ONE_AT)) return x.lt(0) ? NEG_ONE : ONE;
        uint32 t = ONE.div(ONE.add(AS_P.mul(ax)));
        uint32[] memory q = new uint32[](5);
        q[0] = 0x3F87DC22; // 1.061405429f
        q[1] = 0xBFBA00E3; // -1.453152027f
        q[2] = 0x3FB5F0E3; // 1.421413741f
        q[3] = 0xBE91A98E; // -0.284496736f
        q[4] = 0x3E827906; // 0.254829592f
        uint32 big = ONE.sub(_horner(t, q).mul(t).mul(exp(z.neg())));
        return x.lt(0) ? big.neg() : big;
    }

    /// @notice GELU (erf form) as rk_gelu computes it: (0.5f * v) * (1.0f + erf(v * (1/sqrt2))).
    function gelu(uint32 v) internal pure returns (uint32) {
        return HALF.mul(v).mul(ONE.add(erf(v.mul(FRAC_1_SQRT2))));
    }
}
