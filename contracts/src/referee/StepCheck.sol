// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IOneStepAdjudicator, Opening} from "../interfaces/IOneStepAdjudicator.sol";
import {StepOp, StepOps} from "./StepOp.sol";
import {RefereeGame} from "./RefereeGame.sol";
import {StepEvaluator} from "./StepEvaluator.sol";
import {DisputeId, Outcome} from "../types/Ids.sol";
import {StepGraph, GamePhase} from "../types/RefereeTypes.sol";

/// @title StepCheck
/// @notice The last move of the game: the op and results are the ones the game fixed; the
///         StepEvaluator recomputes the named step from bound operands; the node loses exactly
///         when its result differs.
library StepCheck {
    /// @notice Recomputes step `s`; NodeWrong when the node's result differs, NodeRight otherwise.
    function check(
        StepEvaluator evaluator,
        RefereeGame.Game storage g,
        DisputeId id,
        StepGraph storage graph,
        uint256 s,
        StepOp calldata op,
        bytes calldata results,
        Opening[] calldata openings
    ) internal returns (Outcome result) {
        _verify(g, id, op, results);
        StepEvaluator.Ctx memory c = _ctx(g, id, graph);
        c.s = s;
        // INVARIANT: the node loses exactly when IEEE arithmetic disagrees with its claimed result.
        result = _evaluate(evaluator, c, op, results, openings) ? Outcome.NodeWrong : Outcome.NodeRight;
        g.phase = GamePhase.Resolved;
    }

    /// @dev Whether the node's result of step c.s differs from binary32's (logged either way).
    function _evaluate(
        StepEvaluator evaluator,
        StepEvaluator.Ctx memory c,
        StepOp calldata op,
        bytes calldata results,
        Opening[] calldata openings
    ) private returns (bool) {
        (uint8 code, uint64 computed, uint64 claimed) = evaluator.evaluate(c, op, results, openings);
        emit IOneStepAdjudicator.StepChecked(c.id, c.s, code, computed, claimed);
        return computed != claimed;
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
        returns (StepEvaluator.Ctx memory c)
    {
        c = StepEvaluator.Ctx({
            id: id,
            step: g.step,
            element: g.element,
            s: 0,
            opIndex: g.opIndex,
            nState: graph.nState,
            nOps: graph.nOps,
            nTeacher: graph.nTeacher,
            totalSteps: graph.totalSteps,
            stateBefore: g.stateBefore,
            opRoot: g.opRoot,
            teacherRoot: graph.teacherRoot,
            scalarRoot: graph.scalarRoot,
            taskId: g.taskId,
            sampleRoot: graph.sampleRoot,
            seed: graph.seed,
            numSamples: graph.numSamples,
            batchSize: graph.batchSize,
            seqLen: graph.seqLen
        });
    }
}
