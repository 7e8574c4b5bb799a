// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Float32Add} from "./Float32Add.sol";
import {Float32Alu} from "./Float32Alu.sol";
import {Float32Fma} from "./Float32Fma.sol";
import {Float32Mul} from "./Float32Mul.sol";

/// @title Float32
/// @notice IEEE-754 binary32 arithmetic on raw `uint32` bit patterns, bit-exact with x86 SSE
///         (`addss`, `mulss`, `divss`, `sqrtss`, `cvtsi2ss`, `cvttss2si`, `maxss`, `minss`) under
///         the default MXCSR: round to nearest even, subnormals kept (no FTZ/DAZ).
/// @dev NaN rules, as SSE applies them: when an operand is a NaN the result is the FIRST NaN
///      source operand (in the order of the arguments here, which is the order of the C source
///      `a op b`), quieted by setting bit 22; an invalid operation on non-NaN operands
///      (inf - inf, 0 * inf, 0 / 0, inf / inf, sqrt of a negative) gives the default NaN
///      0xFFC00000. `neg` and `abs` are bit moves (xorps / andps) and never quiet a NaN.
///      The rounding operations are computed by Float32Add (add, sub), Float32Mul (mul),
///      Float32Fma (fma's fast path) and Float32Alu (the rest).
library Float32 {
    uint32 internal constant SIGN = 0x80000000;
    uint32 internal constant POS_INF = 0x7F800000;
    uint32 internal constant NEG_INF = 0xFF800000;
    /// @notice The NaN SSE returns for an invalid operation (sign set, quiet bit set).
    uint32 internal constant DEFAULT_NAN = 0xFFC00000;
    uint32 internal constant ONE = 0x3F800000;

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

    /// @notice a + b (`addss a, b`).
    function add(uint32 a, uint32 b) internal pure returns (uint32) {
        return Float32Add.add(a, b, 0);
    }

    /// @notice a - b (`subss a, b`): a + (-b), except that a NaN b propagates with its own sign.
    function sub(uint32 a, uint32 b) internal pure returns (uint32) {
        return Float32Add.add(a, b, SIGN);
    }

    /// @notice a * b (`mulss a, b`).
    function mul(uint32 a, uint32 b) internal pure returns (uint32) {
        return Float32Mul.mul(a, b);
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
    function fma(uint32 a, uint32 b, uint32 c) internal pure returns (uint32) {
        return Float32Fma.fma(a, b, c);
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
