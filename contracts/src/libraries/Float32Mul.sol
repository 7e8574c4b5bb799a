// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Float32Mul
/// @notice Float32.mul (`mulss`), every operand class in one pass.
/// @dev A subnormal operand is first normalized (its significand shifted up to bit 23, its
///      exponent lowered to match, below 1), so the 48-bit product always has its top bit at
///      46 or 47. The result drops 23 or 24 bits, and where it is subnormal as many more as its
///      exponent is under 1 (at most 60: past 48 every product rounds to zero); the rounded
///      significand is added to the exponent field, so a carry moves the exponent by itself
///      and anything at or past 0x7F800000 is infinity.
library Float32Mul {
    /// @notice a * b (see Float32.mul).
    function mul(uint256 a, uint256 b) internal pure returns (uint32 r) {
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
                if gt(and(b, 0x7FFFFFFF), 0x7F800000) { r := or(b, 0x400000) }
                if gt(and(a, 0x7FFFFFFF), 0x7F800000) { r := or(a, 0x400000) }
            }
        }
    }
}
