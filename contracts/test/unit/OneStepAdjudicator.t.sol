// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {RefereePlayers} from "../shared/RefereePlayers.sol";
import {Fault} from "../shared/RefereeFixture.sol";
import {IOneStepAdjudicator, Opening, KeptProof} from "../../src/interfaces/IOneStepAdjudicator.sol";
import {IStepAdjudicator} from "../../src/interfaces/IStepAdjudicator.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";
import {OneStepAdjudicator} from "../../src/OneStepAdjudicator.sol";
import {TraceMerkleBuilder} from "../support/TraceMerkleBuilder.sol";
import {TraceMerkle} from "../../src/libraries/TraceMerkle.sol";
import {TensorTrees} from "../support/TensorTrees.sol";
import {Float32Cheats} from "../libraries/Float32Cheats.sol";
import {StepOp} from "../../src/referee/StepOp.sol";
import {TaskId, DisputeId, Outcome, SegmentRoots} from "../../src/types/Ids.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";
import {GamePhase, GameView, StepGraph} from "../../src/types/RefereeTypes.sol";

/// @notice Whole referee games on the synthetic step (RefereeFixture) with exact books.
contract OneStepAdjudicatorTest is RefereePlayers {
    function _game(Fault f) internal returns (DisputeId d, Outcome result) {
        _nodeCommits(f);
        _snapshotBooks();
        d = _open();
        result = _play(d);
    }

    /// @dev One fma of one element rounds wrong: the game narrows to it and the node loses.
    function test_game_wrongFma_succeeds() public {
        (DisputeId d, Outcome result) = _game(Fault.WrongFma);
        assertEq(uint256(result), uint256(Outcome.NodeWrong));
        GameView memory g = referee.game(d);
        assertEq(g.opIndex, 0);
        assertEq(g.element, E);
        _assertBooks(result);
    }

    /// @dev The node read A[m,1] + 1 for one element: the input opened from the state before the
    ///      step gives another fma, and the node loses.
    function test_game_wrongInput_succeeds() public {
        (DisputeId d, Outcome result) = _game(Fault.WrongInput);
        assertEq(uint256(result), uint256(Outcome.NodeWrong));
        assertEq(referee.game(d).element, E);
        _assertBooks(result);
    }

    /// @dev Every op is right but the state after keeps the old Y: pickFinal settles it.
    function test_game_staleState_succeeds() public {
        (DisputeId d, Outcome result) = _game(Fault.StaleState);
        assertEq(uint256(result), uint256(Outcome.NodeWrong));
        assertEq(referee.game(d).opIndex, N_OPS - 1);
        _assertBooks(result);
    }

    /// @dev The first step of a segment: the state before is the last leaf of the segment before.
    function test_game_firstStepOfSegment_succeeds() public {
        T = SEG + 1;
        (DisputeId d, Outcome result) = _game(Fault.WrongFma);
        assertEq(uint256(result), uint256(Outcome.NodeWrong));
        assertEq(referee.game(d).element, E);
        _assertBooks(result);
    }

    /// @dev The roots an open names are checked against the market's digest of segment k's
    ///      commitment: a made-up end state (or trace root) is refused.
    function test_openDispute_wrongRoots_reverts() public {
        _nodeCommits(Fault.WrongFma);
        SegmentRoots memory r = committedRoots[1];
        bytes32[] memory l = _segmentLeaves(1, nodeAfter);
        bytes32[] memory proof = TraceMerkleBuilder.buildProof(l, T - SEG - 1);
        r.endStateHash = keccak256("made-up end state");
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentRootsMismatch.selector, taskId, 1));
        referee.openDispute(taskId, 1, r, committedRoots[0], T, l[T - SEG - 1], proof);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentRootsMismatch.selector, taskId, 1));
        referee.openEndStateDispute(taskId, 1, r, committedRoots[0]);
    }

    /// @dev At the first step of a segment the state before is anchored in segment k-1's trace:
    ///      its roots (`previous`) are checked against the market's digest of segment k-1 too.
    function test_openDispute_firstStepWrongPrevious_reverts() public {
        T = SEG + 1;
        _nodeCommits(Fault.WrongFma);
        bytes32[] memory l = _segmentLeaves(1, nodeAfter);
        bytes32[] memory proof = TraceMerkleBuilder.buildProof(l, 0);
        SegmentRoots memory prev = committedRoots[0];
        prev.traceRoot = keccak256("another trace");
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentRootsMismatch.selector, taskId, 0));
        referee.openDispute(taskId, 1, committedRoots[1], prev, T, l[0], proof);
    }

    /// @dev The task's first step: the state before is the graph's initial state (no proof).
    function test_game_firstStepOfTask_succeeds() public {
        T = 1;
        (, Outcome result) = _game(Fault.WrongInput);
        assertEq(uint256(result), uint256(Outcome.NodeWrong));
        _assertBooks(result);
    }

    /// @dev An end-state dispute (the leaf computed from the committed end state hash) runs the
    ///      same game: a state after that keeps the old tensor loses.
    function test_game_endStateDispute_succeeds() public {
        T = 2 * SEG;
        _nodeCommits(Fault.StaleState);
        _snapshotBooks();
        vm.prank(challenger);
        DisputeId d = referee.openEndStateDispute(taskId, 1, committedRoots[1], committedRoots[0]);
        assertEq(referee.game(d).step, T);
        Outcome result = _play(d);
        assertEq(uint256(result), uint256(Outcome.NodeWrong));
        _assertBooks(result);
        // The lost segment reopened the task: the node's commitment is gone with it.
        assertFalse(market.segment(taskId, 1).committed);
    }

    /// @dev One unresolved end-state dispute per commitment.
    function test_openEndStateDispute_secondWhileOpen_reverts() public {
        T = 2 * SEG;
        _nodeCommits(Fault.None);
        vm.prank(challenger);
        DisputeId d = referee.openEndStateDispute(taskId, 1, committedRoots[1], committedRoots[0]);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IStepAdjudicator.EndStateDisputeOpen.selector, taskId, 1, d));
        referee.openEndStateDispute(taskId, 1, committedRoots[1], committedRoots[0]);
    }

    /// @dev The state after changes A, which the step keeps: disputeKept settles it.
    function test_game_alteredKeptTensor_succeeds() public {
        (DisputeId d, Outcome result) = _game(Fault.AlteredKept);
        assertEq(uint256(result), uint256(Outcome.NodeWrong));
        assertEq(uint256(referee.game(d).phase), uint256(GamePhase.Resolved));
        _assertBooks(result);
    }

    /// @dev An unchanged kept tensor cannot be disputed (StateOutAgrees).
    function test_disputeKept_unchanged_reverts() public {
        _nodeCommits(Fault.None);
        DisputeId d = _open();
        _nodeMove(d);
        _nodeMove(d);
        bytes32[] memory theirs = _nodeAfterLeaves();
        KeptProof memory p;
        (p.slot, p.from) = (2, 2);
        p.finalProof = TensorTrees.proof(finalLeaves(), 2);
        (p.afterLeaf, p.afterProof) = (theirs[2], TensorTrees.proof(theirs, 2));
        (p.beforeLeaf, p.beforeProof) = (theirs[2], TensorTrees.proof(_stateLeaves(stateT[0], T - 1), 2));
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.StateOutAgrees.selector, d, 2));
        referee.disputeKept(d, p);
    }

    /// @dev A challenger disputing an honest leaf and checking every kind of step loses its bond.
    function test_game_griefingChallenger_succeeds() public {
        _nodeCommits(Fault.None);
        _snapshotBooks();
        DisputeId d = _open();
        // Griefer: descends to op 1 (MUL), chunk 2, lane 7, and checks step 0.
        _nodeMove(d);
        _walk(d, 1, 2);
        GameView memory g = referee.game(d);
        _nameElement(d, g, 7);
        _nodeMove(d);
        g = referee.game(d);
        Outcome result = _checkStep(d, g, 0, _nodeProgram(1, g.element));
        assertEq(uint256(result), uint256(Outcome.NodeRight));
        _assertBooks(result);
    }

    /// @dev Against an honest node, each step of the GEMM chain and its bias add checks out.
    function test_checkStep_honestGemmEveryStep_succeeds() public {
        _nodeCommits(Fault.None);
        for (uint256 s; s < 5; ++s) {
            DisputeId d = _open();
            _nodeMove(d);
            _walk(d, 0, 1);
            GameView memory g = referee.game(d);
            _nameElement(d, g, 89);
            _nodeMove(d);
            g = referee.game(d);
            assertEq(uint256(_checkStep(d, g, s, _nodeProgram(0, E))), uint256(Outcome.NodeRight));
        }
    }

    /// @dev The state after holds op 8's output: disputing it reverts StateOutAgrees.
    function test_pickFinal_honestState_reverts() public {
        _nodeCommits(Fault.None);
        DisputeId d = _open();
        _nodeMove(d);
        _walkOps(d, N_OPS - 1, 1);
        bytes32[] memory theirs = _nodeAfterLeaves();
        bytes32[] memory fp = TensorTrees.proof(finalLeaves(), 0);
        bytes32[] memory sp = TensorTrees.proof(theirs, 0);
        bytes32[] memory nodes = revealed;
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.StateOutAgrees.selector, d, 0));
        referee.pickFinal(d, nodes, 0, 0, fp, theirs[0], sp);
    }

    /// @dev A final ref the graph does not have (tensor 1 is A, not op 8) is refused.
    function test_pickFinal_wrongSlot_reverts() public {
        _nodeCommits(Fault.StaleState);
        DisputeId d = _open();
        _nodeMove(d);
        _walkOps(d, N_OPS - 1, 1);
        bytes32[] memory theirs = _nodeAfterLeaves();
        bytes32[] memory fp = TensorTrees.proof(finalLeaves(), 1);
        bytes32[] memory sp = TensorTrees.proof(theirs, 1);
        bytes32[] memory nodes = revealed;
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.NotFinalOutput.selector, d, 1, N_OPS - 1));
        referee.pickFinal(d, nodes, 0, 1, fp, theirs[1], sp);
    }

    /// @dev The challenger picks ops down to leaf `target`, stopping `stopAt` levels above it.
    function _walkOps(DisputeId d, uint256 target, uint256 stopAt) internal {
        while (true) {
            GameView memory g = referee.game(d);
            if (g.phase == GamePhase.OpSplit) {
                _nodeMove(d);
                continue;
            }
            if (g.phase != GamePhase.OpPick || g.depthLeft <= stopAt) return;
            _pick(d, _toward(target, g.depthLeft), "pick(op)");
        }
    }

    /// @dev Descends to op `i`, chunk `c`, and lets the node reveal the chunk.
    function _walk(DisputeId d, uint256 i, uint256 c) internal {
        _walkOps(d, i, 0);
        _nodeMove(d); // shape
        while (true) {
            GameView memory g = referee.game(d);
            if (g.phase == GamePhase.ChunkSplit || g.phase == GamePhase.Chunk) {
                _nodeMove(d);
                continue;
            }
            if (g.phase != GamePhase.ChunkPick) return;
            _pick(d, _toward(c, g.depthLeft), "pick(chunk)");
        }
    }

    // ------------------------------------------------------------------ timeouts

    /// @dev Plays honestly until `phase`, lets its deadline pass and resolves.
    function _timeoutAt(Fault f, GamePhase phase) internal returns (Outcome result) {
        _nodeCommits(f);
        _snapshotBooks();
        DisputeId d = _open();
        for (uint256 i; i < 64; ++i) {
            GameView memory g = referee.game(d);
            if (g.phase == phase) break;
            if (g.nodeToMove) _nodeMove(d);
            else _challengerMove(d);
        }
        GameView memory at = referee.game(d);
        assertEq(uint256(at.phase), uint256(phase), "reached");
        vm.roll(at.deadline);
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.DeadlineNotPassed.selector, d, at.deadline));
        referee.resolve(d);
        vm.roll(at.deadline + 1);
        result = referee.resolve(d);
        assertEq(uint256(result), uint256(at.nodeToMove ? Outcome.NodeWrong : Outcome.NodeRight), "loser");
        _assertBooks(result);
    }

    /// @dev A node that never posts its trace loses.
    function test_resolve_nodeMissesTrace_succeeds() public {
        _timeoutAt(Fault.None, GamePhase.Trace);
    }

    /// @dev A node that stops answering the op bisection loses.
    function test_resolve_nodeMissesOpSplit_succeeds() public {
        _timeoutAt(Fault.WrongFma, GamePhase.OpSplit);
    }

    /// @dev A node that does not open its op output loses.
    function test_resolve_nodeMissesShape_succeeds() public {
        _timeoutAt(Fault.WrongFma, GamePhase.Shape);
    }

    /// @dev A node that stops answering the chunk bisection loses.
    function test_resolve_nodeMissesChunkSplit_succeeds() public {
        _timeoutAt(Fault.WrongFma, GamePhase.ChunkSplit);
    }

    /// @dev A node that withholds the chunk loses (data unavailable is a loss).
    function test_resolve_nodeMissesChunk_succeeds() public {
        _timeoutAt(Fault.WrongFma, GamePhase.Chunk);
    }

    /// @dev A node that does not post the element's program loses.
    function test_resolve_nodeMissesProgram_succeeds() public {
        _timeoutAt(Fault.WrongFma, GamePhase.Program);
    }

    /// @dev A challenger that stops picking ops loses its bond.
    function test_resolve_challengerMissesOpPick_succeeds() public {
        _timeoutAt(Fault.WrongFma, GamePhase.OpPick);
    }

    /// @dev A challenger that stops picking chunks loses its bond.
    function test_resolve_challengerMissesChunkPick_succeeds() public {
        _timeoutAt(Fault.WrongFma, GamePhase.ChunkPick);
    }

    /// @dev A challenger that names no element loses its bond.
    function test_resolve_challengerMissesElement_succeeds() public {
        _timeoutAt(Fault.WrongFma, GamePhase.Element);
    }

    /// @dev A challenger that checks no step loses its bond.
    function test_resolve_challengerMissesStep_succeeds() public {
        _timeoutAt(Fault.WrongFma, GamePhase.Step);
    }

    // ------------------------------------------------------------------ reverts

    /// @dev Only the party to move may move.
    function test_split_byChallenger_reverts() public {
        _nodeCommits(Fault.WrongFma);
        DisputeId d = _open();
        _nodeMove(d);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.NotYourMove.selector, d, challenger));
        referee.split(d, new bytes32[](8));
    }

    /// @dev A move after its deadline is refused (resolve instead).
    function test_postTrace_late_reverts() public {
        _nodeCommits(Fault.None);
        DisputeId d = _open();
        uint256 deadline = referee.game(d).deadline;
        vm.roll(deadline + 1);
        bytes32[] memory none;
        vm.prank(node);
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.MoveTooLate.selector, d, deadline));
        referee.postTrace(d, stateBefore, none, nodeAfter, none, bytes32(0));
    }

    /// @dev A state after that does not give the disputed leaf is refused.
    function test_postTrace_otherStateAfter_reverts() public {
        _nodeCommits(Fault.WrongFma);
        DisputeId d = _open();
        bytes32[] memory proof = _beforeProof();
        bytes32[] memory leaves = _stateLeaves(honestOut[2], T);
        bytes32 claimed = referee.game(d).nodeLeaf;
        bytes32 got = TraceMerkle.leaf(TaskId.unwrap(taskId), T, honestAfter);
        vm.prank(node);
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.NotCommitted.selector, d, claimed, got));
        referee.postTrace(d, stateBefore, proof, honestAfter, leaves, bytes32(0));
    }

    /// @dev A state before that is not the node's leaf T-1 is refused.
    function test_postTrace_otherStateBefore_reverts() public {
        _nodeCommits(Fault.WrongFma);
        DisputeId d = _open();
        bytes32[] memory proof = _beforeProof();
        bytes32[] memory leaves = _nodeAfterLeaves();
        vm.prank(node);
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.StateBeforeNotProven.selector, d, T - 1));
        referee.postTrace(d, honestAfter, proof, nodeAfter, leaves, bytes32(0));
    }

    /// @dev Children that do not hash to the node under dispute are refused.
    function test_split_wrongPair_reverts() public {
        _nodeCommits(Fault.WrongFma);
        DisputeId d = _open();
        _nodeMove(d);
        bytes32 opRoot = referee.game(d).opRoot;
        bytes32[] memory nodes = new bytes32[](8);
        nodes[1] = bytes32(uint256(1));
        bytes32 got = TensorTrees.root(nodes);
        vm.prank(node);
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.NotCommitted.selector, d, opRoot, got));
        referee.split(d, nodes);
    }

    /// @dev An input opened from the wrong state slot is refused.
    function test_checkStep_wrongOpening_reverts() public {
        _nodeCommits(Fault.WrongFma);
        DisputeId d = _open();
        for (uint256 i; i < 64 && referee.game(d).phase != GamePhase.Step; ++i) {
            if (referee.game(d).nodeToMove) _nodeMove(d);
            else _challengerMove(d);
        }
        GameView memory g = referee.game(d);
        Opening[] memory w = _openings(0, E, 2);
        w[0] = _stateOpening(2, 0);
        StepOp memory o = op(0);
        bytes memory r = _pack(_nodeProgram(0, E));
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.InputNotProven.selector, d, 0, 4 + 2));
        referee.checkStep(d, 2, o, r, w);
        assertEq(uint256(g.phase), uint256(GamePhase.Step));
    }

    /// @dev A task without a step graph cannot be disputed here (it belongs to the jury).
    function test_openDispute_noStepGraph_reverts() public {
        vm.prank(requester);
        TaskId other = market.createTask("bafyspec", keccak256("spec2"), REWARD, _taskParams());
        bytes32[] memory proof;
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.NoStepGraph.selector, other));
        referee.openDispute(other, 0, committedRoots[0], committedRoots[0], 1, bytes32(0), proof);
    }

    /// @dev The roots are fixed at creation: not even the requester can register (or change) them later.
    function test_registerStepGraph_requester_reverts() public {
        StepGraph memory g = graph();
        g.teacherRoot = keccak256("another teacher");
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.GraphNotRegistrable.selector, taskId));
        referee.registerStepGraph(taskId, g);
        assertEq(referee.stepGraph(taskId).teacherRoot, graph().teacherRoot);
    }

    /// @dev A jury task cannot be given a graph afterwards (by anyone but the market, which never does).
    function test_registerStepGraph_juryTask_reverts() public {
        vm.prank(requester);
        TaskId other = market.createTask("bafyspec", keccak256("spec2"), REWARD, _taskParams());
        StepGraph memory g = graph();
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.GraphNotRegistrable.selector, other));
        referee.registerStepGraph(other, g);
    }

    /// @dev createTaskWithGraph records the graph with the task, in one transaction, for the referee.
    function test_createTaskWithGraph_recordsRoots_succeeds() public {
        StepGraph memory g = graph();
        TaskId next = TaskId.wrap(market.taskCount() + 1);
        vm.expectEmit(true, false, false, true, address(market));
        emit ITaskMarket.TaskAdjudicator(next, address(referee), true);
        vm.expectEmit(true, false, false, true, address(referee));
        emit IOneStepAdjudicator.StepGraphRegistered(next, g);
        vm.prank(requester);
        TaskId id = market.createTaskWithGraph("bafyspec", keccak256("spec2"), REWARD, _taskParams(), g);
        assertEq(TaskId.unwrap(id), TaskId.unwrap(next));
        assertEq(market.adjudicatorOf(id), address(referee));
        assertEq(keccak256(abi.encode(referee.stepGraph(id))), keccak256(abi.encode(g)));
    }

    /// @dev A graph whose totalSteps is not the task's is refused, and the whole creation with it.
    function test_createTaskWithGraph_wrongTotalSteps_reverts() public {
        StepGraph memory g = graph();
        g.totalSteps = TOTAL * 2;
        uint256 before = token.balanceOf(requester);
        uint256 count = market.taskCount();
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.BadGraph.selector, TaskId.wrap(count + 1)));
        market.createTaskWithGraph("bafyspec", keccak256("spec2"), REWARD, _taskParams(), g);
        assertEq(token.balanceOf(requester), before);
        assertEq(market.taskCount(), count);
    }

    /// @dev The jury cannot open, count or settle a dispute on a refereed task: no wei moves.
    function test_openDispute_juryOnRefereedTask_reverts() public {
        _nodeCommits(Fault.WrongFma);
        _snapshotBooks();
        (uint256 k, uint256 i) = (_seg(T), _idx(T));
        bytes32[] memory l = _segmentLeaves(k, nodeAfter);
        bytes32[] memory proof = TraceMerkleBuilder.buildProof(l, i);
        bytes memory refused =
            abi.encodeWithSelector(ITaskMarket.NotTaskAdjudicator.selector, taskId, address(jury), address(referee));
        vm.startPrank(challenger);
        token.approve(address(jury), type(uint256).max);
        vm.expectRevert(refused);
        jury.openDispute(taskId, k, committedRoots[k], _previousRoots(k), T, l[i], proof);
        vm.expectRevert(refused);
        jury.openEndStateDispute(taskId, k, committedRoots[k], _previousRoots(k));
        vm.stopPrank();
        vm.prank(address(jury));
        vm.expectRevert(refused);
        market.noteDisputeResolved(DisputeId.wrap(1), taskId, k, 0, node, Outcome.NodeWrong);
        assertEq(token.balanceOf(challenger), challengerBal);
        assertEq(token.balanceOf(requester), requesterBal);
        assertEq(stakes.stakeInfo(node).staked, nodeStaked);
        assertEq(market.task(taskId).openDisputes, 0);
    }

    /// @dev The game is bounded: the longest dispute fits the unbonding delay with the widest window.
    function test_longestDispute_fitsUnbonding_succeeds() public view {
        uint256 moves = 6 + 2 * (4 + 7);
        assertEq(referee.longestDispute(), moves * rp.moveBlocks);
        assertLt(referee.longestDispute() + dp.market.maxChallengeWindow, dp.unbondingBlocks);
    }

    // ------------------------------------------------------------------ gas

    /// @dev Gas of every move of a whole game (wrong fma, the longest path here), kept in
    ///      snapshots/OneStepAdjudicatorTest.json: execution gas, and the transaction estimate
    ///      (+ base and calldata); the game stays under 3M and each transaction under 5M.
    function test_game_gas_succeeds() public {
        (, Outcome result) = _game(Fault.WrongFma);
        assertEq(uint256(result), uint256(Outcome.NodeWrong));
        (uint256 total, uint256 most) = _totalGas();
        Float32Cheats cheats = Float32Cheats(address(vm));
        uint256 exec;
        for (uint256 i; i < moveGas.length; ++i) {
            string memory key = string.concat("move", i < 10 ? "0" : "", vm.toString(i), "_", moveName[i]);
            cheats.snapshotValue(key, moveGas[i]);
            cheats.snapshotValue(string.concat(key, "_tx"), moveTxGas[i]);
            exec += moveGas[i];
        }
        cheats.snapshotValue("game_exec", exec);
        cheats.snapshotValue("game_tx", total);
        cheats.snapshotValue("game_moves", moveGas.length);
        assertLe(total, 3_000_000, "whole game");
        assertLe(most, 5_000_000, "one transaction");
    }
}
