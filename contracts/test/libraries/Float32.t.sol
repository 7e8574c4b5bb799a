// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {Float32} from "../../src/libraries/Float32.sol";
import {Float32Reference as Ref} from "./Float32Reference.sol";

/// @notice One behaviour per test for the binary32 ALU, then fuzz tests of every operation
///         against Float32Reference (a separate, plain implementation).
contract Float32Test is Test {
    uint32 internal constant ONE = 0x3F800000;
    uint32 internal constant TWO = 0x40000000;
    uint32 internal constant MAX = 0x7F7FFFFF;
    uint32 internal constant MIN_SUB = 0x00000001;
    uint32 internal constant INF = 0x7F800000;
    uint32 internal constant NEG_INF = 0xFF800000;
    uint32 internal constant NEG_ZERO = 0x80000000;
    uint32 internal constant SNAN = 0x7F800001;
    uint32 internal constant QNAN_NEG = 0xFFC12345;

    // ------------------------------------------------------------------ add / sub

    /// @dev 1 + 2^-24 is a tie between 1 and 1 + 2^-23: it goes to the even one, 1.
    function test_add_tieToEven_succeeds() public pure {
        assertEq(Float32.add(ONE, 0x33800000), ONE);
        // 1 + 2^-23 + 2^-24 ties between odd 1+2^-23 and even 1+2^-22: up
        assertEq(Float32.add(0x3F800001, 0x33800000), 0x3F800002);
    }

    /// @dev An all-ones significand plus half an ulp carries into the exponent.
    function test_add_carryIntoExponent_succeeds() public pure {
        assertEq(Float32.add(0x3FFFFFFF, 0x34000000), TWO);
    }

    /// @dev The largest finite value plus itself overflows to +inf.
    function test_add_overflow_succeeds() public pure {
        assertEq(Float32.add(MAX, MAX), INF);
    }

    /// @dev x - x is +0 and (-0) + (-0) is -0 (round to nearest).
    function test_add_signedZeros_succeeds() public pure {
        assertEq(Float32.sub(0x40490FDB, 0x40490FDB), 0);
        assertEq(Float32.add(NEG_ZERO, NEG_ZERO), NEG_ZERO);
        assertEq(Float32.add(NEG_ZERO, 0), 0);
    }

    /// @dev inf - inf is the default NaN 0xFFC00000.
    function test_sub_infMinusInf_succeeds() public pure {
        assertEq(Float32.sub(INF, INF), Float32.DEFAULT_NAN);
        assertEq(Float32.add(INF, NEG_INF), Float32.DEFAULT_NAN);
    }

    /// @dev With two NaN operands the first is returned, quieted (SSE's rule).
    function test_add_firstNaNWins_succeeds() public pure {
        assertEq(Float32.add(SNAN, QNAN_NEG), 0x7FC00001);
        assertEq(Float32.add(QNAN_NEG, SNAN), QNAN_NEG);
        assertEq(Float32.add(ONE, SNAN), 0x7FC00001);
    }

    /// @dev a - NaN returns the NaN with its own sign (subss does not negate it).
    function test_sub_nanKeepsSign_succeeds() public pure {
        assertEq(Float32.sub(ONE, QNAN_NEG), QNAN_NEG);
    }

    /// @dev Subnormal + subnormal is exact, and may carry into the normal range.
    function test_add_subnormals_succeeds() public pure {
        assertEq(Float32.add(MIN_SUB, MIN_SUB), 2);
        assertEq(Float32.add(0x00400000, 0x00400000), 0x00800000);
    }

    // ------------------------------------------------------------------ mul / div / fma

    /// @dev 0 * inf is invalid.
    function test_mul_zeroTimesInf_succeeds() public pure {
        assertEq(Float32.mul(0, INF), Float32.DEFAULT_NAN);
        assertEq(Float32.mul(NEG_INF, NEG_ZERO), Float32.DEFAULT_NAN);
    }

    /// @dev A product under half the smallest subnormal rounds to a signed zero; exactly half
    ///      ties to even (zero); just above half rounds up to the smallest subnormal.
    function test_mul_underflow_succeeds() public pure {
        assertEq(Float32.mul(MIN_SUB, 0x3F000000), 0); // 2^-150: tie to 0
        assertEq(Float32.mul(0x80000003, 0x3F000000), 0x80000002); // -1.5 * 2^-149 -> even 2
        assertEq(Float32.mul(MIN_SUB, 0x3F000001), MIN_SUB);
        assertEq(Float32.mul(MIN_SUB, 0xB3800000), NEG_ZERO);
    }

    /// @dev A subnormal times a normal comes back normal when it should.
    function test_mul_subnormalTimesNormal_succeeds() public pure {
        assertEq(Float32.mul(0x00400000, 0x40000000), 0x00800000);
        assertEq(Float32.mul(MIN_SUB, 0x4B000000), 0x00800000); // 2^-149 * 2^23 = 2^-126
    }

    /// @dev x / 0 is a signed infinity, 0 / 0 and inf / inf are invalid.
    function test_div_byZero_succeeds() public pure {
        assertEq(Float32.div(ONE, NEG_ZERO), NEG_INF);
        assertEq(Float32.div(0, 0), Float32.DEFAULT_NAN);
        assertEq(Float32.div(INF, NEG_INF), Float32.DEFAULT_NAN);
        assertEq(Float32.div(ONE, INF), 0);
    }

    /// @dev 1 / 3 rounds to 0x3EAAAAAB.
    function test_div_third_succeeds() public pure {
        assertEq(Float32.div(ONE, 0x40400000), 0x3EAAAAAB);
    }

    /// @dev fma rounds once: (1 + 2^-12)^2 - (1 + 2^-11) keeps the 2^-24 a two-step
    ///      multiply-then-add loses.
    function test_fma_oneRounding_succeeds() public pure {
        uint32 a = 0x3F800800; // 1 + 2^-12
        uint32 c = 0xBF801000; // -(1 + 2^-11)
        assertEq(Float32.fma(a, a, c), 0x33800000); // 2^-24
        assertEq(Float32.add(Float32.mul(a, a), c), 0);
    }

    /// @dev fma: 0 * inf + c is invalid, inf * x - inf is invalid, NaN order is a, b, c.
    function test_fma_specials_succeeds() public pure {
        assertEq(Float32.fma(0, INF, ONE), Float32.DEFAULT_NAN);
        assertEq(Float32.fma(INF, ONE, NEG_INF), Float32.DEFAULT_NAN);
        assertEq(Float32.fma(ONE, SNAN, QNAN_NEG), 0x7FC00001);
        assertEq(Float32.fma(ONE, NEG_ZERO, NEG_ZERO), NEG_ZERO);
    }

    // ------------------------------------------------------------------ sqrt

    /// @dev sqrt of a negative is invalid; sqrt(-0) is -0.
    function test_sqrt_negative_succeeds() public pure {
        assertEq(Float32.sqrt(0xBF800000), Float32.DEFAULT_NAN);
        assertEq(Float32.sqrt(NEG_ZERO), NEG_ZERO);
        assertEq(Float32.sqrt(NEG_INF), Float32.DEFAULT_NAN);
    }

    /// @dev sqrt of the smallest subnormal is 2^-74.5 rounded; of 4 is exactly 2.
    function test_sqrt_subnormalAndExact_succeeds() public pure {
        assertEq(Float32.sqrt(MIN_SUB), 0x1A3504F3);
        assertEq(Float32.sqrt(0x40800000), TWO);
    }

    // ------------------------------------------------------------------ compare, conversions

    /// @dev -0 == +0, NaN is unordered, max returns the second operand on a NaN.
    function test_compare_zerosAndNaN_succeeds() public pure {
        assertTrue(Float32.eq(0, NEG_ZERO));
        assertFalse(Float32.lt(NEG_ZERO, 0));
        assertFalse(Float32.eq(SNAN, SNAN));
        assertFalse(Float32.le(ONE, QNAN_NEG));
        assertEq(Float32.max(SNAN, ONE), ONE);
        assertEq(Float32.max(ONE, SNAN), SNAN);
        assertEq(Float32.min(0, NEG_ZERO), NEG_ZERO);
    }

    /// @dev cvtsi2ss rounds 2^24 + 1 to even and 2^24 + 3 up.
    function test_fromInt_rounding_succeeds() public pure {
        assertEq(Float32.fromInt(16777217), 0x4B800000);
        assertEq(Float32.fromInt(16777219), 0x4B800002);
        assertEq(Float32.fromInt(-1), 0xBF800000);
        assertEq(Float32.fromInt(0), 0);
    }

    /// @dev cvttss2si truncates; NaN and out-of-range give INT32_MIN.
    function test_toInt_truncation_succeeds() public pure {
        assertEq(int256(Float32.toInt(0xBFF00000)), -1); // -1.875
        assertEq(int256(Float32.toInt(0x4EFFFFFF)), 2147483520);
        assertEq(int256(Float32.toInt(0x4F000000)), type(int32).min);
        assertEq(int256(Float32.toInt(SNAN)), type(int32).min);
    }

    /// @dev A uint32 argument may carry dirty bits above bit 31 into the assembly (the compiler
    ///      cleans lazily, e.g. after `uint32(x) << 23`): add, sub, mul and fma ignore them and
    ///      return clean patterns, on their fast paths, their far-apart path and their specials.
    function test_arithmetic_dirtyHighBits_succeeds() public pure {
        uint32 one;
        uint32 two;
        uint32 tiny;
        uint32 nan;
        assembly {
            one := 0xABCD3F800000
            two := 0x123440000000
            tiny := 0xFFFF30800000 // 2^-30: 31 binades under 1
            nan := 0x5A5A7F800001
        }
        assertEq(_raw(Float32.add(one, two)), 0x40400000);
        assertEq(_raw(Float32.sub(one, two)), 0xBF800000);
        assertEq(_raw(Float32.add(one, tiny)), ONE);
        assertEq(_raw(Float32.add(nan, one)), 0x7FC00001);
        assertEq(_raw(Float32.sub(one, nan)), 0x7FC00001);
        assertEq(_raw(Float32.mul(one, two)), TWO);
        assertEq(_raw(Float32.mul(nan, two)), 0x7FC00001);
        assertEq(_raw(Float32.fma(one, two, one)), 0x40400000);
        assertEq(_raw(Float32.fma(one, two, tiny)), TWO);
        assertEq(_raw(Float32.fma(nan, two, one)), 0x7FC00001);
    }

    /// @dev The word as it sits on the stack, high bits included (no conversion cleans it).
    function _raw(uint32 r) private pure returns (uint256 w) {
        assembly {
            w := r
        }
    }

    // ------------------------------------------------------------------ fuzz vs the reference

    /// @dev add on random bit patterns.
    function testFuzz_add_matchesReference_succeeds(uint32 a, uint32 b) public pure {
        assertEq(Float32.add(a, b), Ref.add(a, b));
    }

    /// @dev add on operands with close exponents (cancellation, carries).
    function testFuzz_add_closeExponents_succeeds(uint32 a, uint32 b, uint8 d) public pure {
        uint256 ea = (a >> 23) & 0xFF;
        uint256 eb = bound(ea + (d % 53), 26, ea + 26) - 26;
        if (ea == 255 || eb > 254) return;
        b = uint32((b & 0x807FFFFF) | (eb << 23));
        assertEq(Float32.add(a, b), Ref.add(a, b));
    }

    /// @dev add with a zero, subnormal or lowest-binade operand (exponent fields 0 to 2).
    function testFuzz_add_subnormalOperands_succeeds(uint32 a, uint32 b, uint8 k) public pure {
        a = _withField(a, int256(uint256(k % 3)));
        if (k & 0x80 != 0) b = _withField(b, int256(uint256((k >> 2) % 3)));
        if (k & 0x40 != 0) b = (b & 0x80000000) | ((a & 0x7FFFFFFF) ^ uint32((k >> 4) % 4));
        assertEq(Float32.add(a, b), Ref.add(a, b));
        assertEq(Float32.sub(a, b), Ref.sub(a, b));
    }

    /// @dev sub on random bit patterns.
    function testFuzz_sub_matchesReference_succeeds(uint32 a, uint32 b) public pure {
        assertEq(Float32.sub(a, b), Ref.sub(a, b));
    }

    /// @dev mul on random bit patterns.
    function testFuzz_mul_matchesReference_succeeds(uint32 a, uint32 b) public pure {
        assertEq(Float32.mul(a, b), Ref.mul(a, b));
    }

    /// @dev mul whose product lands near the subnormal range.
    function testFuzz_mul_nearUnderflow_succeeds(uint32 a, uint32 b) public pure {
        b = uint32((b & 0x807FFFFF) | (bound((b >> 23) & 0xFF, 0, 40) << 23));
        a = uint32((a & 0x807FFFFF) | (bound((a >> 23) & 0xFF, 60, 130) << 23));
        assertEq(Float32.mul(a, b), Ref.mul(a, b));
    }

    /// @dev mul with a subnormal operand (normalized first), against normal operands of every
    ///      size, so the result is normal, subnormal or zero.
    function testFuzz_mul_subnormalOperand_succeeds(uint32 a, uint32 b) public pure {
        a &= 0x807FFFFF;
        assertEq(Float32.mul(a, b), Ref.mul(a, b));
        assertEq(Float32.mul(b, a), Ref.mul(b, a));
    }

    /// @dev div on random bit patterns.
    function testFuzz_div_matchesReference_succeeds(uint32 a, uint32 b) public pure {
        assertEq(Float32.div(a, b), Ref.div(a, b));
    }

    /// @dev sqrt on random bit patterns.
    function testFuzz_sqrt_matchesReference_succeeds(uint32 a) public pure {
        assertEq(Float32.sqrt(a), Ref.sqrt(a));
    }

    /// @dev fma on random bit patterns.
    function testFuzz_fma_matchesReference_succeeds(uint32 a, uint32 b, uint32 c) public pure {
        assertEq(Float32.fma(a, b, c), Ref.fma(a, b, c));
    }

    /// @dev fma where c nearly cancels the product.
    function testFuzz_fma_cancellation_succeeds(uint32 a, uint32 b, uint16 k) public pure {
        a = uint32((a & 0x807FFFFF) | (bound((a >> 23) & 0xFF, 100, 150) << 23));
        b = uint32((b & 0x807FFFFF) | (bound((b >> 23) & 0xFF, 100, 150) << 23));
        uint32 c = Ref.mul(a, b) ^ 0x80000000;
        c = uint32(uint256(c) + (k % 7) - 3);
        assertEq(Float32.fma(a, b, c), Ref.fma(a, b, c));
    }

    /// @dev fma around the edges of its fast path (Float32Fma): c's unit 40 binades under the
    ///      product's or 60 over it (past either, the general path), c's top bit level with the
    ///      product's (cancellation), and products near the subnormal range (a subnormal result
    ///      leaves the fast path).
    function testFuzz_fma_alignmentEdges_succeeds(uint32 a, uint32 b, uint32 c, uint8 k)
        public
        pure
    {
        int256 t = int256(uint256(k % 16)) - 8;
        int256 fa = int256(bound((a >> 23) & 0xFF, 1, 254));
        int256 fb = int256(bound((b >> 23) & 0xFF, 1, 254));
        if ((k >> 4) % 4 == 3) fb = _field(128 - fa + t);
        int256[3] memory gap = [int256(190), 90, 127];
        int256 fc = _field(fa + fb - gap[(k >> 4) % 3] + t);
        a = _withField(a, fa);
        b = _withField(b, fb);
        c = _withField(c, fc);
        assertEq(Float32.fma(a, b, c), Ref.fma(a, b, c));
    }

    function _field(int256 f) private pure returns (int256) {
        return f < 0 ? int256(0) : (f > 255 ? int256(255) : f);
    }

    function _withField(uint32 x, int256 f) private pure returns (uint32) {
        return uint32((x & 0x807FFFFF) | (uint256(f) << 23));
    }

    /// @dev fromInt on random int64.
    function testFuzz_fromInt_matchesReference_succeeds(int64 i) public pure {
        assertEq(Float32.fromInt(i), Ref.fromInt(i));
    }

    /// @dev toInt(fromInt(i)) == i for every int32 that fits a float exactly (|i| <= 2^24).
    function testFuzz_toInt_roundTrip_succeeds(int32 i) public pure {
        i = int32(int256(bound(uint256(int256(i) + 2 ** 31), 2 ** 31 - 2 ** 24, 2 ** 31 + 2 ** 24))
            - 2 ** 31);
        assertEq(int256(Float32.toInt(Float32.fromInt(i))), int256(i));
    }

    /// @dev The value order of a non-NaN pattern as a signed integer (both zeros are 0).
    function _order(uint32 x) internal pure returns (int256) {
        int256 mag = int256(uint256(x & 0x7FFFFFFF));
        return x >> 31 == 1 ? -mag : mag;
    }

    /// @dev max/min are maxss/minss: the first operand only when strictly greater (smaller).
    function testFuzz_maxMin_matchSse_succeeds(uint32 a, uint32 b) public pure {
        bool nan = Ref.isNaN(a) || Ref.isNaN(b);
        assertEq(Float32.max(a, b), !nan && _order(a) > _order(b) ? a : b);
        assertEq(Float32.min(a, b), !nan && _order(a) < _order(b) ? a : b);
    }

    /// @dev lt/le/eq agree with the sign of the reference difference a - b.
    function testFuzz_compare_matchesSubtraction_succeeds(uint32 a, uint32 b) public pure {
        uint32 d = Ref.sub(a, b);
        bool nan = Ref.isNaN(a) || Ref.isNaN(b);
        bool inf = Ref.isInf(a) && a == b; // inf - inf is NaN though a == b
        if (inf) return;
        assertEq(Float32.lt(a, b), !nan && d >= 0x80000001 && !Ref.isNaN(d));
        assertEq(Float32.eq(a, b), !nan && d & 0x7FFFFFFF == 0);
        assertEq(Float32.le(a, b), Float32.lt(a, b) || Float32.eq(a, b));
    }
}
