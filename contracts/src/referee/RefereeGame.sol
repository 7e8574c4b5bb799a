// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IOneStepAdjudicator, KeptProof} from "../interfaces/IOneStepAdjudicator.sol";
import {TensorCommit} from "../libraries/TensorCommit.sol";
import {TraceMerkle} from "../libraries/TraceMerkle.sol";
import {StepOp, StepOps} from "./StepOp.sol";
import {Programs} from "./Programs.sol";
import {StepEvaluator} from "./StepEvaluator.sol";
import {TaskId, DisputeId, Outcome} from "../types/Ids.sol";
import {StepGraph, GamePhase, GameView} from "../types/RefereeTypes.sol";

/// @title RefereeGame
/// @notice The referee game's state and its bisection moves (docs/referee.md "The game"). A move
///         returns Outcome.None while the game goes on, or the outcome it decides.
library RefereeGame {
    /// @dev Most levels of a chunk bisection: outputs up to 2^28 elements (2^20 chunks).
    uint256 internal constant MAX_CHUNK_DEPTH = 20;
    /// @dev Tree levels per bisection round (the node reveals up to 2^3 = 8 nodes per round).
    uint256 internal constant ROUND_LEVELS = 3;

    /// @dev Packed so that a bisection move reads and writes few slots: the header (phase, path,
    ///      deadline) is one slot, the tree node under dispute (cursor) another.
    struct Game {
        address challenger;
        uint64 step;
        uint32 k;
        address node;
        uint32 epoch;
        uint64 taskId;
        // header
        GamePhase phase;
        uint8 depthLeft;
        bool inChunks;
        uint32 index;
        uint32 opIndex;
        uint64 deadline;
        Outcome outcome;
        // the element under dispute
        uint64 numel;
        uint32 programLength;
        // Leaf t-1 is proven at anchorIndex (depth anchorDepth) of the trace root kept in
        // stateBefore until the node posts its trace.
        uint32 anchorIndex;
        uint8 anchorDepth;
        uint64 element;
        uint32 bits;
        // Leading steps of the element's program with 8-byte (binary64) results.
        uint8 wideSteps;
        bytes32 nodeLeaf;
        bytes32 stateBefore;
        bytes32 stateAfter;
        bytes32 opRoot;
        bytes32 cursor;
        // keccak of the output dims after revealShape, of the op after nameElement.
        bytes32 opId;
        bytes32 resultsHash;
    }

    /// @notice Whether the node is the party to move in `phase`.
    function nodeToMove(GamePhase phase) internal pure returns (bool) {
        return phase == GamePhase.Trace || phase == GamePhase.OpSplit || phase == GamePhase.Shape
            || phase == GamePhase.ChunkSplit || phase == GamePhase.Chunk || phase == GamePhase.Program;
    }

    /// @notice Reverts unless `before` is the node's state hash of step t-1 (its leaf t-1, proven
    ///         by `proof` in the trace root kept at open; or the task's initial state for t = 1).
    function checkBefore(Game storage g, DisputeId id, bytes32 initialState, bytes32 before, bytes32[] calldata proof)
        internal
        view
    {
        uint256 t = g.step;
        // INVARIANT: the state before the step is the node's own leaf t-1 (or the task's start).
        bool ok = t == 1
            ? before == initialState && proof.length == 0
            : proof.length == g.anchorDepth
                && TraceMerkle.verifyCalldata(
                    proof, g.stateBefore, TraceMerkle.leaf(g.taskId, t - 1, before), g.anchorIndex
                );
        if (!ok) revert IOneStepAdjudicator.StateBeforeNotProven(id, t - 1);
    }

    /// @notice The node's trace of step t: state hashes v2 before (checked by checkBefore) and
    ///         after (it must give the disputed leaf; its leaves must rebuild it), and its opRoot.
    function postTrace(
        Game storage g,
        DisputeId id,
        StepGraph storage graph,
        bytes32 before,
        bytes32 afterState,
        bytes32[] calldata afterLeaves,
        bytes32 opRoot
    ) internal {
        bytes32 leaf = TraceMerkle.leaf(g.taskId, g.step, afterState);
        if (leaf != g.nodeLeaf) revert IOneStepAdjudicator.NotCommitted(id, g.nodeLeaf, leaf);
        // INVARIANT: the state after is published tensor by tensor (its leaves rebuild it).
        if (afterLeaves.length != uint256(graph.nState) + 1 || TensorCommit.rootOf(afterLeaves) != afterState) {
            revert IOneStepAdjudicator.StateLeavesMismatch(id, afterState);
        }
        g.stateBefore = before;
        g.stateAfter = afterState;
        g.opRoot = opRoot;
        g.cursor = opRoot;
        g.depthLeft = uint8(TensorCommit.depthOf(graph.nOps));
        g.phase = GamePhase.OpSplit;
    }

    /// @notice Levels a bisection round descends: the node reveals the 2^width nodes that many
    ///         levels below the cursor, the challenger picks one (fewer levels near the bottom).
    function width(Game storage g) internal view returns (uint256) {
        uint256 d = g.depthLeft;
        return d < ROUND_LEVELS ? d : ROUND_LEVELS;
    }

    /// @notice Reverts unless `nodes` are the 2^width nodes below the tree node under dispute.
    function checkNodes(Game storage g, DisputeId id, bytes32[] calldata nodes) internal view returns (uint256 w) {
        w = width(g);
        if (nodes.length != 1 << w) revert IOneStepAdjudicator.NodeCount(id, nodes.length, 1 << w);
        bytes32 h = TensorCommit.rootOf(nodes);
        if (h != g.cursor) revert IOneStepAdjudicator.NotCommitted(id, g.cursor, h);
    }

    /// @notice The node revealed the nodes below the cursor (checked, logged, not stored: the pick
    ///         repeats them).
    function split(Game storage g, DisputeId id, bytes32[] calldata nodes) internal {
        checkNodes(g, id, nodes);
        g.phase = g.inChunks ? GamePhase.ChunkPick : GamePhase.OpPick;
    }

    /// @notice The challenger descends into revealed node `which`. At a leaf that is tree padding
    ///         the node's value must be zero: a non-zero one loses it the game.
    function pick(
        Game storage g,
        DisputeId id,
        mapping(TaskId => StepGraph) storage graphs,
        bytes32[] calldata nodes,
        uint256 which
    ) internal returns (Outcome) {
        uint256 w = checkNodes(g, id, nodes);
        if (which >= nodes.length) revert IOneStepAdjudicator.NodeCount(id, which, nodes.length);
        bytes32 child = nodes[which];
        uint256 index = (uint256(g.index) << w) | which;
        uint256 depth = g.depthLeft - w;
        g.cursor = child;
        g.index = uint32(index);
        g.depthLeft = uint8(depth);
        bool chunks = g.inChunks;
        if (depth != 0) {
            g.phase = chunks ? GamePhase.ChunkSplit : GamePhase.OpSplit;
            return Outcome.None;
        }
        uint256 count = chunks ? TensorCommit.chunkCount(g.numel) : graphs[TaskId.wrap(g.taskId)].nOps;
        if (index >= count) {
            // INVARIANT: padding leaves are zero hashes; a node that put anything there is wrong.
            if (child != bytes32(0)) return Outcome.NodeWrong;
            revert IOneStepAdjudicator.PaddingAgrees(id, index);
        }
        if (chunks) {
            g.phase = GamePhase.Chunk;
        } else {
            g.opIndex = uint32(index);
            g.phase = GamePhase.Shape;
        }
        return Outcome.None;
    }

    /// @notice Reverts unless `op` is leaf `index` of the graph of step `step` (step 1 has a graph
    ///         of its own when graphRoot1 is set: AdamW reads Const(0) moments there).
    function checkOp(
        DisputeId id,
        StepGraph storage graph,
        uint256 step,
        StepOp calldata op,
        bytes32[] calldata proof,
        uint256 index
    ) internal view {
        bytes32 root = step == 1 && graph.graphRoot1 != bytes32(0) ? graph.graphRoot1 : graph.graphRoot;
        if (op.index != index || !TensorCommit.verify(proof, root, StepOps.leaf(op), index, graph.nOps)) {
            revert IOneStepAdjudicator.OpNotInGraph(id, index);
        }
    }

    /// @notice After the last op pick: state tensor j after the step is op i's output (the
    ///         graph's final refs say so) but the state after holds `stateLeaf` there, not op i's
    ///         output commitment (the cursor): reverts unless that is proven.
    function finalMismatch(
        Game storage g,
        DisputeId id,
        StepGraph storage graph,
        uint256 j,
        bytes32[] calldata finalProof,
        bytes32 stateLeaf,
        bytes32[] calldata stateProof
    ) internal view {
        uint256 i = g.opIndex;
        bytes32 leaf = sha256(abi.encodePacked(uint32(j), StepOps.REF_OP, uint32(i)));
        if (!TensorCommit.verify(finalProof, graph.finalRoot, leaf, j, graph.nState)) {
            revert IOneStepAdjudicator.NotFinalOutput(id, j, i);
        }
        if (!TensorCommit.verify(stateProof, g.stateAfter, stateLeaf, j, uint256(graph.nState) + 1)) {
            revert IOneStepAdjudicator.NotCommitted(id, g.stateAfter, stateLeaf);
        }
        if (stateLeaf == g.cursor) revert IOneStepAdjudicator.StateOutAgrees(id, j);
    }

    /// @notice Reverts unless a state tensor the graph keeps (final ref State(from)) differs
    ///         between the state before and the node's state after.
    function keptMismatch(Game storage g, DisputeId id, StepGraph storage graph, KeptProof calldata p) internal view {
        uint256 n = graph.nState;
        bytes32 leaf = sha256(abi.encodePacked(uint32(p.slot), StepOps.REF_STATE, uint32(p.from)));
        if (!TensorCommit.verify(p.finalProof, graph.finalRoot, leaf, p.slot, n) || p.from >= n) {
            revert IOneStepAdjudicator.NotFinalOutput(id, p.slot, p.from);
        }
        if (!TensorCommit.verify(p.afterProof, g.stateAfter, p.afterLeaf, p.slot, n + 1)) {
            revert IOneStepAdjudicator.NotCommitted(id, g.stateAfter, p.afterLeaf);
        }
        if (!TensorCommit.verify(p.beforeProof, g.stateBefore, p.beforeLeaf, p.from, n + 1)) {
            revert IOneStepAdjudicator.NotCommitted(id, g.stateBefore, p.beforeLeaf);
        }
        if (p.afterLeaf == p.beforeLeaf) revert IOneStepAdjudicator.StateOutAgrees(id, p.slot);
    }

    /// @notice The node opens op i's output commitment (the cursor) to its chunk root and shape.
    function revealShape(Game storage g, DisputeId id, bytes32 root, uint32[] calldata dims) internal {
        bytes32 c = TensorCommit.bindShape(root, dims);
        if (c != g.cursor) revert IOneStepAdjudicator.NotCommitted(id, g.cursor, c);
        uint256 n = TensorCommit.numel(dims);
        uint256 depth = TensorCommit.depthOf(TensorCommit.chunkCount(n));
        if (depth > MAX_CHUNK_DEPTH) revert TensorCommit.ShapeTooLarge(dims.length);
        g.numel = uint64(n);
        g.opId = keccak256(abi.encode(dims));
        g.cursor = root;
        g.index = 0;
        g.depthLeft = uint8(depth);
        g.inChunks = true;
        g.phase = depth == 0 ? GamePhase.Chunk : GamePhase.ChunkSplit;
    }

    /// @notice The challenger names element `lane` of the revealed chunk and reveals op i. A shape
    ///         other than the graph's, or a non-zero padding element, decides against the node.
    ///         The program's length comes from the evaluator (the adjudicator has no room for it).
    function nameElement(
        Game storage g,
        DisputeId id,
        uint256 lane,
        bytes calldata chunk,
        StepOp calldata op,
        StepEvaluator evaluator
    ) internal returns (Outcome) {
        bytes32 h = TensorCommit.chunkLeaf(chunk);
        if (h != g.cursor) revert IOneStepAdjudicator.NotCommitted(id, g.cursor, h);
        uint32 bits = TensorCommit.element(chunk, lane);
        // INVARIANT: the node's output has the graph's shape.
        if (keccak256(abi.encode(op.dims)) != g.opId) return Outcome.NodeWrong;
        uint256 e = uint256(g.index) * TensorCommit.CHUNK_ELEMS + lane;
        if (e >= g.numel) {
            // INVARIANT: the last chunk is zero-padded.
            if (bits != 0) return Outcome.NodeWrong;
            revert IOneStepAdjudicator.PaddingAgrees(id, e);
        }
        g.element = uint64(e);
        g.bits = bits;
        // EMBED_BWD's length depends on the ids: 0 marks it (ProgramsEmbed's results layout;
        // the StepEvaluator checks its attrs).
        g.programLength = uint32(evaluator.programLength(op, e));
        g.wideSteps = uint8(Programs.wideSteps(op.kind));
        g.opId = StepOps.id(op);
        g.phase = GamePhase.Program;
        return Outcome.None;
    }

    /// @notice The node posts its program results (Programs.resultAt's layout); the last must be
    ///         the element it revealed. A data-dependent program (length 0: EMBED_BWD) posts its
    ///         results then its positions.
    function postProgram(Game storage g, DisputeId id, bytes calldata results) internal {
        uint256 n = g.programLength;
        uint256 w = g.wideSteps;
        uint256 len = results.length;
        // 4 bytes a step, 8 for each of the w binary64 steps (the last step is binary32)
        uint256 size = 4 * (n + w);
        if (n == 0) {
            // r_0..r_{n-1} ++ p_0..p_{m-1}, n = max(m, 1): 4 bytes, or a positive multiple of 8.
            if (len != 4 && (len == 0 || len % 8 != 0)) revert IOneStepAdjudicator.ProgramMismatch(id, 8, len);
            n = len == 4 ? 1 : len / 8;
            size = len;
        } else if (len != size) {
            revert IOneStepAdjudicator.ProgramMismatch(id, size, len);
        }
        if (Programs.resultAt(results, n - 1, w) != g.bits) revert IOneStepAdjudicator.ProgramMismatch(id, size, len);
        g.resultsHash = keccak256(results);
        g.phase = GamePhase.Step;
    }

    /// @notice The game as bots read it.
    function toView(Game storage g) internal view returns (GameView memory v) {
        v.taskId = g.taskId;
        v.segment = g.k;
        v.step = g.step;
        v.node = g.node;
        v.challenger = g.challenger;
        v.taskEpoch = g.epoch;
        v.phase = g.phase;
        v.deadline = g.deadline;
        v.nodeToMove = RefereeGame.nodeToMove(g.phase);
        v.nodeLeaf = g.nodeLeaf;
        v.stateBefore = g.stateBefore;
        v.stateAfter = g.stateAfter;
        v.opRoot = g.opRoot;
        v.cursor = g.cursor;
        v.depthLeft = g.depthLeft;
        v.index = g.index;
        v.opIndex = g.opIndex;
        v.element = g.element;
        v.claimedBits = g.bits;
        v.programLength = g.programLength;
    }
}
