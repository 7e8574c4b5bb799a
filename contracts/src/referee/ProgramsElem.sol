// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {StepOp} from "./StepOp.sol";
import {Programs} from "./Programs.sol";
import {Float64} from "../libraries/Float64.sol";

/// @title ProgramsElem
/// @notice Element programs of the elementwise, AdamW and clip kinds (prover/trace/kinds.py
///         GELU_BWD, RSQRT, CUBE, CLAMP_MIN_BWD, CLIP_COEF, ADAMW_P/M/V, STACK, PAD), step for
///         step the twins of prover/trace/programs.py; Programs dispatches to them. CLIP_COEF is
///         the one program with binary64 steps (Float64): its first five results are 8 bytes
///         (docs/referee.md "Float64").
/// @dev A fixed program is a table of 4 bytes per step: the opcode (kinds.py numbering), then
///      three operand bytes: 0 none; 0x40|s Prev(s); 0x80|k In(slot k, e); 0xA0|k In(slot k, 0)
///      (a one-element slot: AdamW's scalars); 0xC0|j Const(the binary32 constant j of CONSTS).
library ProgramsElem {
    uint16 internal constant GELU_BWD = 16;
    uint16 internal constant RSQRT = 24;
    uint16 internal constant CUBE = 26;
    uint16 internal constant CLAMP_MIN_BWD = 27;
    uint16 internal constant CLIP_COEF = 29;
    uint16 internal constant ADAMW_P = 30;
    uint16 internal constant ADAMW_M = 31;
    uint16 internal constant ADAMW_V = 32;
    uint16 internal constant STACK = 34;
    uint16 internal constant PAD = 35;

    /// @notice AdamW's inputs: p, m, v, g, then 8 Scalar slots (decay, b1, omb1, b2, omb2,
    ///         stepSize, bc2Sqrt, eps).
    uint256 internal constant ADAMW_INPUTS = 12;
    /// @notice CLIP_COEF's binary64 steps (TO_F64 .. MIN_F64) come first; TO_F32 is the last.
    uint256 internal constant CLIP_WIDE_STEPS = 5;

    /// @dev binary32 constants, 32 bits each from the bottom: +0, 1, 0.5, -0.5, 0.70710678
    ///      (the erf scale), 0.39894228 (1/sqrt(2 pi)).
    uint256 private constant CONSTS = 0x3ECC422A_3F3504F3_BF000000_3F000000_3F800000_00000000;
    /// @dev Per kind k in GELU_BWD..ADAMW_V, byte k - GELU_BWD: its programs' length, and its
    ///      inputs (what `length` checks: a table lookup, so that the adjudicator, which calls
    ///      `length`, carries none of the program tables).
    uint256 private constant LENGTHS = 0x04030e060001020002000000000000000b;
    uint256 private constant INPUTS = 0x0c0c0c0100030100010000000000000002;
    /// @dev binary64 constants of CLIP_COEF: its eps 1e-6 and 1.0.
    uint64 private constant EPS_1E6 = 0x3EB0C6F7A0B5ED8D;

    // v = X0[e]: a = MUL(v, C(0.70710678)); f = ERF(a); b = ADD(C(1), f); cdf = MUL(C(0.5), b);
    // q = MUL(v, v); z = MUL(C(-0.5), q); x = EXP(z); pdf = MUL(x, C(0.39894228));
    // u = MUL(v, pdf); w = ADD(cdf, u); out = MUL(X1[e], w)
    bytes private constant P_GELU_BWD = hex"0380C400" hex"0C400000" hex"01C14100" hex"03C24200"
        hex"03808000" hex"03C34400" hex"0A450000" hex"0346C500" hex"03804700" hex"01434800" hex"03814900";
    // a = SQRT(X0[e]); out = DIV(C(1), a)
    bytes private constant P_RSQRT = hex"05800000" hex"04C14000";
    // a = MUL(X0[e], X0[e]); out = MUL(a, X0[e])
    bytes private constant P_CUBE = hex"03808000" hex"03408000";
    // out = SEL_GE(X0[e], X1[e], X2[e])
    bytes private constant P_CLAMP_MIN_BWD = hex"0F808182";
    // p1 = MUL(p, decay); a = MUL(m, b1); b = MUL(g, omb1); m1 = ADD(a, b); c = MUL(v, b2);
    // q = MUL(g, g); d = MUL(q, omb2); v1 = ADD(c, d); r = SQRT(v1); f = DIV(r, bc2Sqrt);
    // den = ADD(f, eps); u = DIV(m1, den); w = MUL(stepSize, u); out = SUB(p1, w)
    bytes private constant P_ADAMW_P = hex"0380A400" hex"0381A500" hex"0383A600" hex"01414200"
        hex"0382A700" hex"03838300" hex"0345A800" hex"01444600" hex"05470000" hex"0448AA00"
        hex"0149AB00" hex"04434A00" hex"03A94B00" hex"02404C00";
    // a = MUL(m, b1); b = MUL(g, omb1); out = ADD(a, b)
    bytes private constant P_ADAMW_M = hex"0381A500" hex"0383A600" hex"01404100";
    // c = MUL(v, b2); q = MUL(g, g); d = MUL(q, omb2); out = ADD(c, d)
    bytes private constant P_ADAMW_V = hex"0382A700" hex"03838300" hex"0341A800" hex"01404200";

    /// @notice Whether `kind` is one of this library's kinds.
    function handles(uint16 kind) internal pure returns (bool) {
        return kind == GELU_BWD || kind == RSQRT || (kind >= CUBE && kind <= CLAMP_MIN_BWD)
            || (kind >= CLIP_COEF && kind <= ADAMW_V) || kind == STACK || kind == PAD;
    }

    /// @notice How many attrs the kind has before the slots' index maps (clipBits64; PAD's n).
    function kindAttrs(uint16 kind) internal pure returns (uint256) {
        return kind == CLIP_COEF || kind == PAD ? 1 : 0;
    }

    /// @notice How many leading steps of the kind's programs have 8-byte (binary64) results.
    function wideSteps(uint16 kind) internal pure returns (uint256) {
        return kind == CLIP_COEF ? CLIP_WIDE_STEPS : 0;
    }

    /// @notice Steps of every element program of `op` (checks its inputs and attrs).
    function length(StepOp calldata op) internal pure returns (uint256) {
        uint16 kind = op.kind;
        uint256 inputs = op.refKinds.length;
        if (kind == CLIP_COEF || kind == PAD) {
            if (op.attrs.length < 1) revert Programs.BadArity(op.index, kind, op.attrs.length, 1);
            if (kind == PAD && op.attrs[0] < 0) revert Programs.BadAttr(op.index, 0);
        }
        if (kind == PAD) {
            _arity(op, inputs, 1);
            return 1;
        }
        if (kind == STACK) {
            // one one-element input per output element
            uint256 n = 1;
            for (uint256 i; i < op.dims.length; ++i) {
                n *= op.dims[i];
            }
            _arity(op, inputs, n);
            return 1;
        }
        uint256 at = 8 * (kind - GELU_BWD);
        _arity(op, inputs, (INPUTS >> at) & 0xFF);
        return (LENGTHS >> at) & 0xFF;
    }

    /// @notice Step `s` of element `e`'s program (s already checked against `length`).
    function step(StepOp calldata op, uint256 e, uint256 s)
        internal
        pure
        returns (Programs.Opcode code, Programs.Operand[3] memory o)
    {
        uint16 kind = op.kind;
        if (kind == STACK) {
            o[0] = Programs.Operand(Programs.Src.In, uint32(e), 0);
            return (Programs.Opcode.Mov, o);
        }
        if (kind == PAD) {
            // e < n: X0[e]; the padding past n is +0
            o[0] = e < uint64(op.attrs[0])
                ? Programs.Operand(Programs.Src.In, 0, uint64(e))
                : Programs.Operand(Programs.Src.Const, 0, 0);
            return (Programs.Opcode.Mov, o);
        }
        if (kind == CLIP_COEF) return _clip(op.attrs[0], s);
        bytes memory t = _table(kind);
        code = Programs.Opcode(uint8(t[4 * s]));
        for (uint256 j; j < 3; ++j) {
            o[j] = _operand(uint8(t[4 * s + 1 + j]), e);
        }
    }

    /// @notice Runs a binary64 step (TO_F64 .. TO_F32) on its operands' bits.
    function run64(Programs.Opcode code, uint64 a, uint64 b) internal pure returns (uint64) {
        if (code == Programs.Opcode.ToF64) return Float64.fromFloat32(uint32(a));
        if (code == Programs.Opcode.SqrtF64) return Float64.sqrt(a);
        if (code == Programs.Opcode.AddF64) return Float64.add(a, b);
        if (code == Programs.Opcode.DivF64) return Float64.div(a, b);
        if (code == Programs.Opcode.MinF64) return Float64.pyMin(a, b);
        return Float64.toFloat32(a);
    }

    /// @dev t = TO_F64(X0[0]); n = SQRT_F64(t); d = ADD_F64(n, C64(1e-6));
    ///      q = DIV_F64(C64(clip), d); m = MIN_F64(q, C64(1.0)); out = TO_F32(m).
    function _clip(int64 clip, uint256 s) private pure returns (Programs.Opcode code, Programs.Operand[3] memory o) {
        code = Programs.Opcode(uint8(Programs.Opcode.ToF64) + s);
        if (s == 0) {
            o[0] = Programs.Operand(Programs.Src.In, 0, 0);
            return (code, o);
        }
        o[0] = Programs.Operand(Programs.Src.Prev, 0, uint64(s - 1));
        if (s == 2) o[1] = Programs.Operand(Programs.Src.Const, 0, EPS_1E6);
        if (s == 3) (o[0], o[1]) = (Programs.Operand(Programs.Src.Const, 0, uint64(clip)), o[0]);
        if (s == 4) o[1] = Programs.Operand(Programs.Src.Const, 0, Float64.ONE);
    }

    function _table(uint16 kind) private pure returns (bytes memory) {
        if (kind == GELU_BWD) return P_GELU_BWD;
        if (kind == RSQRT) return P_RSQRT;
        if (kind == CUBE) return P_CUBE;
        if (kind == CLAMP_MIN_BWD) return P_CLAMP_MIN_BWD;
        if (kind == ADAMW_P) return P_ADAMW_P;
        return kind == ADAMW_M ? P_ADAMW_M : P_ADAMW_V;
    }

    function _operand(uint8 x, uint256 e) private pure returns (Programs.Operand memory) {
        uint256 arg = x & 0x3F;
        if (x >= 0xC0) return Programs.Operand(Programs.Src.Const, 0, uint64((CONSTS >> (32 * arg)) & 0xFFFFFFFF));
        if (x >= 0xA0) return Programs.Operand(Programs.Src.In, uint32(x & 0x1F), 0);
        if (x >= 0x80) return Programs.Operand(Programs.Src.In, uint32(arg), uint64(e));
        if (x >= 0x40) return Programs.Operand(Programs.Src.Prev, 0, uint64(arg));
        return Programs.Operand(Programs.Src.None, 0, 0);
    }

    function _arity(StepOp calldata op, uint256 got, uint256 need) private pure {
        if (got != need) revert Programs.BadArity(op.index, op.kind, got, need);
    }
}
