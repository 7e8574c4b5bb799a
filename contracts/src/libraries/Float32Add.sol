// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Float32Add
/// @notice Float32.add and Float32.sub (`addss`, `subss`), every operand class in one pass.
/// @dev After the specials, the operands are ordered by magnitude (|a| >= |b|), so a difference
///      is never negative and takes a's sign (an exact zero is +0). Then:
///      - both exponent fields at most 1 (zeros, subnormals, the lowest binade): the magnitudes
///        are integers in one unit, 2^-149, and add exactly; a sum past 2^24 drops one bit;
///      - else a is normal and b (normal, subnormal or zero) is aligned d binades under it: past
///        d = 25 the sum rounds to a; a sum or a difference with d >= 2 has its top bit at a
///        known place and rounds in place; a difference with d < 2 whose top bit falls below
///        a's last place is exact (it is normalized, or stops at the subnormal scale).
library Float32Add {
    /// @notice a + (b with its sign bit xor-ed with `flip`): flip 0 is add, 0x80000000 is sub
    ///         (a NaN b still propagates with its own sign, as subss does).
    function add(uint256 a, uint256 b, uint256 flip) internal pure returns (uint32 r) {
        assembly ("memory-safe") {
            // m >> sh (sh >= 1) rounded to nearest even: up when the dropped bits are over half,
            // or exactly half with an odd quotient
            function roundAt(m, sh) -> q {
                q := shr(sh, m)
                q := add(q, gt(add(and(m, sub(shl(sh, 1), 1)), and(q, 1)), shl(sub(sh, 1), 1)))
            }

            let nb := xor(b, flip)
            let ea := and(shr(23, a), 0xFF)
            let eb := and(shr(23, nb), 0xFF)
            switch or(eq(ea, 0xFF), eq(eb, 0xFF))
            case 0 {
                if lt(and(a, 0x7FFFFFFF), and(nb, 0x7FFFFFFF)) {
                    let t := a
                    a := nb
                    nb := t
                    t := ea
                    ea := eb
                    eb := t
                }
                let sa := and(a, 0x80000000)
                switch lt(ea, 2)
                case 1 {
                    // one unit: the magnitudes add as integers
                    switch shr(31, xor(a, nb))
                    case 0 {
                        r := add(a, and(nb, 0x7FFFFFFF))
                        // past field 1 the sum has 25 bits: drop one (the unit doubles)
                        if shr(24, and(r, 0x7FFFFFFF)) {
                            r := or(sa, add(0x800000, roundAt(and(r, 0x7FFFFFFF), 1)))
                        }
                    }
                    default {
                        r := sub(a, and(nb, 0x7FFFFFFF))
                        if iszero(and(r, 0x7FFFFFFF)) { r := 0 }
                    }
                }
                default {
                    // b's significand and the scale of its field (a subnormal's is field 1)
                    let mb := or(and(nb, 0x7FFFFF), shl(23, iszero(iszero(eb))))
                    let d := sub(ea, add(eb, iszero(eb)))
                    // past 25, |b| < 2^-26 of a's unit: under half of even the unit below a
                    // power of two, so the sum rounds to a
                    r := a
                    if lt(d, 26) {
                        let m := shl(d, or(and(a, 0x7FFFFF), 0x800000))
                        switch shr(31, xor(a, nb))
                        case 0 {
                            // same signs: the top bit is at 23 + d + cy; drop d + cy >= 1 bits
                            m := add(m, mb)
                            let cy := shr(add(24, d), m)
                            r := add(shl(23, sub(add(ea, cy), 1)), roundAt(m, add(d, cy)))
                            if gt(r, 0x7F7FFFFF) { r := 0x7F800000 }
                            r := or(r, sa)
                        }
                        default {
                            // the difference has its top bit at 23 + d or 22 + d (lo = 1)
                            m := sub(m, mb)
                            let lo := iszero(shr(add(23, d), m))
                            switch gt(d, lo)
                            case 1 {
                                r := add(shl(23, sub(sub(ea, lo), 1)), roundAt(m, sub(d, lo)))
                                r := or(r, sa)
                            }
                            default {
                                // d < 2 and m < 2^24: exact. Shift the top bit (found by a
                                // binary search, the last two bits from a nibble table) up
                                // to bit 23, or only as far as the subnormal scale allows.
                                r := 0
                                if m {
                                    let t := shl(4, gt(m, 0xFFFF))
                                    let y := shr(t, m)
                                    let f := shl(3, gt(y, 0xFF))
                                    y := shr(f, y)
                                    t := or(t, f)
                                    f := shl(2, gt(y, 0xF))
                                    y := and(shr(shl(2, shr(f, y)), 0x3333333322221100), 0xF)
                                    let k := sub(23, or(or(t, f), y))
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
                // an infinity or a NaN: inf - inf is invalid, the first NaN wins (quieted)
                r := nb
                if eq(and(a, 0x7FFFFFFF), 0x7F800000) {
                    r := a
                    // INVARIANT: inf - inf is invalid
                    if and(eq(and(nb, 0x7F800000), 0x7F800000), iszero(eq(a, nb))) {
                        r := 0xFFC00000
                    }
                }
                if gt(and(b, 0x7FFFFFFF), 0x7F800000) { r := or(b, 0x400000) }
                if gt(and(a, 0x7FFFFFFF), 0x7F800000) { r := or(a, 0x400000) }
            }
        }
    }
}
