// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Float32Alu} from "./Float32Alu.sol";

/// @title Float32
/// @notice IEEE-754 binary32 arithmetic on raw `uint32` bit patterns, bit-exact with x86 SSE
///         (`addss`, `mulss`, `divss`, `sqrtss`, `cvtsi2ss`, `cvttss2si`, `maxss`, `minss`) under
///         the default MXCSR: round to nearest even, subnormals kept (no FTZ/DAZ).
/// @dev NaN rules, as SSE applies them: when an operand is a NaN the result is the FIRST NaN
///      source operand (in the order of the arguments here, which is the order of the C source
///      `a op b`), quieted by setting bit 22; an invalid operation on non-NaN operands
///      (inf - inf, 0 * inf, 0 / 0, inf / inf, sqrt of a negative) gives the default NaN
///      0xFFC00000. `neg` and `abs` are bit moves (xorps / andps) and never quiet a NaN.
///      add, mul and fma's fast path are computed here; div, sqrt, the conversions and fma off
///      its fast path by Float32Alu.
library Float32 {
    uint32 internal constant SIGN = 0x80000000;
    uint32 internal constant POS_INF = 0x7F800000;
    uint32 internal constant NEG_INF = 0xFF800000;
    /// @notice The NaN SSE returns for an invalid operation (sign set, quiet bit set).
    uint32 internal constant DEFAULT_NAN = 0xFFC00000;
    uint32 internal constant ONE = 0x3F800000;
    /// @dev 2^199 - 1: half a unit less one at bit 200, for rounding there (add, sub).
    uint256 private constant HALF200 = (1 << 199) - 1;

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

    // ------------------------------------------------------------------ arithmetic
    // add, mul and fma are written out here in assembly (not behind another library call, which
    // costs ~55 gas a call): they are the operations a dispute replays most.

    /// @notice a + b (`addss a, b`).
    /// @dev Operands ordered by magnitude (a difference is never negative); fields <= 1 add as
    ///      integers in units of 2^-149; else b sits d binades under a normal a: d > 25 gives a,
    ///      a sum or a difference with d >= 2 rounds at a known place, a difference with d < 2
    ///      that loses its top bit is exact. docs/referee.md ("How it is built") has the rest.
    function add(uint32 a, uint32 b) internal pure returns (uint32 r) {
        assembly ("memory-safe") {
            // a and b may carry dirty bits above bit 31: everything below masks them off
            // order by magnitude first (the special cases below undo it): an infinity or a
            // NaN is then always a, and a's exponent field of 255 says there is one
            let nb := b
            if lt(and(a, 0x7FFFFFFF), and(nb, 0x7FFFFFFF)) {
                let t := a
                a := nb
                nb := t
            }
            let ea := and(shr(23, a), 0xFF)
            switch eq(ea, 0xFF)
            case 0 {
                let eb := and(shr(23, nb), 0xFF)
                let sa := and(a, 0x80000000)
                switch lt(ea, 2)
                case 1 {
                    // one unit: the magnitudes add as integers
                    a := and(a, 0xFFFFFFFF)
                    switch shr(31, xor(a, and(nb, 0xFFFFFFFF)))
                    case 0 {
                        r := add(a, and(nb, 0x7FFFFFFF))
                        // past field 1 the sum has 25 bits: drop one (the unit doubles)
                        if shr(24, and(r, 0x7FFFFFFF)) {
                            // (ties to even: up when the dropped bit and the last kept are 1)
                            let m := and(r, 0x7FFFFFFF)
                            r := or(sa, add(0x800000, shr(1, add(m, and(shr(1, m), 1)))))
                        }
                    }
                    default {
                        r := sub(a, and(nb, 0x7FFFFFFF))
                        if iszero(and(r, 0x7FFFFFFF)) { r := 0 }
                    }
                }
                default {
                    // b's significand and the scale of its field (a subnormal's is field 1)
                    let mb := or(and(nb, 0x7FFFFF), shl(23, lt(0, eb)))
                    let d := sub(ea, add(eb, iszero(eb)))
                    // past 25, |b| < 2^-26 of a's unit: under half of even the unit below a
                    // power of two, so the sum rounds to a
                    r := and(a, 0xFFFFFFFF)
                    if lt(d, 26) {
                        let m := shl(d, or(and(a, 0x7FFFFF), 0x800000))
                        switch and(xor(a, nb), 0x80000000)
                        case 0 {
                            // same signs: the top bit is at 23 + d + cy; move it to bit 223
                            // and round at bit 200 (add half less one, plus the last bit)
                            m := add(m, mb)
                            let cy := shr(add(24, d), m)
                            m := shl(sub(200, add(d, cy)), m)
                            m := shr(200, add(add(m, HALF200), and(shr(200, m), 1)))
                            r := add(shl(23, sub(add(ea, cy), 1)), m)
                            if gt(r, 0x7F7FFFFF) { r := 0x7F800000 }
                            r := or(r, sa)
                        }
                        default {
                            // the difference has its top bit at 23 + d or 22 + d (lo = 1)
                            m := sub(m, mb)
                            let lo := iszero(shr(add(23, d), m))
                            switch gt(d, lo)
                            case 1 {
                                m := shl(sub(200, sub(d, lo)), m)
                                m := shr(200, add(add(m, HALF200), and(shr(200, m), 1)))
                                r := or(add(shl(23, sub(sub(ea, lo), 1)), m), sa)
                            }
                            default {
                                // d < 2 and m < 2^24: exact. Shift the top bit (found by a
                                // binary search, the last two bits from a nibble table) up
                                // to bit 23, or only as far as the subnormal scale allows.
                                r := 0
                                if m {
                                    // the usual case first: one bit lost (top bit at 22 or 23)
                                    let k := sub(1, shr(23, m))
                                    if iszero(shr(22, m)) {
                                        let t := shl(4, gt(m, 0xFFFF))
                                        let y := shr(t, m)
                                        let f := shl(3, gt(y, 0xFF))
                                        y := shr(f, y)
                                        t := or(t, f)
                                        f := shl(2, gt(y, 0xF))
                                        y := and(shr(shl(2, shr(f, y)), 0x3333333322221100), 0xF)
                                        k := sub(23, or(or(t, f), y))
                                    }
                                    let lim := sub(sub(ea, d), 1)
                                    if gt(k, lim) { k := lim }
                                    r := or(sa, add(shl(23, sub(lim, k)), shl(k, m)))
                                }
                            }
                        }
                    }
                }
            }
            default {
                // an infinity or a NaN: inf - inf is invalid, the first NaN wins (quieted);
                // a ^ nb ^ b is the first operand again, whether or not they were swapped
                a := and(xor(xor(a, nb), b), 0xFFFFFFFF)
                nb := and(b, 0xFFFFFFFF)
                r := nb
                if eq(and(a, 0x7FFFFFFF), 0x7F800000) {
                    r := a
                    // INVARIANT: inf - inf is invalid
                    if and(eq(and(nb, 0x7F800000), 0x7F800000), iszero(eq(a, nb))) {
                        r := 0xFFC00000
                    }
                }
                if gt(and(nb, 0x7FFFFFFF), 0x7F800000) { r := or(nb, 0x400000) }
                if gt(and(a, 0x7FFFFFFF), 0x7F800000) { r := or(a, 0x400000) }
            }
        }
    }

    /// @notice a - b (`subss a, b`): a + (-b), except that a NaN b propagates with its own sign.
    function sub(uint32 a, uint32 b) internal pure returns (uint32) {
        assembly ("memory-safe") {
            // flip b's sign unless b is a NaN
            b := xor(b, shl(31, lt(and(b, 0x7FFFFFFF), 0x7F800001)))
        }
        return add(a, b);
    }

    /// @notice a * b (`mulss a, b`).
    /// @dev A subnormal operand is normalized first, so the 48-bit product's top bit is at 46 or
    ///      47; a subnormal result drops as many more bits as its exponent is under 1 (at most
    ///      60: past 48 every product rounds to zero). The rounded significand is added to the
    ///      exponent field: a carry moves the exponent, and past 0x7F7FFFFF is infinity.
    function mul(uint32 a, uint32 b) internal pure returns (uint32 r) {
        assembly ("memory-safe") {
            // a subnormal significand 0 < m < 2^23 shifted up to bit 23, and the exponent field
            // that keeps its value (1 - the shift); the shift comes from the top bit of m, by a
            // binary search whose last two bits come from a table of nibbles
            function norm(m) -> n, e {
                let t := shl(4, gt(m, 0xFFFF))
                let y := shr(t, m)
                let f := shl(3, gt(y, 0xFF))
                y := shr(f, y)
                t := or(t, f)
                f := shl(2, gt(y, 0xF))
                t := or(or(t, f), and(shr(shl(2, shr(f, y)), 0x3333333322221100), 0xF))
                n := shl(sub(23, t), m)
                e := sub(t, 22)
            }

            r := and(xor(a, b), 0x80000000)
            let ea := and(shr(23, a), 0xFF)
            let eb := and(shr(23, b), 0xFF)
            switch or(eq(ea, 0xFF), eq(eb, 0xFF))
            case 0 {
                // a zero operand leaves the signed zero r
                if mul(and(a, 0x7FFFFFFF), and(b, 0x7FFFFFFF)) {
                    let ma := or(and(a, 0x7FFFFF), 0x800000)
                    let mb := or(and(b, 0x7FFFFF), 0x800000)
                    if iszero(ea) { ma, ea := norm(and(a, 0x7FFFFF)) }
                    if iszero(eb) { mb, eb := norm(and(b, 0x7FFFFF)) }
                    let m := mul(ma, mb)
                    let cy := shr(47, m)
                    // the result's exponent field (signed), and the bits to drop
                    let field := sub(add(add(ea, eb), cy), 127)
                    let sh := add(23, cy)
                    if slt(field, 1) {
                        sh := sub(add(sh, 1), field)
                        field := 1
                        if gt(sh, 60) { sh := 60 }
                    }
                    // round to nearest even: up when the dropped bits are over half, or
                    // exactly half with an odd quotient
                    let q := shr(sh, m)
                    q := add(q, gt(add(and(m, sub(shl(sh, 1), 1)), and(q, 1)), shl(sub(sh, 1), 1)))
                    q := add(shl(23, sub(field, 1)), q)
                    if gt(q, 0x7F7FFFFF) { q := 0x7F800000 }
                    r := or(r, q)
                }
            }
            default {
                r := or(r, 0x7F800000)
                // INVARIANT: 0 * inf is invalid
                if iszero(mul(and(a, 0x7FFFFFFF), and(b, 0x7FFFFFFF))) { r := 0xFFC00000 }
                if gt(and(b, 0x7FFFFFFF), 0x7F800000) { r := or(and(b, 0xFFFFFFFF), 0x400000) }
                if gt(and(a, 0x7FFFFFFF), 0x7F800000) { r := or(and(a, 0xFFFFFFFF), 0x400000) }
            }
        }
    }

    /// @notice a / b (`divss a, b`).
    function div(uint32 a, uint32 b) internal pure returns (uint32) {
        return Float32Alu.run(Float32Alu.OP_DIV, a, b, 0);
    }

    /// @notice sqrt(a) (`sqrtss`): -0 stays -0, a negative gives the default NaN.
    function sqrt(uint32 a) internal pure returns (uint32) {
        return Float32Alu.run(Float32Alu.OP_SQRT, a, 0, 0);
    }

    /// @notice a * b + c with one rounding. NaN operands propagate in the order a, b, c; 0 * inf
    ///         and inf - inf are invalid (default NaN) unless an operand is a NaN.
    /// @dev Fast path (the GEMM's `acc = fma(a[k], b[k], acc)`): three normal operands, the
    ///      exact product mp * 2^P and c = mc * 2^C in one word with unit 2^(P - 40) (c shifted
    ///      by s = C - P + 40, 0 <= s <= 100: the sum is under 2^125), a normal result; the sum's
    ///      top bit goes to bit 127 and it rounds at 104. c = ±0 is a multiply; anything else
    ///      (zeros, subnormals, specials, far apart terms, subnormal or overflowing results, an
    ///      exact zero) takes Float32Alu's general path.
    function fma(uint32 a, uint32 b, uint32 c) internal pure returns (uint32 r) {
        assembly ("memory-safe") {
            // the index of the highest set bit of 0 < m < 2^128: five halving steps, then the
            // last two bits from a table of nibbles (nibble y holds the top bit of y < 16)
            function top128(m) -> t {
                t := shl(6, gt(m, 0xFFFFFFFFFFFFFFFF))
                let y := shr(t, m)
                let f := shl(5, gt(y, 0xFFFFFFFF))
                y := shr(f, y)
                t := or(t, f)
                f := shl(4, gt(y, 0xFFFF))
                y := shr(f, y)
                t := or(t, f)
                f := shl(3, gt(y, 0xFF))
                y := shr(f, y)
                t := or(t, f)
                f := shl(2, gt(y, 0xF))
                t := or(t, or(f, and(shr(shl(2, shr(f, y)), 0x3333333322221100), 0xF)))
            }

            let ea := and(shr(23, a), 0xFF)
            let eb := and(shr(23, b), 0xFF)
            let ec := and(shr(23, c), 0xFF)
            // s = C - P + 40 with P = ea + eb - 300, C = ec - 150 (negative wraps: out of range)
            let eab := add(ea, eb)
            let s := sub(add(ec, 190), eab)
            if and(lt(s, 101), and(and(lt(sub(ea, 1), 254), lt(sub(eb, 1), 254)),
                lt(sub(ec, 1), 254))) {
                // the product shifted up by 40: its top bit t is at 86 + its carry
                let mp := mul(or(and(a, 0x7FFFFF), 0x800000),
                    shl(40, or(and(b, 0x7FFFFF), 0x800000)))
                let xc := shl(s, or(and(c, 0x7FFFFF), 0x800000))
                // t: the top bit of the larger term (c's, 23 + s, is the higher past s = 63)
                let t := add(86, shr(87, mp))
                if gt(s, 63) { t := add(s, 23) }
                let sg := and(xor(a, b), 0x80000000)
                // a carry moves the top bit up one; a difference moves it down one at most
                // unless the terms' top bits are within one of each other
                let m := add(mp, xc)
                switch and(xor(sg, c), 0x80000000)
                case 0 { if shr(add(t, 1), m) { t := add(t, 1) } }
                default {
                    m := sub(mp, xc)
                    if lt(mp, xc) {
                        m := sub(xc, mp)
                        sg := and(c, 0x80000000)
                    }
                    if iszero(shr(t, m)) {
                        t := sub(t, 1)
                        if iszero(shr(t, m)) {
                            t := top128(m)
                            // an exact zero: leave it to the general path (its sign rules)
                            if iszero(m) { t := 512 }
                        }
                    }
                }
                // the result's exponent field less one: top bit t in the frame whose unit is
                // 2^(P - 40); a normal result has field 1 to 254 (any other r stays 0)
                let f1 := sub(add(t, eab), 214)
                if lt(f1, 254) {
                    // top bit to 127, then round at 104: add half less one, plus the last bit
                    m := shl(sub(127, t), m)
                    m := shr(104, add(add(m, 0x7FFFFFFFFFFFFFFFFFFFFFFFFF), and(shr(104, m), 1)))
                    r := or(sg, add(shl(23, f1), m))
                }
            }
        }
        // the fast path never gives a zero: 0 means "not handled there"
        if (r == 0) {
            // a * b + ±0 with a, b nonzero is the product rounded once
            r = c & 0x7FFFFFFF == 0 && abs(a) != 0 && abs(b) != 0
                ? mul(a, b)
                : Float32Alu.run(Float32Alu.OP_FMA, a, b, c);
        }
    }

    // ------------------------------------------------------------------ conversions

    /// @notice (float)i (`cvtsi2ss`, rounding to nearest even above 2^24).
    function fromInt(int64 i) internal pure returns (uint32) {
        uint256 s = i < 0 ? SIGN : 0;
        uint256 m = i < 0 ? uint256(-int256(i)) : uint256(int256(i));
        return Float32Alu.run(Float32Alu.OP_PACK, s, m, Float32Alu.BIAS);
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
