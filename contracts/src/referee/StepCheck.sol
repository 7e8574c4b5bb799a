// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IOneStepAdjudicator, Opening} from "../interfaces/IOneStepAdjudicator.sol";
import {TensorCommit} from "../libraries/TensorCommit.sol";
import {StepOp, StepOps} from "./StepOp.sol";
import {Programs} from "./Programs.sol";
import {RefereeGame} from "./RefereeGame.sol";
import {ScalarAlu} from "./ScalarAlu.sol";
import {DisputeId, Outcome} from "../types/Ids.sol";
import {StepGraph, GamePhase} from "../types/RefereeTypes.sol";

/// @title StepCheck
/// @notice The last move of the game: one scalar step of one element program, recomputed with
///         Float32 from operands that are bound to what they must be (an earlier step's posted
///         result, an input element opened against the state before the step, an earlier op's
///         output in opRoot, the teacher, or the scalar table, or a literal).
library StepCheck {
    /// @dev What the input openings are checked against.
    struct Ctx {
        ScalarAlu alu;
        DisputeId id;
        uint256 step;
        uint256 opIndex;
        uint256 nState;
        uint256 nOps;
        uint256 nTeacher;
        bytes32 stateBefore;
        bytes32 opRoot;
        bytes32 teacherRoot;
        bytes32 scalarRoot;
    }

    /// @notice Recomputes step `s`; NodeWrong when the node's result differs, NodeRight otherwise.
    function check(
        ScalarAlu alu,
        RefereeGame.Game storage g,
        DisputeId id,
        StepGraph storage graph,
        uint256 s,
        StepOp calldata op,
        bytes calldata results,
        Opening[] calldata openings
    ) internal returns (Outcome result) {
        _verify(g, id, op, results);
        StepCheck.Ctx memory c = _ctx(g, id, graph);
        c.alu = alu;
        bool differs = _evaluate(c, op, g.element, s, results, openings);
        // INVARIANT: the node loses exactly when binary32 disagrees with its claimed result.
        result = differs ? Outcome.NodeWrong : Outcome.NodeRight;
        g.phase = GamePhase.Resolved;
    }

    /// @dev The op and the results are the ones the game fixed.
    function _verify(RefereeGame.Game storage g, DisputeId id, StepOp calldata op, bytes calldata results)
        private
        view
    {
        if (StepOps.id(op) != g.opId) revert IOneStepAdjudicator.OpNotInGraph(id, g.opIndex);
        bytes32 h = keccak256(results);
        if (h != g.resultsHash) revert IOneStepAdjudicator.NotCommitted(id, g.resultsHash, h);
    }

    function _ctx(RefereeGame.Game storage g, DisputeId id, StepGraph storage graph)
        private
        view
        returns (Ctx memory c)
    {
        c.id = id;
        c.step = g.step;
        c.opIndex = g.opIndex;
        c.nState = graph.nState;
        c.nOps = graph.nOps;
        c.nTeacher = graph.nTeacher;
        c.stateBefore = g.stateBefore;
        c.opRoot = g.opRoot;
        c.teacherRoot = graph.teacherRoot;
        c.scalarRoot = graph.scalarRoot;
    }

    function _evaluate(
        Ctx memory c,
        StepOp calldata op,
        uint256 e,
        uint256 s,
        bytes calldata results,
        Opening[] calldata openings
    ) private returns (bool differs) {
        (Programs.Opcode opcode, Programs.Operand[3] memory o) = Programs.step(op, e, s);
        uint32[3] memory v = _operands(c, op, o, results, openings);
        uint32 computed = c.alu.run(uint8(opcode), v[0], v[1], v[2]);
        uint32 claimed = RefereeGame.resultAt(results, s);
        emit IOneStepAdjudicator.StepChecked(c.id, s, uint8(opcode), computed, claimed);
        differs = computed != claimed;
    }

    function _operands(
        Ctx memory c,
        StepOp calldata op,
        Programs.Operand[3] memory o,
        bytes calldata results,
        Opening[] calldata openings
    ) private view returns (uint32[3] memory v) {
        uint256 next;
        for (uint256 j; j < 3; ++j) {
            Programs.Src src = o[j].src;
            if (src == Programs.Src.Prev) {
                v[j] = RefereeGame.resultAt(results, o[j].value);
            } else if (src == Programs.Src.Const) {
                v[j] = uint32(o[j].value);
            } else if (src == Programs.Src.In) {
                if (next >= openings.length) revert IOneStepAdjudicator.InputNotProven(c.id, o[j].slot, o[j].value);
                v[j] = _input(c, op, o[j], openings[next++]);
            }
        }
    }

    /// @dev The bits of input `o.slot` element `o.value`, opened where the op's reference points.
    function _input(Ctx memory c, StepOp calldata op, Programs.Operand memory o, Opening calldata w)
        private
        view
        returns (uint32)
    {
        uint8 ref = op.refKinds[o.slot];
        uint256 j = op.refIndices[o.slot];
        uint256 idx = o.value;
        bytes32 commit = TensorCommit.bindShape(w.root, w.dims);
        bool ok;
        if (ref == StepOps.REF_STATE) {
            ok = j < c.nState && TensorCommit.verify(w.commitProof, c.stateBefore, commit, j, c.nState + 1);
        } else if (ref == StepOps.REF_OP) {
            // INVARIANT: an op reads only earlier ops, which the challenger agreed with.
            ok = j < c.opIndex && TensorCommit.verify(w.commitProof, c.opRoot, commit, j, c.nOps);
        } else if (ref == StepOps.REF_TEACHER) {
            ok = TensorCommit.verify(w.commitProof, c.teacherRoot, commit, j, c.nTeacher);
        } else if (ref == StepOps.REF_SCALAR) {
            // The table is [totalSteps, nScalars]: scalar j of step t is row t-1, column j.
            ok = commit == c.scalarRoot && w.commitProof.length == 0 && w.dims.length == 2 && idx == 0
                && j < w.dims[1];
            if (ok) idx = (c.step - 1) * w.dims[1] + j;
        } else {
            revert IOneStepAdjudicator.UnsupportedInput(c.id, ref);
        }
        uint256 n = TensorCommit.numel(w.dims);
        ok = ok && idx < n && TensorCommit.verifyChunk(w.chunk, w.root, idx >> 8, n, w.chunkProof);
        if (!ok) revert IOneStepAdjudicator.InputNotProven(c.id, o.slot, o.value);
        return TensorCommit.element(w.chunk, idx & 255);
    }
}
