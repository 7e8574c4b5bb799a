// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {StepOp} from "./StepOp.sol";
import {ProgramsRows} from "./ProgramsRows.sol";
import {Float32} from "../libraries/Float32.sol";
import {Float32Math} from "../libraries/Float32Math.sol";
import {ProgramsElem} from "./ProgramsElem.sol";

/// @title Programs
/// @notice Element programs (docs/referee.md "Element programs"): for an op and one output element
///         e, the exact sequence of binary32 scalar steps the kernel performs. Kinds, opcodes and
///         the attrs layout are prover/trace/kinds.py's and graph.py's (append only, never
///         renumber): attrs = the kind's own attrs, then per input slot its logical rank, dims,
///         nLevels and index-map levels. An `In` operand names a position in the slot's logical
///         shape; StepCheck maps it to the referenced tensor (IndexMaps). The elementwise, AdamW
///         and clip kinds live in ProgramsElem (dispatched from here); a binary64 step's result
///         is 8 bytes wide (`resultAt`).
library Programs {
    /// @dev kinds.py's Opcode numbering (the StepChecked event reports it).
    enum Opcode {
        None,
        Add,
        Sub,
        Mul,
        Div,
        Sqrt,
        Fma,
        Max,
        Min,
        Neg,
        Exp,
        Log,
        Erf,
        Gelu,
        NinfToZero,
        SelGe,
        Mov,
        // kinds.py keeps 17..31 for binary32 opcodes to come: these hold the places, so that
        // uint8(code) is kinds.py's number for the binary64 steps below too.
        Free17, Free18, Free19, Free20, Free21, Free22, Free23, Free24,
        Free25, Free26, Free27, Free28, Free29, Free30, Free31,
        // binary64 steps of CLIP_COEF (ProgramsElem.run64): results 8 bytes (but TO_F32's).
        ToF64,
        SqrtF64,
        AddF64,
        DivF64,
        MinF64,
        ToF32
    }

    /// @dev out[b, m, n] = chain over k ascending (+ bias[n]); kattrs [nb, M, N, K, fused, hasBias].
    ///      fused (repfma): acc = FMA(A, B, acc) from +0; else (repcpu) t = MUL(A, B), acc = ADD(acc, t).
    uint16 internal constant GEMM = 1;
    uint16 internal constant GELU = 15;
    uint16 internal constant EXP = 17;
    uint16 internal constant LOG = 18;
    /// @dev Elementwise binary: out = op(X0[e], X1[e]) (broadcasts live in the index maps).
    uint16 internal constant ADD = 19;
    uint16 internal constant SUB = 20;
    uint16 internal constant MUL = 21;
    uint16 internal constant DIV = 22;
    /// @dev Elementwise unary.
    uint16 internal constant NEG = 23;
    /// @dev clamp_min(x = X0, bound = X1): MAX(X1[e], X0[e]) (kinds.py).
    uint16 internal constant MAX = 25;
    /// @dev A materialised copy: MOV(X0[e]).
    uint16 internal constant COPY = 33;

    /// @dev Where an operand comes from: an earlier step's result, an input element, a literal.
    enum Src {
        None,
        Prev,
        In,
        Const
    }

    /// @dev Prev: value = step; In: slot, value = position in the slot's logical shape;
    ///      Const: value = bits.
    struct Operand {
        Src src;
        uint32 slot;
        uint64 value;
    }

    error UnknownKind(uint16 kind);
    /// @notice Op `index` of kind `kind` has `got` attributes or inputs where its kind needs `need`.
    error BadArity(uint32 index, uint16 kind, uint256 got, uint256 need);
    error StepOutOfProgram(uint256 s, uint256 length);
    /// @notice Attribute `i` of op `index` is out of its range.
    error BadAttr(uint32 index, uint256 i);

    /// @notice How many attrs the kind has before the input slots' index maps.
    function kindAttrs(uint16 kind) internal pure returns (uint256) {
        if (ProgramsRows.covers(kind)) return ProgramsRows.kindAttrs(kind);
        return kind == GEMM ? 6 : ProgramsElem.kindAttrs(kind);
    }

    /// @notice Number of scalar steps of element `e`'s program of `op` (the same for every
    ///         element but an FSUM's shorter last block).
    function length(StepOp calldata op, uint256 e) internal pure returns (uint256) {
        uint16 kind = op.kind;
        if (ProgramsRows.covers(kind)) return ProgramsRows.length(op, e);
        uint256 inputs = op.refKinds.length;
        if (kind == GEMM) {
            if (op.attrs.length < 6) _arity(op, op.attrs.length, 6);
            for (uint256 i; i < 6; ++i) {
                // nb, M, N, K are positive; fused and hasBias are 0 or 1.
                int64 a = op.attrs[i];
                if (i < 4 ? a <= 0 : (a != 0 && a != 1)) revert BadAttr(op.index, i);
            }
            bool bias = op.attrs[5] == 1;
            _arity(op, inputs, bias ? 3 : 2);
            uint256 k = uint64(op.attrs[3]);
            return (op.attrs[4] == 1 ? k : 2 * k) + (bias ? 1 : 0);
        }
        if (kind >= ADD && kind <= DIV || kind == MAX) {
            _arity(op, inputs, 2);
            return 1;
        }
        if (kind == NEG || kind == GELU || kind == EXP || kind == LOG || kind == COPY) {
            _arity(op, inputs, 1);
            return 1;
        }
        if (ProgramsElem.handles(kind)) return ProgramsElem.length(op);
        revert UnknownKind(kind);
    }

    /// @notice Step `s` of element `e`'s program: the operation and up to three operands.
    function step(StepOp calldata op, uint256 e, uint256 s) internal pure returns (Opcode code, Operand[3] memory o) {
        uint256 len = length(op, e);
        if (s >= len) revert StepOutOfProgram(s, len);
        uint16 kind = op.kind;
        if (ProgramsRows.covers(kind)) return ProgramsRows.step(op, e, s);
        if (kind == GEMM) return _gemm(op.attrs, e, s);
        if (ProgramsElem.handles(kind)) return ProgramsElem.step(op, e, s);
        o[0] = Operand(Src.In, 0, uint64(e));
        if (kind == COPY) return (Opcode.Mov, o);
        if (kind == NEG) return (Opcode.Neg, o);
        if (kind == GELU) return (Opcode.Gelu, o);
        if (kind == EXP) return (Opcode.Exp, o);
        if (kind == LOG) return (Opcode.Log, o);
        o[1] = Operand(Src.In, 1, uint64(e));
        // clamp_min(x, bound) = MAX(bound, x), as ATen's maxss (a NaN x passes unquieted).
        if (kind == MAX) {
            (o[0], o[1]) = (o[1], o[0]);
            return (Opcode.Max, o);
        }
        // ADD..DIV are 19..22, Add..Div are 1..4.
        code = Opcode(kind - ADD + 1);
    }

    /// @notice How many leading steps of the kind's programs have 8-byte (binary64) results.
    function wideSteps(uint16 kind) internal pure returns (uint256) {
        return ProgramsElem.wideSteps(kind);
    }

    /// @notice Result `s` of a posted program (docs/referee.md "Float64"): the results in step
    ///         order, big-endian, 8 bytes for each of the first `wide` steps (binary64), 4 for
    ///         every other (binary32); result s starts at byte 4 * (s + min(s, wide)).
    function resultAt(bytes calldata results, uint256 s, uint256 wide) internal pure returns (uint64 r) {
        bool w = s < wide;
        uint256 at = 4 * (s + (w ? s : wide));
        uint256 drop = w ? 192 : 224;
        assembly ("memory-safe") {
            r := shr(drop, calldataload(add(results.offset, at)))
        }
    }

    /// @notice Runs one step on its operands' bits: a binary64 step (ToF64 .. ToF32) through
    ///         ProgramsElem.run64, any other through `run` (binary32 bits in the low 32).
    function runStep(Opcode code, uint64 a, uint64 b, uint64 c) internal pure returns (uint64) {
        if (code >= Opcode.ToF64) return ProgramsElem.run64(code, a, b);
        return run(code, uint32(a), uint32(b), uint32(c));
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
        if (code == Opcode.Sqrt) return Float32.sqrt(a);
        if (code == Opcode.Exp) return Float32Math.exp(a);
        if (code == Opcode.Log) return Float32Math.log(a);
        if (code == Opcode.Erf) return Float32Math.erf(a);
        if (code == Opcode.Gelu) return Float32Math.gelu(a);
        // kinds.py NINF_TO_ZERO: -inf becomes +0.
        if (code == Opcode.NinfToZero) return a == 0xFF800000 ? 0 : a;
        // kinds.py SEL_GE: a >= b ? c : +0.
        if (code == Opcode.SelGe) return Float32.ge(a, b) ? c : 0;
        return a;
    }

    /// @dev Step s of out[b, m, n]: A[b, m, k] is slot 0 at (b*M + m)*K + k, B[b, k, n] slot 1 at
    ///      (b*K + k)*N + n, the bias slot 2 at n.
    function _gemm(int64[] calldata a, uint256 e, uint256 s) private pure returns (Opcode, Operand[3] memory o) {
        (uint256 m, uint256 n, uint256 k) = (uint64(a[1]), uint64(a[2]), uint64(a[3]));
        uint256 col = e % n;
        uint256 row = e / n; // b*M + m
        bool fused = a[4] == 1;
        uint256 chain = fused ? k : 2 * k;
        if (s == chain) {
            // The bias is added after the whole chain (one more rounding).
            o[0] = Operand(Src.Prev, 0, uint64(s - 1));
            o[1] = Operand(Src.In, 2, uint64(col));
            return (Opcode.Add, o);
        }
        uint256 kk = fused ? s : s / 2;
        if (!fused && s % 2 == 1) {
            // acc = ADD(acc, t): acc is +0 before the first product.
            o[0] = s == 1 ? Operand(Src.Const, 0, 0) : Operand(Src.Prev, 0, uint64(s - 2));
            o[1] = Operand(Src.Prev, 0, uint64(s - 1));
            return (Opcode.Add, o);
        }
        o[0] = Operand(Src.In, 0, uint64(row * k + kk));
        o[1] = Operand(Src.In, 1, uint64(((row / m) * k + kk) * n + col));
        if (!fused) return (Opcode.Mul, o);
        // acc starts at +0: FMA(a0, b0, +0) is the kernel's first step.
        o[2] = s == 0 ? Operand(Src.Const, 0, 0) : Operand(Src.Prev, 0, uint64(s - 1));
        return (Opcode.Fma, o);
    }

    /// @dev Slots past `need` are the ids slots of GATHER levels (record.py appends them).
    function _arity(StepOp calldata op, uint256 got, uint256 need) private pure {
        if (got < need) revert BadArity(op.index, op.kind, got, need);
    }
}
