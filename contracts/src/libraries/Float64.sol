// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Float32Alu} from "./Float32Alu.sol";

/// @title Float64
/// @notice IEEE-754 binary64 on raw `uint64` bit patterns: the operations of the clip
///         coefficient's program (docs/referee.md "Float64"), bit-exact with x86 SSE2 (`addsd`,
///         `divsd`, `sqrtsd`, `cvtss2sd`, `cvtsd2ss`) and with Python's float under the default
///         MXCSR: round to nearest even, subnormals kept (no FTZ/DAZ), overflow to ±inf.
/// @dev NaN rules, as SSE2 applies them (Float32's, one size up): when an operand is a NaN the
///      result is the first NaN operand, quieted (bit 51 set); an invalid operation on non-NaN
///      operands (inf - inf, 0 / 0, inf / inf, sqrt of a negative) gives the default NaN
///      0xFFF8000000000000. The conversions keep a NaN's sign and the top of its payload,
///      quieted. Every rounding operation computes the exact result (or the exact result with a
///      sticky bit below every bit that can matter) and rounds once, in `_pack`.
library Float64 {
    uint64 internal constant SIGN = 0x8000000000000000;
    uint64 internal constant POS_INF = 0x7FF0000000000000;
    uint64 internal constant NEG_INF = 0xFFF0000000000000;
    /// @notice The NaN SSE2 returns for an invalid operation (sign set, quiet bit set).
    uint64 internal constant DEFAULT_NAN = 0xFFF8000000000000;
    uint64 internal constant ONE = 0x3FF0000000000000;

    // ------------------------------------------------------------------ classification

    /// @notice Whether `a` is a NaN (quiet or signalling).
    function isNaN(uint64 a) internal pure returns (bool) {
        return a & ~SIGN > POS_INF;
    }

    /// @notice Whether `a` is +inf or -inf.
    function isInf(uint64 a) internal pure returns (bool) {
        return a & ~SIGN == POS_INF;
    }

    function _isZero(uint64 a) private pure returns (bool) {
        return a & ~SIGN == 0;
    }

    // ------------------------------------------------------------------ comparisons (IEEE)

    /// @dev Maps a non-NaN pattern to an integer that orders like its value (-0 just below +0).
    function _key(uint64 a) private pure returns (uint256) {
        return a & SIGN != 0 ? uint256(~a) : uint256(a) | (1 << 64);
    }

    /// @notice a < b (false when either is NaN; -0 == +0).
    function lt(uint64 a, uint64 b) internal pure returns (bool) {
        if (isNaN(a) || isNaN(b) || (_isZero(a) && _isZero(b))) return false;
        return _key(a) < _key(b);
    }

    /// @notice Python's `min(a, b)`: `b < a ? b : a` (so a when either is NaN or both are
    ///         zeros; `minsd` would return b there).
    function pyMin(uint64 a, uint64 b) internal pure returns (uint64) {
        return lt(b, a) ? b : a;
    }

    // ------------------------------------------------------------------ arithmetic

    /// @notice a + b (`addsd a, b`).
    function add(uint64 a, uint64 b) internal pure returns (uint64) {
        if (isNaN(a)) return a | QUIET;
        if (isNaN(b)) return b | QUIET;
        if (isInf(a) || isInf(b)) {
            // INVARIANT: inf - inf is invalid
            if (isInf(a) && isInf(b) && a != b) return DEFAULT_NAN;
            return isInf(a) ? a : b;
        }
        if (_isZero(b)) return _isZero(a) ? a & b : a; // -0 + -0 = -0, any other zero sum +0
        if (_isZero(a)) return b;
        (uint256 ma, int256 ea) = _split(a);
        (uint256 mb, int256 eb) = _split(b);
        uint64 sa = a & SIGN;
        uint64 sb = b & SIGN;
        if (ea < eb) (ma, ea, sa, mb, eb, sb) = (mb, eb, sb, ma, ea, sa);
        uint256 d = uint256(ea - eb);
        int256 e = eb;
        if (d <= 120) {
            ma <<= d;
        } else {
            // b is under 2^-67 of a's last unit once a is shifted up by 64: a sticky 1 there
            // rounds the same way (a is normal: the sum keeps at least 115 bits).
            (ma, mb, e) = (ma << 64, 1, ea - 64);
        }
        if (sa == sb) return _pack(sa, ma + mb, e);
        if (ma == mb) return 0; // an exact zero difference is +0
        return ma > mb ? _pack(sa, ma - mb, e) : _pack(sb, mb - ma, e);
    }

    /// @notice a / b (`divsd a, b`).
    function div(uint64 a, uint64 b) internal pure returns (uint64) {
        if (isNaN(a)) return a | QUIET;
        if (isNaN(b)) return b | QUIET;
        uint64 s = (a ^ b) & SIGN;
        // INVARIANT: inf / inf and 0 / 0 are invalid
        if ((isInf(a) && isInf(b)) || (_isZero(a) && _isZero(b))) return DEFAULT_NAN;
        if (isInf(a) || _isZero(b)) return s | POS_INF;
        if (isInf(b) || _isZero(a)) return s;
        (uint256 ma, int256 ea) = _split(a);
        (uint256 mb, int256 eb) = _split(b);
        // at least 75 quotient bits (ma >= 1, mb < 2^53), then the remainder as a sticky bit
        uint256 num = ma << 128;
        uint256 q = num / mb;
        if (num % mb != 0) q |= 1;
        return _pack(s, q, ea - eb - 128 + BIAS);
    }

    /// @notice sqrt(a) (`sqrtsd`): ±0 stay, +inf stays, a negative gives the default NaN.
    function sqrt(uint64 a) internal pure returns (uint64) {
        if (isNaN(a)) return a | QUIET;
        if (_isZero(a) || a == POS_INF) return a;
        // INVARIANT: the square root of a negative is invalid
        if (a & SIGN != 0) return DEFAULT_NAN;
        (uint256 m, int256 e) = _split(a);
        // value = m * 2^x; widen m by an even total scale so that the root has >= 58 bits
        int256 x = e - BIAS;
        uint256 k = 116 + uint256(x & 1);
        uint256 n = m << k;
        uint256 r = _isqrt(n);
        if (r * r != n) r |= 1;
        return _pack(0, r, (x - int256(k)) / 2 + BIAS);
    }

    // ------------------------------------------------------------------ conversions

    /// @notice (double)a (`cvtss2sd`): exact; a NaN keeps its sign and payload, quieted.
    function fromFloat32(uint32 a) internal pure returns (uint64) {
        uint64 s = uint64(a & 0x80000000) << 32;
        uint256 f = (a >> 23) & 0xFF;
        uint64 frac = uint64(a & 0x7FFFFF);
        if (f == 0xFF) return frac == 0 ? s | POS_INF : s | POS_INF | QUIET | (frac << 29);
        if (f == 0) {
            if (frac == 0) return s;
            // frac * 2^-149 = 2^(t - 149) * (frac / 2^t), t its top bit: a normal binary64
            uint256 t = _msb(frac);
            return s | uint64((t + 874) << 52) | ((frac << uint64(52 - t)) & FRAC);
        }
        return s | uint64((f + 896) << 52) | (frac << 29);
    }

    /// @notice (float)a (`cvtsd2ss`): rounded to nearest even, past the binary32 range ±inf,
    ///         under it a subnormal or ±0; a NaN keeps its sign and top payload bits, quieted.
    function toFloat32(uint64 a) internal pure returns (uint32) {
        uint32 s = uint32(a >> 32) & 0x80000000;
        if (isNaN(a)) return s | 0x7FC00000 | uint32((a & FRAC) >> 29);
        if (isInf(a)) return s | 0x7F800000;
        if (_isZero(a)) return s;
        (uint256 m, int256 e) = _split(a);
        int256 c = e - PACK32_SHIFT;
        // under 2^(53 + 250 - 512) = 2^-209, far below half the least subnormal: ±0
        if (c < 250) return s;
        return Float32Alu.run(Float32Alu.OP_PACK, s, m, uint256(c));
    }

    // ------------------------------------------------------------------ the rounding core

    uint64 private constant QUIET = 0x0008000000000000;
    uint64 private constant FRAC = 0x000FFFFFFFFFFFFF;
    /// @dev A finite value is an integer significand m and a scale e: m * 2^(e - BIAS). The
    ///      exponent field f (1 for subnormals) is the scale f + 973; 2^-1074 is MIN_SCALE.
    int256 private constant BIAS = 2048;
    int256 private constant MIN_SCALE = 974;
    /// @dev Float32Alu's pack works in scales m * 2^(c - 512): c = e - PACK32_SHIFT.
    int256 private constant PACK32_SHIFT = 1536;

    /// @dev A finite nonzero pattern's significand (hidden bit included) and scale.
    function _split(uint64 a) private pure returns (uint256 m, int256 e) {
        uint256 f = (a >> 52) & 0x7FF;
        m = a & FRAC;
        if (f == 0) f = 1;
        else m |= 1 << 52;
        e = int256(f) + 973;
    }

    /// @dev Index of the highest set bit of m > 0 (a binary search).
    function _msb(uint256 m) private pure returns (uint256 t) {
        for (uint256 step = 128; step > 0; step >>= 1) {
            if (m >> step != 0) {
                m >>= step;
                t += step;
            }
        }
    }

    /// @dev floor(sqrt(n)), n > 0: Newton's iteration from above (a power of two over the root).
    function _isqrt(uint256 n) private pure returns (uint256 r) {
        r = 1 << ((_msb(n) >> 1) + 1);
        while (true) {
            uint256 y = (r + n / r) >> 1;
            if (y >= r) return r;
            r = y;
        }
    }

    /// @dev s | m * 2^(e - BIAS) rounded once to nearest even (m < 2^255; m = 0 gives ±0). The
    ///      rounded significand is added to the exponent field, so a carry (or a subnormal that
    ///      becomes normal) moves the exponent by itself; at or past 0x7FF0... is infinity.
    function _pack(uint64 s, uint256 m, int256 e) private pure returns (uint64) {
        if (m == 0) return s;
        // sh = bits to drop: keep 53, or fewer where the result is subnormal
        int256 sh = int256(_msb(m)) - 52;
        if (MIN_SCALE - e > sh) sh = MIN_SCALE - e;
        if (sh <= 0) {
            m <<= uint256(-sh);
        } else if (sh > 255) {
            m = 0; // under half the least subnormal
        } else {
            uint256 q = m >> uint256(sh);
            uint256 rest = m & ((1 << uint256(sh)) - 1);
            uint256 half = 1 << uint256(sh - 1);
            // up when rest > half, or rest == half and q is odd (ties to even)
            m = q + (rest > half || (rest == half && q & 1 == 1) ? 1 : 0);
        }
        uint256 bits = m + (uint256(e + sh - MIN_SCALE) << 52);
        if (bits >= POS_INF) bits = POS_INF;
        return s | uint64(bits);
    }
}
