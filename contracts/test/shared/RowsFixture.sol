// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {RefereePlayers} from "./RefereePlayers.sol";
import {Fault} from "./RefereeFixture.sol";
import {Opening} from "../../src/interfaces/IOneStepAdjudicator.sol";
import {Programs} from "../../src/referee/Programs.sol";
import {ProgramsRows} from "../../src/referee/ProgramsRows.sol";
import {IndexMaps} from "../../src/referee/IndexMaps.sol";
import {StepOp, StepOps} from "../../src/referee/StepOp.sol";
import {TensorTrees} from "../support/TensorTrees.sol";

/// @notice Calldata wrappers: the fixture runs element programs through the contract's own
///         Programs and IndexMaps.
contract RowsHarness {
    function length(StepOp calldata op, uint256 e) external pure returns (uint256) {
        return Programs.length(op, e);
    }

    function step(StepOp calldata op, uint256 e, uint256 s)
        external
        pure
        returns (Programs.Opcode code, Programs.Operand[3] memory o)
    {
        return Programs.step(op, e, s);
    }

    function position(StepOp calldata op, uint256 slot, uint256 q) external pure returns (uint256) {
        return IndexMaps.position(op.attrs, Programs.kindAttrs(op.kind), slot, q);
    }
}

/// @notice The referee game on a step of row kinds at the default preset's row lengths, with
///         the honest trace computed by the Python reference (tests/vectors/trace/rows_game.json,
///         written by make_rows_game.py: the graph's op leaves, the state before the step and
///         every op output). State: Y [1, 384], S [1, 128], X [1, 384]. Ops: 0 SOFTMAX(S),
///         1 LN_MEAN(X), 2 LN_RSTD(X, op1), 3 LN_OUT(X, op1, op2, Const 1.25, Const -0.125),
///         4 LN_BWD_DW over 1,024 rows of 1 (stride-0 maps over X and op3, mean and rstd
///         broadcast; a 4,096-step program), 5 SOFTMAX_BWD(op0, S), 6 LN_BWD_DX(X, Const 1.25,
///         op1, op2, op3) (2,313 steps), 7 FSUM_SQ(op3),
///         8 ADD(op3, Y), the new Y. Element programs are run with Programs.step and
///         Programs.run on honest inputs: an honest node's last result must be Python's element.
///         Fault.WrongStep: step faultStep of element faultAt of op faultOp is one unit high and
///         the node's later steps build on it; its other op outputs are the honest ones (the
///         game settles at the first op that differs).
abstract contract RowsFixture is RefereePlayers {
    uint32 internal constant W_BITS = 0x3FA00000;
    uint32 internal constant B_BITS = 0xBE000000;
    /// @dev float32(1e-12), the preset's layer_norm_eps.
    uint32 internal constant EPS_BITS = 0x2B8CBCCC;
    string internal constant GAME_JSON = "tests/vectors/trace/rows_game.json";

    RowsHarness internal rows = new RowsHarness();
    uint256 internal faultOp;
    uint256 internal faultStep;

    // ------------------------------------------------------------------ the graph

    /// @dev Appends a plain slot of logical shape [d0] (d1 == 0) or [d0, d1], no index map.
    function _plainSlot(int64[] memory a, uint256 p, int64 d0, int64 d1) private pure returns (uint256) {
        if (d1 == 0) {
            (a[p], a[p + 1], a[p + 2]) = (1, d0, 0);
            return p + 3;
        }
        (a[p], a[p + 1], a[p + 2], a[p + 3]) = (2, d0, d1, 0);
        return p + 4;
    }

    /// @dev LN_BWD_DW's slots: [1024, 1] through STRIDED(0, [8, 128, 1], [0, 3, 0]) (x, dy), or
    ///      [1024] through STRIDED(0, [1024], [0]) (mean, rstd).
    function _rowsSlot(int64[] memory a, uint256 p, bool wide) private pure returns (uint256) {
        if (!wide) {
            int64[8] memory v = [int64(1), 1024, 1, 0, 0, 1, 1024, 0];
            for (uint256 i; i < 8; ++i) {
                a[p + i] = v[i];
            }
            return p + 8;
        }
        int64[13] memory w = [int64(2), 1024, 1, 1, 0, 0, 3, 8, 128, 1, 0, 3, 0];
        for (uint256 i; i < 13; ++i) {
            a[p + i] = w[i];
        }
        return p + 13;
    }

    function _trim(int64[] memory a, uint256 n) private pure returns (int64[] memory) {
        assembly ("memory-safe") {
            mstore(a, n)
        }
        return a;
    }

    function _setRefs(StepOp memory o, uint8[5] memory k, uint32[5] memory idx, uint256 n) private pure {
        o.refKinds = new uint8[](n);
        o.refIndices = new uint32[](n);
        for (uint256 i; i < n; ++i) {
            (o.refKinds[i], o.refIndices[i]) = (k[i], idx[i]);
        }
    }

    /// @notice Op i of the rows graph (the same bytes as make_rows_game.py's: setUp checks leaves).
    function op(uint256 i) public pure override returns (StepOp memory o) {
        (uint8 st, uint8 opr, uint8 cst) = (StepOps.REF_STATE, StepOps.REF_OP, StepOps.REF_CONST);
        o.index = uint32(i);
        int64[] memory a = new int64[](64);
        uint256 p;
        if (i == 0 || i == 5) {
            o.kind = i == 0 ? ProgramsRows.SOFTMAX : ProgramsRows.SOFTMAX_BWD;
            o.dims = _u32(1, 128);
            (a[0], a[1]) = (1, 128);
            p = _plainSlot(a, 2, 1, 128);
            if (i == 5) p = _plainSlot(a, p, 1, 128);
            _setRefs(o, [i == 0 ? st : opr, st, 0, 0, 0], [i == 0 ? uint32(1) : 0, 1, 0, 0, 0], i == 0 ? 1 : 2);
        } else if (i == 1 || i == 2) {
            o.kind = i == 1 ? ProgramsRows.LN_MEAN : ProgramsRows.LN_RSTD;
            o.dims = _u32(1, 0);
            (a[0], a[1], a[2]) = (1, 384, int64(uint64(EPS_BITS)));
            p = _plainSlot(a, i == 1 ? 2 : 3, 1, 384);
            if (i == 2) p = _plainSlot(a, p, 1, 0);
            _setRefs(o, [st, opr, 0, 0, 0], [uint32(2), 1, 0, 0, 0], i);
        } else if (i == 3) {
            o.kind = ProgramsRows.LN_OUT;
            o.dims = _u32(1, 384);
            (a[0], a[1], a[2]) = (1, 384, 1);
            p = _plainSlot(a, _plainSlot(a, _plainSlot(a, 3, 1, 384), 1, 0), 1, 0);
            p = _plainSlot(a, _plainSlot(a, p, 384, 0), 384, 0);
            _setRefs(o, [st, opr, opr, cst, cst], [uint32(2), 1, 2, W_BITS, B_BITS], 5);
        } else if (i == 4) {
            o.kind = ProgramsRows.LN_BWD_DW;
            o.dims = _u32(1, 0);
            (a[0], a[1]) = (1024, 1);
            p = _rowsSlot(a, _rowsSlot(a, _rowsSlot(a, _rowsSlot(a, 2, true), false), false), true);
            _setRefs(o, [st, opr, opr, opr, 0], [uint32(2), 1, 2, 3, 0], 4);
        } else if (i == 6) {
            o.kind = ProgramsRows.LN_BWD_DX;
            o.dims = _u32(1, 384);
            (a[0], a[1], a[2]) = (1, 384, 1);
            p = _plainSlot(a, _plainSlot(a, _plainSlot(a, 3, 1, 384), 384, 0), 1, 0);
            p = _plainSlot(a, _plainSlot(a, p, 1, 0), 1, 384);
            _setRefs(o, [st, cst, opr, opr, opr], [uint32(2), W_BITS, 1, 2, 3], 5);
        } else if (i == 7) {
            o.kind = ProgramsRows.FSUM_SQ;
            o.dims = _u32(1, 0);
            (a[0], a[1], a[2], a[3]) = (1, 384, 4096, 1);
            p = _plainSlot(a, 4, 1, 384);
            _setRefs(o, [opr, 0, 0, 0, 0], [uint32(3), 0, 0, 0, 0], 1);
        } else {
            o.kind = Programs.ADD;
            o.dims = _u32(1, 384);
            p = _plainSlot(a, _plainSlot(a, 0, 1, 384), 1, 384);
            _setRefs(o, [opr, st, 0, 0, 0], [uint32(3), 0, 0, 0, 0], 2);
        }
        o.attrs = _trim(a, p);
    }

    function stateDims(uint256 j) internal pure override returns (uint32[] memory) {
        return j == 1 ? _u32(1, 128) : _u32(1, 384);
    }

    // ------------------------------------------------------------------ the trace

    function _loadInto(uint32[] storage dst, string memory json, string memory key) internal {
        uint256[] memory v = vm.parseJsonUintArray(json, key);
        for (uint256 i; i < v.length; ++i) {
            dst.push(uint32(v[i]));
        }
    }

    /// @dev The state before the step and the honest op outputs, from the Python reference; the
    ///      graph must be the one it traced (op leaves).
    function _buildStep() internal override {
        string memory json = vm.readFile(GAME_JSON);
        for (uint256 j; j < 3; ++j) {
            _loadInto(stateT[j], json, string.concat(".state[", vm.toString(j), "]"));
        }
        for (uint256 i; i < N_OPS; ++i) {
            string memory at = string.concat("[", vm.toString(i), "]");
            assertEq(this.opLeaf(op(i)), vm.parseJsonBytes32(json, string.concat(".leaves", at)), "graph");
            _loadInto(honestOut[i], json, string.concat(".outputs", at));
        }
        _fill(bias, 300, 4);
        for (uint256 t; t < TOTAL; ++t) {
            scalars.push(uint32(0x3C23D70A)); // 0.01
        }
    }

    function _honestStep() internal override {
        stateBefore = _stateRoot(stateT[0], T - 1);
        honestAfter = _stateRoot(honestOut[N_OPS - 1], T);
    }

    function _nodeCommits(Fault f) internal override {
        _honestStep();
        fault = f;
        for (uint256 i; i < N_OPS; ++i) {
            nodeOut[i] = honestOut[i];
        }
        if (f == Fault.WrongStep) {
            uint32[] memory r = program(faultOp, faultAt, f);
            nodeOut[faultOp][faultAt] = r[r.length - 1];
        }
        nodeAfter = TensorTrees.root(_nodeAfterLeaves());
        _commitSegment(0, nodeAfter);
        _commitSegment(1, nodeAfter);
    }

    // ------------------------------------------------------------------ programs

    /// @dev Slot `slot`'s element at logical position q, read from the honest tensors.
    function _input(StepOp calldata o, uint256 slot, uint256 q) internal view returns (uint32) {
        uint8 ref = o.refKinds[slot];
        uint256 j = o.refIndices[slot];
        if (ref == StepOps.REF_CONST) return uint32(j);
        if (ref == StepOps.REF_SCALAR) return scalars[T - 1];
        uint256 at = IndexMaps.position(o.attrs, Programs.kindAttrs(o.kind), slot, q);
        if (ref == StepOps.REF_STATE) return stateT[j][at];
        if (ref == StepOps.REF_TEACHER) return bias[at];
        return honestOut[j][at];
    }

    /// @dev Step s of element e on honest inputs and the results `r` of the steps before it.
    function _eval(StepOp calldata o, uint256 e, uint256 s, uint32[] memory r) internal view returns (uint32) {
        (Programs.Opcode code, Programs.Operand[3] memory x) = Programs.step(o, e, s);
        uint32[3] memory v;
        for (uint256 k; k < 3; ++k) {
            if (x[k].src == Programs.Src.Prev) v[k] = r[x[k].value];
            else if (x[k].src == Programs.Src.Const) v[k] = uint32(x[k].value);
            else if (x[k].src == Programs.Src.In) v[k] = _input(o, x[k].slot, x[k].value);
        }
        return Programs.run(code, v[0], v[1], v[2]);
    }

    /// @notice Element e's program results on honest inputs, step `bad` one unit high when
    ///         `faulty`. External (the op in calldata, as the contract reads it): a call frame of
    ///         its own keeps a 4,096-step program's memory out of the game's.
    function runProgram(StepOp calldata o, uint256 e, bool faulty, uint256 bad)
        external
        view
        returns (uint32[] memory r)
    {
        r = new uint32[](Programs.length(o, e));
        for (uint256 s; s < r.length; ++s) {
            r[s] = _eval(o, e, s, r);
            if (faulty && s == bad) r[s] += 1;
        }
    }

    /// @notice The first step whose result binary32 refutes on honest inputs and `r` before it.
    function firstWrong(StepOp calldata o, uint256 e, uint32[] memory r) external view returns (uint256) {
        for (uint256 s; s < r.length; ++s) {
            if (_eval(o, e, s, r) != r[s]) return s;
        }
        return r.length - 1;
    }

    /// @notice Element e's program results of op i as a node with `f` computes them.
    function program(uint256 i, uint256 e, Fault f) public view override returns (uint32[] memory) {
        bool faulty = f == Fault.WrongStep && i == faultOp && e == faultAt;
        return this.runProgram(op(i), e, faulty, faultStep);
    }

    function _firstWrongStep(uint256 i, uint256 e, uint32[] memory r) internal view override returns (uint256) {
        return this.firstWrong(op(i), e, r);
    }

    /// @notice Openings of step s's input operands that need one (not Const slots), in order.
    function _openings(uint256 i, uint256 e, uint256 s) internal view override returns (Opening[] memory w) {
        StepOp memory o = op(i);
        (, Programs.Operand[3] memory x) = rows.step(o, e, s);
        w = new Opening[](3);
        uint256 n;
        for (uint256 k; k < 3; ++k) {
            if (x[k].src != Programs.Src.In) continue;
            uint8 ref = o.refKinds[x[k].slot];
            uint256 j = o.refIndices[x[k].slot];
            if (ref == StepOps.REF_CONST) continue;
            uint256 at = rows.position(o, x[k].slot, x[k].value);
            if (ref == StepOps.REF_STATE) w[n++] = _stateOpening(j, at);
            else if (ref == StepOps.REF_OP) w[n++] = _opOpening(j, at);
            else if (ref == StepOps.REF_TEACHER) w[n++] = _teacherOpening(at);
            else w[n++] = _scalarOpening();
        }
        assembly ("memory-safe") {
            mstore(w, n)
        }
    }
}
