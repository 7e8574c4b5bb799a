// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Float32Alu
/// @notice The rounding core behind Float32 (div, sqrt, fma off its fast path and the integer
///         conversion); call it through Float32, which documents the semantics.
/// @dev A finite value is an integer significand m and a scale e: value = m * 2^(e - BIAS).
///      Every operation computes its exact result (or the exact result with a sticky bit below
///      every bit that can matter) and rounds once, in `pack`.
library Float32Alu {
    /// @dev A biased exponent field f (1 for subnormals) is the scale f + 362: BIAS - 150 + f.
    uint256 internal constant BIAS = 512;
    /// @dev The scale of the smallest subnormal, 2^-149: BIAS - 149.
    uint256 private constant MIN_SCALE = 363;

    uint256 internal constant OP_DIV = 3;
    uint256 internal constant OP_SQRT = 4;
    uint256 internal constant OP_FMA = 5;
    uint256 internal constant OP_PACK = 6;

    /// @notice Computes operation `op` on the bit patterns a, b, c (see Float32 for semantics).
    /// @dev Every rounding operation in one assembly block, so they share its helpers:
    ///      mant/scale split a finite pattern into an integer significand m and a scale e
    ///      (value = m * 2^(e - BIAS)); sum adds two such terms exactly (or with a sticky bit);
    ///      pack rounds once. OP_PACK rounds (sign a, magnitude b, scale c) for the conversions.
    function run(uint256 op, uint256 a, uint256 b, uint256 c) internal pure returns (uint32 r) {
        assembly ("memory-safe") {
            function isnan(x) -> t {
                t := gt(and(x, 0x7FFFFFFF), 0x7F800000)
            }
            function special(x) -> t {
                t := eq(and(x, 0x7F800000), 0x7F800000)
            }
            function mant(x) -> m {
                m := or(and(x, 0x7FFFFF), shl(23, iszero(iszero(and(x, 0x7F800000)))))
            }
            function scale(x) -> e {
                e := and(shr(23, x), 0xFF)
                e := add(add(e, iszero(e)), 362)
            }
            // index of the highest set bit of m < 2^128 (0 for 0): a binary search, one halving
            // step a line, then the top bit of the last two from a table of nibbles
            function msb(m) -> top {
                if shr(64, m) { m := shr(64, m) top := 64 }
                if shr(32, m) { m := shr(32, m) top := add(top, 32) }
                if shr(16, m) { m := shr(16, m) top := add(top, 16) }
                if shr(8, m) { m := shr(8, m) top := add(top, 8) }
                if shr(4, m) { m := shr(4, m) top := add(top, 4) }
                top := add(top, and(shr(shl(2, m), 0x3333333322221100), 0xF))
            }
            // s * m * 2^(e - BIAS) rounded to nearest even, m < 2^128 with its highest set bit
            // at `top`. The rounded significand is added to the exponent field, so a carry (or a
            // subnormal becoming normal) moves the exponent by itself; anything at or past
            // 0x7F800000 is infinity.
            function pack(s, m, e, top) -> res {
                switch m
                case 0 { res := s }
                default {
                    // sh = bits to drop: keep 24, or fewer where the result is subnormal
                    let sh := sub(top, 23)
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
                    if gt(m, 0x7F7FFFFF) { m := 0x7F800000 }
                    res := or(s, m)
                }
            }
            function packAny(s, m, e) -> res {
                res := pack(s, m, e, msb(m))
            }
            // The exact sum of s1*m1*2^e1 and s2*m2*2^e2; past a 64-bit exponent gap the smaller
            // term (then under 2^-16 of the larger's last unit) becomes a sticky 1 below the
            // larger shifted up by 16, which rounds the same way. A zero sum takes the sign both
            // terms share, else +0.
            function sum(s1, m1, e1, s2, m2, e2) -> s, m, e {
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
                let same := eq(s1, s2)
                switch gt(d, 64)
                case 1 {
                    m := shl(16, m1)
                    e := sub(e1, 16)
                    let tiny := iszero(iszero(m2))
                    switch same
                    case 1 { m := add(m, tiny) }
                    default { m := sub(m, tiny) }
                }
                default {
                    m := shl(d, m1)
                    e := e2
                    switch same
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
            function zero(x) -> t {
                t := iszero(and(x, 0x7FFFFFFF))
            }

            let s := and(xor(a, b), 0x80000000)
            switch op
            case 5 {
                // fma off its fast path (Float32.fma): zeros, subnormals, specials, a
                // subnormal or overflowing result, deep cancellation
                switch or(or(special(a), special(b)), special(c))
                case 0 {
                    let mp := mul(mant(a), mant(b))
                    let mc := mant(c)
                    // a zero term must never be the larger term: give it the lowest scale
                    let ep := mul(iszero(iszero(mp)), sub(add(scale(a), scale(b)), BIAS))
                    let ec := mul(iszero(iszero(mc)), scale(c))
                    let s2, m, e := sum(s, mp, ep, and(c, 0x80000000), mc, ec)
                    r := packAny(s2, m, e)
                }
                default {
                    r := c // finite product + inf
                    if or(special(a), special(b)) {
                        r := or(s, 0x7F800000)
                        if and(special(c), iszero(eq(c, r))) { r := 0xFFC00000 }
                        if or(zero(a), zero(b)) { r := 0xFFC00000 }
                    }
                    if isnan(c) { r := or(c, 0x400000) }
                    if isnan(b) { r := or(b, 0x400000) }
                    if isnan(a) { r := or(a, 0x400000) }
                }
            }
            case 3 {
                // div
                switch or(or(special(a), special(b)), or(zero(a), zero(b)))
                case 0 {
                    let num := shl(64, mant(a))
                    let mb := mant(b)
                    // 64 extra quotient bits, then the remainder as a sticky bit
                    let q := or(div(num, mb), iszero(iszero(mod(num, mb))))
                    r := packAny(s, q, sub(add(scale(a), BIAS), add(scale(b), 64)))
                }
                default {
                    r := s // finite / inf, 0 / finite
                    if or(special(a), zero(b)) { r := or(s, 0x7F800000) }
                    // INVARIANT: inf / inf and 0 / 0 are invalid
                    if or(and(special(a), special(b)), and(zero(a), zero(b))) {
                        r := 0xFFC00000
                    }
                    if isnan(b) { r := or(b, 0x400000) }
                    if isnan(a) { r := or(a, 0x400000) }
                }
            }
            case 4 {
                // sqrt
                switch or(or(special(a), zero(a)), shr(31, a))
                case 0 {
                    let e := scale(a)
                    // make the scale even and m wide: sqrt(m << k) has at least 32 bits
                    let k := add(64, and(e, 1))
                    let n := shl(k, mant(a))
                    // Newton from above (2^45 >= sqrt(n), n < 2^89) down to floor(sqrt(n))
                    let root := shl(45, 1)
                    for {} 1 {} {
                        let y := shr(1, add(root, div(n, root)))
                        if iszero(lt(y, root)) { break }
                        root := y
                    }
                    root := or(root, iszero(eq(mul(root, root), n)))
                    r := packAny(0, root, add(BIAS, sar(1, sub(sub(e, BIAS), k))))
                }
                default {
                    r := a // ±0, +inf
                    // INVARIANT: the square root of a negative is invalid
                    if and(shr(31, a), iszero(zero(a))) { r := 0xFFC00000 }
                    if isnan(a) { r := or(a, 0x400000) }
                }
            }
            default { r := packAny(a, b, c) }
        }
    }
}

