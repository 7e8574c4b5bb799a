// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {StepOp} from "./StepOp.sol";
import {Float32} from "../libraries/Float32.sol";
import {Float32Math} from "../libraries/Float32Math.sol";

/// @title Programs
/// @notice Element programs (docs/referee.md "Element programs"): for an op and one output element
///         e, the exact sequence of binary32 scalar steps the kernel performs, step by step. The
///         kinds' numbers are the `kind` field of the op leaf (docs/referee.md "Kinds").
library Programs {
    /// @dev out[m, n] = fma chain over k ascending from +0 (repfma-1 GEMM), then + bias[n].
    ///      attrs [M, N, K, sam, sak, sbk, sbn]: A[m, k] is element m*sam + k*sak of input 0,
    ///      B[k, n] element k*sbk + n*sbn of input 1 (transposes folded into strides); input 2,
    ///      when present, is the bias.
    uint16 internal constant GEMM = 1;
    /// @dev Elementwise binary: out[e] = in0[i0] op in1[i1], attrs [] (i = e) or [n0, n1]
    ///      (i_j = e mod n_j: broadcast of a scalar or a row).
    uint16 internal constant ADD = 2;
    uint16 internal constant SUB = 3;
    uint16 internal constant MUL = 4;
    uint16 internal constant DIV = 5;
    uint16 internal constant MAX = 6;
    uint16 internal constant MIN = 7;
    /// @dev Elementwise unary: out[e] = op(in0[i0]), attrs [] or [n0].
    uint16 internal constant NEG = 8;
    uint16 internal constant ABS = 9;
    uint16 internal constant SQRT = 10;
    uint16 internal constant EXP = 11;
    uint16 internal constant LOG = 12;
    uint16 internal constant ERF = 13;
    uint16 internal constant GELU = 14;
    /// @dev State tensor attrs[0] of the state after the step is this op's output, a copy of
    ///      input 0 (so a final state that does not hash to the leaf is found at this op).
    uint16 internal constant STATE_OUT = 15;

    /// @dev Scalar operations, numbered so that kind k in ADD..GELU runs Opcode(k - 1).
    enum Opcode {
        Copy,
        Add,
        Sub,
        Mul,
        Div,
        Max,
        Min,
        Neg,
        Abs,
        Sqrt,
        Exp,
        Log,
        Erf,
        Gelu,
        Fma
    }

    /// @dev Where an operand comes from: an earlier step's result, an input element, a literal.
    enum Src {
        None,
        Prev,
        In,
        Const
    }

    /// @dev Prev: value = step; In: slot = input slot, value = element index; Const: value = bits.
    struct Operand {
        Src src;
        uint32 slot;
        uint64 value;
    }

    error UnknownKind(uint16 kind);
    /// @notice Op `index` of kind `kind` has `got` attributes or inputs where its kind needs `need`.
    error BadArity(uint32 index, uint16 kind, uint256 got, uint256 need);
    error StepOutOfProgram(uint256 s, uint256 length);
    /// @notice Attribute `i` of op `index` is out of its range (negative, or zero where it divides).
    error BadAttr(uint32 index, uint256 i);

    /// @notice Number of scalar steps of every element program of `op`.
    function length(StepOp calldata op) internal pure returns (uint256) {
        uint16 kind = op.kind;
        if (kind == GEMM) {
            _arity(op, op.attrs.length, 7);
            if (op.refKinds.length != 2) _arity(op, op.refKinds.length, 3);
            for (uint256 i; i < 7; ++i) {
                // Sizes and strides are non-negative; N and K (divisor, chain length) positive.
                if (op.attrs[i] < 0 || (op.attrs[i] == 0 && (i == 1 || i == 2))) revert BadAttr(op.index, i);
            }
            return uint256(uint64(op.attrs[2])) + (op.refKinds.length == 3 ? 1 : 0);
        }
        if (kind >= ADD && kind <= MIN) {
            _arity(op, op.refKinds.length, 2);
            if (op.attrs.length != 0) _arity(op, op.attrs.length, 2);
            _nonNegative(op);
            return 1;
        }
        if ((kind >= NEG && kind <= GELU) || kind == STATE_OUT) {
            _arity(op, op.refKinds.length, 1);
            if (kind == STATE_OUT || op.attrs.length > 1) _arity(op, op.attrs.length, 1);
            _nonNegative(op);
            return 1;
        }
        revert UnknownKind(kind);
    }

    /// @notice Step `s` of element `e`'s program: the operation and up to three operands.
    function step(StepOp calldata op, uint256 e, uint256 s)
        internal
        pure
        returns (Opcode code, Operand[3] memory o)
    {
        uint256 len = length(op);
        if (s >= len) revert StepOutOfProgram(s, len);
        uint16 kind = op.kind;
        if (kind == GEMM) return _gemm(op, e, s);
        if (kind == STATE_OUT) {
            o[0] = _in(0, e, 0);
            return (Opcode.Copy, o);
        }
        code = Opcode(kind - 1);
        o[0] = _in(0, e, op.attrs.length == 0 ? 0 : uint64(op.attrs[0]));
        if (kind <= MIN) o[1] = _in(1, e, op.attrs.length == 0 ? 0 : uint64(op.attrs[1]));
    }

    /// @notice Runs one scalar operation on binary32 bit patterns.
    function run(Opcode code, uint32 a, uint32 b, uint32 c) internal pure returns (uint32) {
        if (code == Opcode.Fma) return Float32.fma(a, b, c);
        if (code == Opcode.Add) return Float32.add(a, b);
        if (code == Opcode.Mul) return Float32.mul(a, b);
        if (code == Opcode.Sub) return Float32.sub(a, b);
        if (code == Opcode.Div) return Float32.div(a, b);
        if (code == Opcode.Max) return Float32.max(a, b);
        if (code == Opcode.Min) return Float32.min(a, b);
        if (code == Opcode.Neg) return Float32.neg(a);
        if (code == Opcode.Abs) return Float32.abs(a);
        if (code == Opcode.Sqrt) return Float32.sqrt(a);
        if (code == Opcode.Exp) return Float32Math.exp(a);
        if (code == Opcode.Log) return Float32Math.log(a);
        if (code == Opcode.Erf) return Float32Math.erf(a);
        if (code == Opcode.Gelu) return Float32Math.gelu(a);
        return a;
    }

    function _gemm(StepOp calldata op, uint256 e, uint256 s)
        private
        pure
        returns (Opcode code, Operand[3] memory o)
    {
        int64[] calldata a = op.attrs;
        uint256 n = e % uint64(a[1]);
        uint256 k = uint64(a[2]);
        if (s == k) {
            // The bias is added after the whole chain (one more rounding).
            o[0] = Operand(Src.Prev, 0, uint64(s - 1));
            o[1] = Operand(Src.In, 2, uint64(n));
            return (Opcode.Add, o);
        }
        uint256 m = e / uint64(a[1]);
        o[0] = Operand(Src.In, 0, uint64(m * uint64(a[3]) + s * uint64(a[4])));
        o[1] = Operand(Src.In, 1, uint64(s * uint64(a[5]) + n * uint64(a[6])));
        // acc starts at +0: fma(a0, b0, +0) is the kernel's first step.
        o[2] = s == 0 ? Operand(Src.Const, 0, 0) : Operand(Src.Prev, 0, uint64(s - 1));
        return (Opcode.Fma, o);
    }

    function _in(uint32 slot, uint256 e, uint64 modulus) private pure returns (Operand memory) {
        return Operand(Src.In, slot, uint64(modulus == 0 ? e : e % modulus));
    }

    function _nonNegative(StepOp calldata op) private pure {
        for (uint256 i; i < op.attrs.length; ++i) {
            if (op.attrs[i] < 0) revert BadAttr(op.index, i);
        }
    }

    function _arity(StepOp calldata op, uint256 got, uint256 need) private pure {
        if (got != need) revert BadArity(op.index, op.kind, got, need);
    }
}
