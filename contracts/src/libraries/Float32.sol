// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Float32
/// @notice IEEE-754 binary32 arithmetic on raw `uint32` bit patterns, bit-exact with x86 SSE
///         (`addss`, `mulss`, `divss`, `sqrtss`, `cvtsi2ss`, `cvttss2si`, `maxss`, `minss`) under
///         the default MXCSR: round to nearest even, subnormals kept (no FTZ/DAZ).
/// @dev NaN rules, as SSE applies them: when an operand is a NaN the result is the FIRST NaN
///      source operand (in the order of the arguments here, which is the order of the C source
///      `a op b`), quieted by setting bit 22; an invalid operation on non-NaN operands
///      (inf - inf, 0 * inf, 0 / 0, inf / inf, sqrt of a negative) gives the default NaN
///      0xFFC00000. `neg` and `abs` are bit moves (xorps / andps) and never quiet a NaN.
///      Internally a finite value is m * 2^(e - BIAS) with an integer m and a positive e, and
///      every operation computes its exact result (or the exact result with a sticky bit below
///      every bit that matters) and rounds once in `_pack`.
library Float32 {
    uint32 internal constant SIGN = 0x80000000;
    uint32 internal constant POS_INF = 0x7F800000;
    uint32 internal constant NEG_INF = 0xFF800000;
    /// @notice The NaN SSE returns for an invalid operation (sign set, quiet bit set).
    uint32 internal constant DEFAULT_NAN = 0xFFC00000;
    uint32 internal constant ONE = 0x3F800000;

    /// @dev A biased field e (1 for subnormals) has the scale e + 362 here: BIAS - 150 + e.
    uint256 private constant BIAS = 512;
    /// @dev The scale of the smallest subnormal, 2^-149: BIAS - 149.
    uint256 private constant MIN_SCALE = 363;
    /// @dev A sum whose exponents differ by more than this keeps the smaller term as a sticky bit.
    uint256 private constant ALIGN_CAP = 64;

    // ------------------------------------------------------------------ classification

    /// @notice Whether `a` is a NaN (quiet or signalling).
    function isNaN(uint32 a) internal pure returns (bool) {
        return a & 0x7FFFFFFF > POS_INF;
    }

    /// @notice Whether `a` is +inf or -inf.
    function isInf(uint32 a) internal pure returns (bool) {
        return a & 0x7FFFFFFF == POS_INF;
    }

    // ------------------------------------------------------------------ bit moves

    /// @notice -a (flips the sign bit, NaNs included, as `xorps` does).
    function neg(uint32 a) internal pure returns (uint32) {
        return a ^ SIGN;
    }

    /// @notice |a| (clears the sign bit, as `andps` does).
    function abs(uint32 a) internal pure returns (uint32) {
        return a & 0x7FFFFFFF;
    }

    // ------------------------------------------------------------------ comparisons (IEEE)

    /// @dev Maps a non-NaN pattern to an integer that orders like its value (-0 just below +0).
    function _key(uint32 a) private pure returns (uint256) {
        return a & SIGN != 0 ? uint256(~a & 0xFFFFFFFF) : uint256(a) | 0x100000000;
    }

    /// @dev Whether a comparison is unordered (a NaN) or both operands are zeros.
    function _unorderedOrZeros(uint32 a, uint32 b) private pure returns (bool nan, bool zeros) {
        nan = isNaN(a) || isNaN(b);
        zeros = (a | b) & 0x7FFFFFFF == 0;
    }

    /// @notice a < b (false when either is NaN; -0 == +0).
    function lt(uint32 a, uint32 b) internal pure returns (bool) {
        (bool nan, bool zeros) = _unorderedOrZeros(a, b);
        return !nan && !zeros && _key(a) < _key(b);
    }

    /// @notice a <= b (false when either is NaN; -0 == +0).
    function le(uint32 a, uint32 b) internal pure returns (bool) {
        (bool nan, bool zeros) = _unorderedOrZeros(a, b);
        return !nan && (zeros || _key(a) <= _key(b));
    }

    /// @notice a > b.
    function gt(uint32 a, uint32 b) internal pure returns (bool) {
        return lt(b, a);
    }

    /// @notice a >= b.
    function ge(uint32 a, uint32 b) internal pure returns (bool) {
        return le(b, a);
    }

    /// @notice a == b in IEEE terms (NaN != NaN, -0 == +0).
    function eq(uint32 a, uint32 b) internal pure returns (bool) {
        (bool nan, bool zeros) = _unorderedOrZeros(a, b);
        return !nan && (zeros || a == b);
    }

    /// @notice `maxss a, b`: a > b ? a : b, so b when either is NaN or both are zeros.
    function max(uint32 a, uint32 b) internal pure returns (uint32) {
        return gt(a, b) ? a : b;
    }

    /// @notice `minss a, b`: a < b ? a : b, so b when either is NaN or both are zeros.
    function min(uint32 a, uint32 b) internal pure returns (uint32) {
        return lt(a, b) ? a : b;
    }

    // ------------------------------------------------------------------ rounding

    /// @dev Rounds s * m * 2^(e - BIAS) to binary32 (nearest, ties to even) and packs it; m == 0
    ///      gives a zero with sign s. m < 2^128. The rounded significand is added to the exponent
    ///      field, so a carry out of the significand (or out of the subnormal range) moves the
    ///      exponent up by itself; anything at or past 0x7F800000 is infinity.
    function _pack(uint256 s, uint256 m, uint256 e) private pure returns (uint32 r) {
        assembly ("memory-safe") {
            switch m
            case 0 { r := s }
            default {
                // b = index of the highest set bit of m (binary search, m < 2^128)
                let b := shl(6, gt(m, 0xFFFFFFFFFFFFFFFF))
                let t := shr(b, m)
                let f := shl(5, gt(t, 0xFFFFFFFF))
                b := or(b, f)
                t := shr(f, t)
                f := shl(4, gt(t, 0xFFFF))
                b := or(b, f)
                t := shr(f, t)
                f := shl(3, gt(t, 0xFF))
                b := or(b, f)
                t := shr(f, t)
                f := shl(2, gt(t, 0xF))
                b := or(b, f)
                t := shr(f, t)
                f := shl(1, gt(t, 0x3))
                b := or(b, f)
                b := or(b, gt(shr(f, t), 1))
                // sh = bits to drop: keep 24 bits, or fewer where the result is subnormal
                let sh := sub(b, 23)
                let lim := sub(MIN_SCALE, e)
                if sgt(lim, sh) { sh := lim }
                switch slt(sh, 1)
                case 1 { m := shl(sub(0, sh), m) }
                default {
                    let q := shr(sh, m)
                    let rest := and(m, sub(shl(sh, 1), 1))
                    // up when rest > half, or rest == half and q is odd (ties to even)
                    let up := gt(add(rest, and(q, 1)), shl(sub(sh, 1), 1))
                    m := add(q, and(up, lt(sh, 200)))
                }
                m := add(m, shl(23, sub(add(e, sh), MIN_SCALE)))
                if gt(m, 0x7F7FFFFF) { m := POS_INF }
                r := or(s, m)
            }
        }
    }

    // ------------------------------------------------------------------ add, sub

    /// @dev The exact sum of s1*m1*2^e1 and s2*m2*2^e2 as (sign, m, e); when the exponents differ
    ///      by more than ALIGN_CAP the smaller term (< 2^-16 of the larger's unit) becomes a sticky
    ///      1 under the larger shifted up by 16, which rounds the same way. An exact zero sum
    ///      takes the sign both terms share, else +0 (round to nearest).
    function _sum(uint256 s1, uint256 m1, uint256 e1, uint256 s2, uint256 m2, uint256 e2)
        private
        pure
        returns (uint256 s, uint256 m, uint256 e)
    {
        assembly ("memory-safe") {
            if lt(e1, e2) {
                let t := s1
                s1 := s2
                s2 := t
                t := m1
                m1 := m2
                m2 := t
                t := e1
                e1 := e2
                e2 := t
            }
            let d := sub(e1, e2)
            s := s1
            switch gt(d, ALIGN_CAP)
            case 1 {
                m := shl(16, m1)
                e := sub(e1, 16)
                switch eq(s1, s2)
                case 1 { m := add(m, iszero(iszero(m2))) }
                default { m := sub(m, iszero(iszero(m2))) }
            }
            default {
                m := shl(d, m1)
                e := e2
                switch eq(s1, s2)
                case 1 { m := add(m, m2) }
                default {
                    switch lt(m, m2)
                    case 1 {
                        m := sub(m2, m)
                        s := s2
                    }
                    default { m := sub(m, m2) }
                }
            }
            if iszero(m) { s := and(s1, s2) }
        }
    }

    /// @dev Splits finite `a` into (sign, integer significand, scale): a = ±m * 2^(e - BIAS).
    function _unpack(uint32 a) private pure returns (uint256 s, uint256 m, uint256 e) {
        assembly ("memory-safe") {
            s := and(a, SIGN)
            e := and(shr(23, a), 0xFF)
            m := or(and(a, 0x7FFFFF), shl(23, iszero(iszero(e))))
            e := add(add(e, iszero(e)), 362)
        }
    }

    /// @dev a + b when a or b is an infinity or a NaN.
    function _addSpecial(uint32 a, uint32 b) private pure returns (uint32) {
        if (isNaN(a)) return a | 0x400000;
        if (isNaN(b)) return b | 0x400000;
        if (isInf(a) && isInf(b) && a != b) return DEFAULT_NAN;
        return isInf(a) ? a : b;
    }

    /// @notice a + b (`addss a, b`).
    function add(uint32 a, uint32 b) internal pure returns (uint32) {
        if (a & POS_INF == POS_INF || b & POS_INF == POS_INF) return _addSpecial(a, b);
        (uint256 sa, uint256 ma, uint256 ea) = _unpack(a);
        (uint256 sb, uint256 mb, uint256 eb) = _unpack(b);
        (uint256 s, uint256 m, uint256 e) = _sum(sa, ma, ea, sb, mb, eb);
        return _pack(s, m, e);
    }

    /// @notice a - b (`subss a, b`): a + (-b), except that a NaN b propagates with its own sign.
    function sub(uint32 a, uint32 b) internal pure returns (uint32) {
        return add(a, isNaN(b) ? b : b ^ SIGN);
    }

    // ------------------------------------------------------------------ mul, div, fma

    /// @notice a * b (`mulss a, b`).
    function mul(uint32 a, uint32 b) internal pure returns (uint32) {
        uint32 s = (a ^ b) & SIGN;
        if (a & POS_INF == POS_INF || b & POS_INF == POS_INF) {
            if (isNaN(a)) return a | 0x400000;
            if (isNaN(b)) return b | 0x400000;
            // INVARIANT: 0 * inf is invalid
            if ((a & 0x7FFFFFFF == 0) || (b & 0x7FFFFFFF == 0)) return DEFAULT_NAN;
            return s | POS_INF;
        }
        (, uint256 ma, uint256 ea) = _unpack(a);
        (, uint256 mb, uint256 eb) = _unpack(b);
        unchecked {
            return _pack(s, ma * mb, ea + eb - BIAS);
        }
    }

    /// @notice a / b (`divss a, b`).
    function div(uint32 a, uint32 b) internal pure returns (uint32) {
        uint32 s = (a ^ b) & SIGN;
        uint32 aa = a & 0x7FFFFFFF;
        uint32 ab = b & 0x7FFFFFFF;
        if (aa >= POS_INF || ab >= POS_INF || ab == 0 || aa == 0) {
            if (aa > POS_INF) return a | 0x400000;
            if (ab > POS_INF) return b | 0x400000;
            if ((aa == POS_INF && ab == POS_INF) || (aa == 0 && ab == 0)) return DEFAULT_NAN;
            if (aa == POS_INF || ab == 0) return s | POS_INF;
            return s;
        }
        (, uint256 ma, uint256 ea) = _unpack(a);
        (, uint256 mb, uint256 eb) = _unpack(b);
        uint256 q;
        assembly ("memory-safe") {
            let num := shl(64, ma)
            // 64 extra quotient bits, then the remainder as a sticky bit
            q := or(div(num, mb), iszero(iszero(mod(num, mb))))
        }
        unchecked {
            return _pack(s, q, ea + BIAS - eb - 64);
        }
    }

    /// @notice a * b + c with one rounding. NaN operands propagate in the order a, b, c; 0 * inf
    ///         and inf - inf are invalid (default NaN) unless an operand is a NaN.
    function fma(uint32 a, uint32 b, uint32 c) internal pure returns (uint32) {
        uint32 sp = (a ^ b) & SIGN;
        if (a & POS_INF == POS_INF || b & POS_INF == POS_INF || c & POS_INF == POS_INF) {
            if (isNaN(a)) return a | 0x400000;
            if (isNaN(b)) return b | 0x400000;
            if (isNaN(c)) return c | 0x400000;
            if (isInf(a) || isInf(b)) {
                if ((a & 0x7FFFFFFF == 0) || (b & 0x7FFFFFFF == 0)) return DEFAULT_NAN;
                if (isInf(c) && c != sp | POS_INF) return DEFAULT_NAN;
                return sp | POS_INF;
            }
            return c;
        }
        (, uint256 ma, uint256 ea) = _unpack(a);
        (, uint256 mb, uint256 eb) = _unpack(b);
        (uint256 sc, uint256 mc, uint256 ec) = _unpack(c);
        uint256 mp = ma * mb;
        // a zero term must never be the larger term of the sum: give it the lowest scale
        uint256 ep = mp == 0 ? 0 : ea + eb - BIAS;
        (uint256 s, uint256 m, uint256 e) = _sum(sp, mp, ep, sc, mc, mc == 0 ? 0 : ec);
        return _pack(s, m, e);
    }

    // ------------------------------------------------------------------ sqrt

    /// @notice sqrt(a) (`sqrtss`): -0 stays -0, a negative gives the default NaN.
    function sqrt(uint32 a) internal pure returns (uint32) {
        if (a & 0x7FFFFFFF == 0) return a;
        if (isNaN(a)) return a | 0x400000;
        if (a & SIGN != 0) return DEFAULT_NAN;
        if (a == POS_INF) return a;
        (, uint256 m, uint256 e) = _unpack(a);
        uint256 root;
        assembly ("memory-safe") {
            // make the scale even and m wide: sqrt(m << k) has at least 32 bits
            let k := add(64, and(e, 1))
            let n := shl(k, m)
            // Newton from above (2^45 >= sqrt(n) since n < 2^89) down to floor(sqrt(n))
            root := shl(45, 1)
            for {} 1 {} {
                let y := shr(1, add(root, div(n, root)))
                if iszero(lt(y, root)) { break }
                root := y
            }
            root := or(root, iszero(eq(mul(root, root), n)))
            e := add(BIAS, sar(1, sub(sub(e, BIAS), k)))
        }
        return _pack(0, root, e);
    }

    // ------------------------------------------------------------------ conversions

    /// @notice (float)i (`cvtsi2ss`, rounding to nearest even above 2^24).
    function fromInt(int64 i) internal pure returns (uint32) {
        uint256 s = i < 0 ? SIGN : 0;
        uint256 m = i < 0 ? uint256(-int256(i)) : uint256(int256(i));
        return _pack(s, m, BIAS);
    }

    /// @notice (int32_t)a (`cvttss2si`: truncation toward zero); a NaN or a value outside the
    ///         int32 range gives INT32_MIN, the "integer indefinite" x86 returns.
    function toInt(uint32 a) internal pure returns (int32) {
        uint256 ex = (a >> 23) & 0xFF;
        if (ex >= 158) return type(int32).min;
        if (ex < 127) return 0;
        uint256 m = (a & 0x7FFFFF) | 0x800000;
        uint256 v = ex >= 150 ? m << (ex - 150) : m >> (150 - ex);
        return a & SIGN != 0 ? -int32(int256(v)) : int32(int256(v));
    }
}
