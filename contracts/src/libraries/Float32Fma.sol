// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Float32Alu} from "./Float32Alu.sol";

/// @title Float32Fma
/// @notice The fast path of Float32.fma (a * b + c, one rounding): three normal operands and a
///         normal result, the case the GEMM kernels (`acc = fma(a[k], b[k], acc)`) hit almost
///         always. Everything else (zeros, subnormals, infinities, NaNs, a subnormal or
///         overflowing result, a sum that cancels below 24 bits) goes to Float32Alu's general
///         path, which computes the same bits slowly.
/// @dev The exact product mp * 2^P (mp < 2^48) and c = mc * 2^C (mc < 2^24) go into one frame
///      whose unit is 2^(P - 23): the product shifted up by 23, c by s = C - P + 23. Where c is
///      under 2^P (s < 0) it becomes a sticky 1 in the frame; where the product is under
///      2^(C - 2) (s > 73) it becomes the sticky 1 and c sits at s = 73. Neither replacement
///      can move the sum across a rounding boundary (every boundary of a normal result there is
///      a multiple of the larger term's unit), and the sum stays under 2^98. Its top bit is the
///      higher term's top bit or one above or below it, except when the terms nearly cancel
///      (then a binary search finds it); the significand is rounded once to nearest even.
library Float32Fma {
    /// @notice a * b + c with one rounding (see Float32.fma for the semantics).
    function fma(uint256 a, uint256 b, uint256 c) internal pure returns (uint32 r) {
        bool general;
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
            general := 1
            if and(and(lt(sub(ea, 1), 254), lt(sub(eb, 1), 254)), lt(sub(ec, 1), 254)) {
                let mp := mul(or(and(a, 0x7FFFFF), 0x800000), or(and(b, 0x7FFFFF), 0x800000))
                // s = C - P + 23 with P = ea + eb - 300, C = ec - 150 (signed)
                let s := sub(add(ec, 173), add(ea, eb))
                let xp := shl(23, mp)
                // t: the top bit of the larger term (the product's is 69 + its carry)
                let t := add(69, shr(47, mp))
                let xc := 1
                if iszero(slt(s, 0)) {
                    if gt(s, 73) {
                        xp := 1
                        t := 0
                        s := 73
                    }
                    xc := shl(s, or(and(c, 0x7FFFFF), 0x800000))
                    if gt(add(s, 23), t) { t := add(s, 23) }
                }
                let sg := and(xor(a, b), 0x80000000)
                let m := add(xp, xc)
                if shr(31, xor(sg, c)) {
                    m := sub(xp, xc)
                    if lt(xp, xc) {
                        m := sub(xc, xp)
                        sg := and(c, 0x80000000)
                    }
                }
                // a carry moves the top bit up one; a difference moves it down one at most
                // unless the terms' top bits are within one of each other
                if shr(add(t, 1), m) { t := add(t, 1) }
                if iszero(shr(t, m)) {
                    t := sub(t, 1)
                    if iszero(shr(t, m)) { t := top128(m) }
                }
                // the result's exponent field: top bit t in the frame whose unit is 2^(C - s)
                let field := sub(add(t, ec), add(s, 23))
                if and(gt(t, 23), lt(sub(field, 1), 254)) {
                    general := 0
                    let sh := sub(t, 23)
                    let q := shr(sh, m)
                    // up when the dropped bits are over half, or exactly half with q odd
                    q := add(q, gt(add(and(m, sub(shl(sh, 1), 1)), and(q, 1)), shl(sub(sh, 1), 1)))
                    r := or(sg, add(shl(23, sub(field, 1)), q))
                }
            }
        }
        if (general) r = Float32Alu.run(Float32Alu.OP_FMA, a, b, c);
    }
}
