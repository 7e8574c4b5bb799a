// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {RefereePlayers} from "./RefereePlayers.sol";
import {Opening} from "../../src/interfaces/IOneStepAdjudicator.sol";
import {TensorTrees} from "../support/TensorTrees.sol";
import {Float32} from "../../src/libraries/Float32.sol";
import {StepOp, StepOps} from "../../src/referee/StepOp.sol";
import {Programs} from "../../src/referee/Programs.sol";
import {ProgramsElem} from "../../src/referee/ProgramsElem.sol";
import {DisputeId, Outcome, TaskId} from "../../src/types/Ids.sol";
import {StepGraph} from "../../src/types/RefereeTypes.sol";

/// @notice How the node's trace of the AdamW/clip step is wrong (None: honest).
enum ElemFault {
    None,
    /// @dev Element EA of the AdamW parameter update: its first step (p * decay) one unit high,
    ///      the rest of the program computed from it.
    WrongAdamW,
    /// @dev The clip coefficient: its binary64 DIV_F64 step one binary32 unit (2^29 binary64
    ///      units) high, TO_F32 and every later op computed from it.
    WrongClip
}

/// @notice A second task on RefereeFixture's deployment whose step is the optimizer's end of a
///         real step: op0 = CUBE(X) (a stand-in gradient), op1 = CLIP_COEF of op0[5] (binary64,
///         max norm 0.5), op2 = op0 * op1 (the clipped gradient, op1 broadcast by a stride-0
///         map), op3..op5 = ADAMW_P, ADAMW_M, ADAMW_V over (P, M, V, op2) and the 8 per-step
///         scalars of the scalar table. State (P, M, V, X) [256] each; after the step
///         (op3, op4, op5, X). Both parties compute their traces with Programs itself (checked
///         against the Python programs by ProgramVectorsElem.t.sol); the node's has an ElemFault.
abstract contract RefereeElemFixture is RefereePlayers {
    uint256 internal constant EN = 256;
    uint256 internal constant E_OPS = 6;
    uint256 internal constant CLIP_AT = 5;
    /// @dev max_norm 0.5 as binary64 (the CLIP_COEF attr).
    uint64 internal constant CLIP = 0x3FE0000000000000;
    /// @dev The AdamW element the fault hits.
    uint256 internal constant EA = 77;
    uint256 internal constant SCALARS = 8;

    TaskId internal elemTask;
    ElemFault internal efault;
    /// @dev P, M, V, X before the step; the scalar table (8 per step, step-major).
    uint32[][4] internal pre;
    uint32[] internal table;
    uint32[][E_OPS] internal honestE;
    uint32[][E_OPS] internal nodeE;

    function setUp() public virtual override {
        super.setUp();
        _buildElem();
        StepGraph memory g = elemGraph();
        vm.prank(requester);
        elemTask = market.createTaskWithGraph("bafyelem", keccak256("elem spec"), REWARD, _taskParams(), g);
        vm.prank(node);
        market.claimTask(elemTask);
        // RefereeFixture's segment helpers and RefereePlayers._open act on this task from here
        taskId = elemTask;
    }

    // ------------------------------------------------------------------ the step graph

    function _slots(int64[] memory a, uint256 at, uint256 n, int64 numel) internal pure returns (uint256) {
        for (uint256 k; k < n; ++k) {
            (a[at], a[at + 1], a[at + 2]) = (1, numel, 0);
            at += 3;
        }
        return at;
    }

    /// @notice Op i (kinds and attrs as prover/trace/kinds.py and graph.py).
    function elemOp(uint256 i) public pure returns (StepOp memory o) {
        o.index = uint32(i);
        o.dims = _u32(i == 1 ? 1 : EN, 0);
        if (i == 0) {
            o.kind = ProgramsElem.CUBE;
            (o.refKinds, o.refIndices) = _refs(StepOps.REF_STATE, 3, 0, 0, 1);
            o.attrs = new int64[](3);
            _slots(o.attrs, 0, 1, int64(int256(EN)));
        } else if (i == 1) {
            o.kind = ProgramsElem.CLIP_COEF;
            (o.refKinds, o.refIndices) = _refs(StepOps.REF_OP, 0, 0, 0, 1);
            // clipBits64; slot 0 [1] read at op0[CLIP_AT] (one STRIDED level)
            o.attrs = new int64[](9);
            (o.attrs[0], o.attrs[1], o.attrs[2], o.attrs[3]) = (int64(CLIP), 1, 1, 1);
            (o.attrs[4], o.attrs[5], o.attrs[6], o.attrs[7], o.attrs[8]) = (0, int64(int256(CLIP_AT)), 1, 1, 1);
        } else if (i == 2) {
            o.kind = Programs.MUL;
            (o.refKinds, o.refIndices) = _refs(StepOps.REF_OP, 0, StepOps.REF_OP, 1, 2);
            // op0 as it is; op1 expanded over [256] by stride 0
            o.attrs = new int64[](11);
            _slots(o.attrs, 0, 1, int64(int256(EN)));
            (o.attrs[3], o.attrs[4], o.attrs[5], o.attrs[6], o.attrs[7]) = (1, int64(int256(EN)), 1, 0, 0);
            (o.attrs[8], o.attrs[9], o.attrs[10]) = (1, int64(int256(EN)), 0);
        } else {
            o.kind = uint16(ProgramsElem.ADAMW_P + i - 3);
            o.refKinds = new uint8[](ProgramsElem.ADAMW_INPUTS);
            o.refIndices = new uint32[](ProgramsElem.ADAMW_INPUTS);
            // p, m, v from the state, g = op2, then scalars 0..7 of the table
            for (uint256 k; k < ProgramsElem.ADAMW_INPUTS; ++k) {
                o.refKinds[k] = k < 3 ? StepOps.REF_STATE : (k == 3 ? StepOps.REF_OP : StepOps.REF_SCALAR);
                o.refIndices[k] = uint32(k < 3 ? k : (k == 3 ? 2 : k - 4));
            }
            o.attrs = new int64[](3 * ProgramsElem.ADAMW_INPUTS);
            _slots(o.attrs, _slots(o.attrs, 0, 4, int64(int256(EN))), SCALARS, 1);
        }
    }

    function elemOpLeaves() public view returns (bytes32[] memory l) {
        l = new bytes32[](E_OPS);
        for (uint256 i; i < E_OPS; ++i) {
            l[i] = this.opLeaf(elemOp(i));
        }
    }

    /// @notice Final refs: P, M, V after the step are op3, op4, op5; X is kept (State(3)).
    function elemFinalLeaves() public pure returns (bytes32[] memory l) {
        l = new bytes32[](4);
        for (uint256 j; j < 3; ++j) {
            l[j] = sha256(abi.encodePacked(uint32(j), StepOps.REF_OP, uint32(j + 3)));
        }
        l[3] = sha256(abi.encodePacked(uint32(3), StepOps.REF_STATE, uint32(3)));
    }

    function elemGraph() public view returns (StepGraph memory g) {
        bytes32[] memory t = new bytes32[](1);
        t[0] = TensorTrees.commit(bias, _u32(300, 0));
        g.graphRoot = TensorTrees.root(elemOpLeaves());
        g.teacherRoot = TensorTrees.root(t);
        g.scalarRoot = TensorTrees.root(elemScalarLeaves());
        g.totalSteps = TOTAL;
        g.initialState = TensorTrees.root(_elemStateLeaves(pre[0], pre[1], pre[2], 0));
        g.finalRoot = TensorTrees.root(elemFinalLeaves());
        g.nOps = uint32(E_OPS);
        g.nState = 4;
        g.nTeacher = 1;
        // No op reads the batch here; the dataset fields only have to be set.
        (g.sampleRoot, g.seed, g.numSamples, g.batchSize, g.seqLen) = (keccak256("dataset"), 7, 1000, 2, 300);
    }

    /// @notice Row t of the scalar table: decay, b1, omb1, b2, omb2, stepSize, bc2Sqrt, eps as
    ///         float32 little-endian.
    function elemRow(uint256 t) public view returns (bytes memory b) {
        for (uint256 j; j < SCALARS; ++j) {
            uint32 v = table[(t - 1) * SCALARS + j];
            b = bytes.concat(b, abi.encodePacked(uint8(v), uint8(v >> 8), uint8(v >> 16), uint8(v >> 24)));
        }
    }

    function elemScalarLeaves() public view returns (bytes32[] memory l) {
        l = new bytes32[](TOTAL);
        for (uint256 t; t < TOTAL; ++t) {
            l[t] = sha256(elemRow(t + 1));
        }
    }

    function _ratio(int64 a, int64 b) internal pure returns (uint32) {
        return Float32.div(Float32.fromInt(a), Float32.fromInt(b));
    }

    function _buildElem() internal {
        for (uint256 j; j < 4; ++j) {
            for (uint256 e; e < EN; ++e) {
                uint32 x = _val(7_000_003 * (j + 11) + e);
                // V is a second moment (non-negative); X[CLIP_AT] = 1.5 makes the clip bite
                pre[j].push(j == 2 ? Float32.abs(x) : x);
            }
        }
        pre[3][CLIP_AT] = 0x3FC00000;
        for (uint256 t = 1; t <= TOTAL; ++t) {
            int64 ti = int64(int256(t));
            table.push(_ratio(9999, 10_000));
            table.push(_ratio(9, 10));
            table.push(_ratio(1, 10));
            table.push(_ratio(999, 1000));
            table.push(_ratio(1, 1000));
            table.push(_ratio(1, 100 + ti));
            table.push(Float32.sqrt(_ratio(ti, ti + 10)));
            table.push(0x322BCC77); // 1e-8
        }
    }

    function _elemStateLeaves(uint32[] memory p, uint32[] memory m, uint32[] memory v, uint256 t)
        internal
        view
        returns (bytes32[] memory l)
    {
        uint32[] memory dims = _u32(EN, 0);
        l = new bytes32[](5);
        (l[0], l[1], l[2]) = (TensorTrees.commit(p, dims), TensorTrees.commit(m, dims), TensorTrees.commit(v, dims));
        l[3] = TensorTrees.commit(pre[3], dims);
        l[4] = sha256(abi.encodePacked("veritrain/state/v2", uint64(t)));
    }

    // ------------------------------------------------------------------ the traces

    function stepOf(StepOp calldata o, uint256 e, uint256 s)
        external
        pure
        returns (Programs.Opcode, Programs.Operand[3] memory)
    {
        return Programs.step(o, e, s);
    }

    function lengthOf(StepOp calldata o, uint256 e) external pure returns (uint256) {
        return Programs.length(o, e);
    }

    /// @dev The value of input `slot` at logical position q of op i, from `out` (earlier ops).
    function _read(uint256 i, uint256 slot, uint256 q, uint32[][E_OPS] storage out) internal view returns (uint32) {
        if (i == 0) return pre[3][q];
        if (i == 1) return out[0][CLIP_AT];
        if (i == 2) return slot == 0 ? out[0][q] : out[1][0];
        if (slot < 3) return pre[slot][q];
        return slot == 3 ? out[2][q] : table[(T - 1) * SCALARS + slot - 4];
    }

    /// @notice Element e's program results of op i, its inputs from `out`, its earlier results
    ///         from `r` where given (the challenger replays the node's), with the node's fault
    ///         when `faulty`.
    function _program(uint256 i, uint256 e, uint32[][E_OPS] storage out, bool faulty)
        internal
        view
        returns (uint64[] memory r)
    {
        StepOp memory o = elemOp(i);
        r = new uint64[](this.lengthOf(o, e));
        for (uint256 s; s < r.length; ++s) {
            r[s] = _stepResult(o, e, s, r, out);
            if (faulty && efault == ElemFault.WrongAdamW && i == 3 && e == EA && s == 0) r[s] += 1;
            if (faulty && efault == ElemFault.WrongClip && i == 1 && s == 3) r[s] += 1 << 29;
        }
    }

    /// @dev Step s of element e of op i on `r`'s earlier results and `out`'s inputs.
    function _stepResult(StepOp memory o, uint256 e, uint256 s, uint64[] memory r, uint32[][E_OPS] storage out)
        internal
        view
        returns (uint64)
    {
        uint256 i = o.index;
        (Programs.Opcode code, Programs.Operand[3] memory x) = this.stepOf(o, e, s);
        uint64[3] memory v;
        for (uint256 k; k < 3; ++k) {
            if (x[k].src == Programs.Src.Prev) v[k] = r[x[k].value];
            else if (x[k].src == Programs.Src.Const) v[k] = x[k].value;
            else if (x[k].src == Programs.Src.In) v[k] = _read(i, x[k].slot, x[k].value, out);
        }
        return Programs.runStep(code, v[0], v[1], v[2]);
    }

    function _trace(uint32[][E_OPS] storage out, bool faulty) internal {
        for (uint256 i; i < E_OPS; ++i) {
            delete out[i];
            uint256 n = i == 1 ? 1 : EN;
            for (uint256 e; e < n; ++e) {
                // each program's scratch memory is given back (256 programs an op)
                uint256 fmp;
                assembly ("memory-safe") {
                    fmp := mload(0x40)
                }
                uint64[] memory r = _program(i, e, out, faulty);
                out[i].push(uint32(r[r.length - 1]));
                assembly ("memory-safe") {
                    mstore(0x40, fmp)
                }
            }
        }
    }

    /// @notice Builds both traces of step T and commits segments 0 and 1 with the node's.
    function _elemCommits(ElemFault f) internal {
        efault = f;
        _trace(honestE, false);
        _trace(nodeE, true);
        stateBefore = TensorTrees.root(_elemStateLeaves(pre[0], pre[1], pre[2], T - 1));
        nodeAfter = TensorTrees.root(_elemAfterLeaves());
        _commitSegment(0, nodeAfter);
        _commitSegment(1, nodeAfter);
    }

    function _elemAfterLeaves() internal view returns (bytes32[] memory) {
        return _elemStateLeaves(nodeE[3], nodeE[4], nodeE[5], T);
    }

    function _commits(uint32[][E_OPS] storage out) internal view returns (bytes32[] memory c) {
        c = new bytes32[](E_OPS);
        for (uint256 i; i < E_OPS; ++i) {
            c[i] = TensorTrees.commit(out[i], elemOp(i).dims);
        }
    }

    /// @notice The results as the node posts them: 8 bytes for each binary64 step, else 4.
    function _packResults(uint256 i, uint64[] memory r) internal pure returns (bytes memory b) {
        uint256 wide = Programs.wideSteps(elemOp(i).kind);
        for (uint256 s; s < r.length; ++s) {
            b = bytes.concat(b, s < wide ? abi.encodePacked(r[s]) : abi.encodePacked(uint32(r[s])));
        }
    }

    /// @notice Openings of step s's input operands, in operand order (op refs: the node's).
    function _elemOpenings(uint256 i, uint256 e, uint256 s) internal view returns (Opening[] memory w) {
        (, Programs.Operand[3] memory x) = this.stepOf(elemOp(i), e, s);
        uint256 n;
        for (uint256 k; k < 3; ++k) {
            if (x[k].src == Programs.Src.In) ++n;
        }
        w = new Opening[](n);
        n = 0;
        for (uint256 k; k < 3; ++k) {
            if (x[k].src == Programs.Src.In) w[n++] = _elemOpening(i, x[k].slot, x[k].value);
        }
    }

    function _elemOpening(uint256 i, uint256 slot, uint256 q) internal view returns (Opening memory w) {
        StepOp memory o = elemOp(i);
        uint8 ref = o.refKinds[slot];
        uint256 j = o.refIndices[slot];
        if (ref == StepOps.REF_SCALAR) {
            w.chunk = elemRow(T);
            w.chunkProof = TensorTrees.proof(elemScalarLeaves(), T - 1);
            return w;
        }
        if (ref == StepOps.REF_STATE) {
            bytes32[] memory proof = TensorTrees.proof(_elemStateLeaves(pre[0], pre[1], pre[2], T - 1), j);
            return _opening(pre[j], _u32(EN, 0), proof, q);
        }
        // op refs: op1's slot reads op0[CLIP_AT], op2's slot 1 reads op1[0] (the index maps)
        uint256 idx = i == 1 ? CLIP_AT : (i == 2 && slot == 1 ? 0 : q);
        return _opening(nodeE[j], elemOp(j).dims, TensorTrees.proof(_commits(nodeE), j), idx);
    }

    /// @notice The first step of the node's program whose result differs from the arithmetic on
    ///         the challenger's inputs and the node's own earlier results (the last when none).
    function _firstWrong(uint256 i, uint256 e, uint64[] memory r) internal view returns (uint256 s) {
        StepOp memory o = elemOp(i);
        for (; s + 1 < r.length; ++s) {
            if (_stepResult(o, e, s, r, honestE) != r[s]) return s;
        }
    }

    // ------------------------------------------------------------------ the game

    /// @notice Plays the node's trace and the op pick (toward the first op that differs from the
    ///         honest trace, or op `pickOp` when none does), the shape, the chunk, element `lane`
    ///         (the first that differs when the op does), and the node's program. Returns the
    ///         disputed op and element and the node's posted results.
    function _toProgram(DisputeId d, uint256 pickOp, uint256 lane)
        internal
        returns (uint256 i, uint256 e, uint64[] memory r, bytes memory posted)
    {
        (i, e) = _toElement(d, pickOp, lane);
        r = _program(i, e, nodeE, true);
        posted = _packResults(i, r);
        vm.prank(node);
        referee.postProgram(d, posted);
    }

    /// @notice _toProgram up to the named element (the node's program not yet posted).
    function _toElement(DisputeId d, uint256 pickOp, uint256 lane) internal returns (uint256 i, uint256 e) {
        bytes32[] memory nodes = new bytes32[](8);
        bytes32[] memory mine = new bytes32[](8);
        {
            bytes32[] memory theirs = _commits(nodeE);
            bytes32[] memory honest = _commits(honestE);
            for (uint256 k; k < E_OPS; ++k) {
                (nodes[k], mine[k]) = (theirs[k], honest[k]);
            }
            bytes32[] memory proof = _beforeProof();
            bytes32[] memory afterLeaves = _elemAfterLeaves();
            bytes32 opRoot = TensorTrees.root(theirs);
            vm.prank(node);
            referee.postTrace(d, stateBefore, proof, nodeAfter, afterLeaves, opRoot);
        }
        vm.prank(node);
        referee.split(d, nodes);
        i = _firstDiffering(mine, nodes);
        if (nodes[i] == mine[i]) i = pickOp;
        vm.prank(challenger);
        referee.pick(d, nodes, i);
        bytes32 root = TensorTrees.root(TensorTrees.leaves(nodeE[i]));
        uint32[] memory dims = elemOp(i).dims;
        vm.prank(node);
        referee.revealShape(d, root, dims);
        bytes memory chunk = TensorTrees.chunk(nodeE[i], 0);
        vm.prank(node);
        referee.revealChunk(d, chunk);
        for (uint256 l; l < nodeE[i].length; ++l) {
            if (nodeE[i][l] != honestE[i][l]) {
                lane = l;
                break;
            }
        }
        e = lane;
        bytes32[] memory graphProof = TensorTrees.proof(elemOpLeaves(), i);
        StepOp memory o = elemOp(i);
        vm.prank(challenger);
        referee.nameElement(d, lane, chunk, o, graphProof);
    }

    /// @notice The challenger checks step s of the disputed element.
    function _elemCheck(DisputeId d, uint256 i, uint256 e, uint256 s, bytes memory posted)
        internal
        returns (Outcome result)
    {
        Opening[] memory w = _elemOpenings(i, e, s);
        StepOp memory o = elemOp(i);
        _calldata(abi.encodeCall(referee.checkStep, (d, s, o, posted, w)));
        vm.prank(challenger);
        uint256 g0 = gasleft();
        result = referee.checkStep(d, s, o, posted, w);
        _record("checkStep", g0);
    }
}
