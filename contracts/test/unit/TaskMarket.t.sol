// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture, Traces} from "../shared/Fixture.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";
import {IStakeManager} from "../../src/interfaces/IStakeManager.sol";
import {TaskMarket} from "../../src/TaskMarket.sol";
import {TraceMerkle} from "../../src/libraries/TraceMerkle.sol";
import {TaskId, DisputeId, TaskParams, TaskStatus, TaskView, SegmentView} from "../../src/types/Ids.sol";

contract TaskMarketTest is Fixture {
    // ------------------------------------------------------------ createTask / cancelTask

    function test_createTask_escrowsAndEmits_succeeds() public {
        uint256 before = token.balanceOf(requester);
        vm.expectEmit(true, true, false, true, address(market));
        emit ITaskMarket.TaskCreated(TaskId.wrap(1), requester, "bafyspec", keccak256("spec"), REWARD, taskParams());
        TaskId id = _createTask();
        assertEq(TaskId.unwrap(id), 1);
        assertEq(before - token.balanceOf(requester), REWARD);
        assertEq(market.totalEscrow(), REWARD);
        assertEq(market.taskCount(), 1);
        TaskView memory t = market.task(id);
        assertEq(t.requester, requester);
        assertEq(uint256(t.status), uint256(TaskStatus.Open));
        assertEq(t.params.segmentSteps, SEG);
        assertEq(market.segmentCount(id), TOTAL / SEG);
    }

    function test_createTask_badParams_reverts() public {
        TaskParams memory p = taskParams();
        vm.startPrank(requester);
        vm.expectRevert(ITaskMarket.ZeroHash.selector);
        market.createTask("x", bytes32(0), 1, p);
        p.segmentSteps = 12;
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentStepsNotPowerOfTwo.selector, 12));
        market.createTask("x", keccak256("s"), 1, p);
        p.segmentSteps = 0;
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentStepsNotPowerOfTwo.selector, 0));
        market.createTask("x", keccak256("s"), 1, p);
        p.segmentSteps = 16;
        p.totalSteps = 40;
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TotalStepsNotMultiple.selector, 40, 16));
        market.createTask("x", keccak256("s"), 1, p);
        p.segmentSteps = 1;
        p.totalSteps = 4097;
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TooManySegments.selector, 4097, 4096));
        market.createTask("x", keccak256("s"), 1, p);
        p.segmentSteps = 16;
        p.totalSteps = 64;
        p.challengeWindow = 0;
        vm.expectRevert(ITaskMarket.ZeroParam.selector);
        market.createTask("x", keccak256("s"), 1, p);
        vm.stopPrank();
    }

    function test_cancelTask_refunds_succeeds() public {
        TaskId id = _createTask();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NotRequester.selector, id, node));
        vm.prank(node);
        market.cancelTask(id);
        uint256 before = token.balanceOf(requester);
        vm.expectEmit(true, false, false, true, address(market));
        emit ITaskMarket.TaskCancelled(id, REWARD);
        vm.prank(requester);
        market.cancelTask(id);
        assertEq(token.balanceOf(requester) - before, REWARD);
        assertEq(market.totalEscrow(), 0);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.WrongStatus.selector, id, TaskStatus.Cancelled));
        vm.prank(requester);
        market.cancelTask(id);
    }

    function test_unknownTask_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.UnknownTask.selector, TaskId.wrap(9)));
        market.claimTask(TaskId.wrap(9));
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.UnknownTask.selector, TaskId.wrap(9)));
        market.task(TaskId.wrap(9));
    }

    // ------------------------------------------------------------ claimTask

    function test_claimTask_locksStake_succeeds() public {
        TaskId id = _createTask();
        vm.expectEmit(true, true, false, true, address(market));
        emit ITaskMarket.TaskClaimed(id, node, NODE_STAKE, 0, block.number + DEADLINE);
        vm.prank(node);
        market.claimTask(id);
        assertEq(stakes.stakeInfo(node).locked, NODE_STAKE);
        TaskView memory t = market.task(id);
        assertEq(t.node, node);
        assertEq(uint256(t.status), uint256(TaskStatus.Claimed));
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.WrongStatus.selector, id, TaskStatus.Claimed));
        vm.prank(node2);
        market.claimTask(id);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.WrongStatus.selector, id, TaskStatus.Claimed));
        market.cancelTask(id);
    }

    function test_claimTask_jailedOrUnderstaked_reverts() public {
        TaskId id = _createTask();
        vm.prank(address(jury));
        stakes.jail(node, block.number + 5);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NodeJailed.selector, node, block.number + 5));
        vm.prank(node);
        market.claimTask(id);
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.InsufficientStake.selector, challenger, 0, NODE_STAKE));
        vm.prank(challenger);
        market.claimTask(id);
    }

    // ------------------------------------------------------------ commitSegment

    function test_commitSegment_storesAndEmits_succeeds() public {
        TaskId id = _createAndClaim();
        bytes32[] memory l = Traces.leaves(1, 0, SEG, 0);
        bytes32 root = TraceMerkle.computeRoot(l);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.SegmentCommitted(id, 0, root, keccak256("end0"), "bafyckpt0", "bafyleaves0", node);
        vm.prank(node);
        market.commitSegment(id, 0, root, keccak256("end0"), "bafyckpt0", "bafyleaves0");
        SegmentView memory s = market.segment(id, 0);
        assertEq(s.traceRoot, root);
        assertEq(s.endStateHash, keccak256("end0"));
        assertEq(s.committedAt, block.number);
        assertTrue(s.committed);
        assertFalse(s.isFinal);
        assertEq(market.task(id).nextSegment, 1);
        assertEq(market.task(id).segmentDueBlock, block.number + DEADLINE);
    }

    function test_commitSegment_guards_revert() public {
        TaskId id = _createTask();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.WrongStatus.selector, id, TaskStatus.Open));
        vm.prank(node);
        market.commitSegment(id, 0, bytes32("r"), bytes32("e"), "", "");
        vm.prank(node);
        market.claimTask(id);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NotTaskNode.selector, id, node2));
        vm.prank(node2);
        market.commitSegment(id, 0, bytes32("r"), bytes32("e"), "", "");
        vm.startPrank(node);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentOutOfOrder.selector, id, 1, 0));
        market.commitSegment(id, 1, bytes32("r"), bytes32("e"), "", "");
        vm.expectRevert(ITaskMarket.ZeroHash.selector);
        market.commitSegment(id, 0, bytes32(0), bytes32("e"), "", "");
        market.commitSegment(id, 0, bytes32("r"), bytes32("e"), "", "");
        // INVARIANT under test: one commitment per segment.
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentOutOfOrder.selector, id, 0, 1));
        market.commitSegment(id, 0, bytes32("r2"), bytes32("e"), "", "");
        market.commitSegment(id, 1, bytes32("r"), bytes32("e"), "", "");
        market.commitSegment(id, 2, bytes32("r"), bytes32("e"), "", "");
        market.commitSegment(id, 3, bytes32("r"), bytes32("e"), "", "");
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentOutOfOrder.selector, id, 4, 4));
        market.commitSegment(id, 4, bytes32("r"), bytes32("e"), "", "");
        vm.stopPrank();
    }

    function test_commitSegment_afterDeadline_reverts() public {
        TaskId id = _createAndClaim();
        uint256 due = block.number + DEADLINE;
        vm.roll(due + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentDeadlinePassed.selector, id, due));
        vm.prank(node);
        market.commitSegment(id, 0, bytes32("r"), bytes32("e"), "", "");
    }

    // ------------------------------------------------------------ finality, claimReward

    function test_finality_and_claimReward_succeeds() public {
        TaskId id = _createAndClaim();
        for (uint256 k; k < 4; ++k) _commit(id, k, 0, node);
        assertFalse(market.isFinal(id, 0));
        (bool exists,) = market.lastFinalSegment(id);
        assertFalse(exists);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NotAllFinal.selector, id, 0));
        vm.prank(node);
        market.claimReward(id);
        vm.roll(block.number + WINDOW + 1);
        assertTrue(market.isFinal(id, 3));
        assertFalse(market.isFinal(id, 4));
        assertEq(market.finalSegmentCount(id), 4);
        (exists, ) = market.lastFinalSegment(id);
        assertTrue(exists);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NotTaskNode.selector, id, node2));
        vm.prank(node2);
        market.claimReward(id);
        uint256 before = token.balanceOf(node);
        vm.expectEmit(true, true, false, true, address(market));
        emit ITaskMarket.RewardClaimed(id, node, REWARD);
        vm.prank(node);
        market.claimReward(id);
        assertEq(token.balanceOf(node) - before, REWARD);
        assertEq(stakes.stakeInfo(node).locked, 0);
        assertEq(market.totalEscrow(), 0);
        // INVARIANT under test: no double claim.
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.WrongStatus.selector, id, TaskStatus.Completed));
        vm.prank(node);
        market.claimReward(id);
    }

    // ------------------------------------------------------------ timeoutStall

    function test_timeoutStall_slashesAndReopens_succeeds() public {
        TaskId id = _createAndClaim();
        _commit(id, 0, 0, node);
        vm.roll(block.number + WINDOW + 1); // segment 0 final
        _commit(id, 1, 0, node); // segment 1 not final yet
        uint256 due = market.task(id).segmentDueBlock;
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NotStalled.selector, id, due));
        market.timeoutStall(id);
        vm.roll(due + 1);
        uint256 reqBefore = token.balanceOf(requester);
        vm.expectEmit(true, true, false, true, address(market));
        emit ITaskMarket.NodeSlashed(id, node, NODE_STAKE * STALL_BPS / 10_000, DisputeId.wrap(0));
        vm.expectEmit(true, false, false, true, address(market));
        emit ITaskMarket.TaskReopened(id, 2, 1); // both windows passed by now
        market.timeoutStall(id);
        assertEq(token.balanceOf(requester) - reqBefore, NODE_STAKE * STALL_BPS / 10_000);
        TaskView memory t = market.task(id);
        assertEq(uint256(t.status), uint256(TaskStatus.Open));
        assertEq(t.nextSegment, 2);
        assertEq(t.node, address(0));
        assertEq(stakes.stakeInfo(node).locked, 0);
        // Another node continues from segment 2.
        vm.prank(node2);
        market.claimTask(id);
        assertEq(market.task(id).epoch, 1);
        _commit(id, 2, 0, node2);
        TaskId open = _createTask();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.WrongStatus.selector, open, TaskStatus.Open));
        market.timeoutStall(open);
    }

    // ------------------------------------------------------------ adjudicator hooks, wiring

    function test_adjudicatorHooks_onlyAdjudicator_revert() public {
        TaskId id = _createAndClaim();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NotAdjudicator.selector, node));
        vm.prank(node);
        market.noteDisputeOpened(id, 0);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NotAdjudicator.selector, node));
        vm.prank(node);
        market.noteDisputeResolved(DisputeId.wrap(1), id, 0, 0, node, true, 1);
    }

    function test_setAdjudicator_onlyOwnerOnce_reverts() public {
        TaskMarket m = new TaskMarket(address(token), address(stakes), 100);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NotOwner.selector, node));
        vm.prank(node);
        m.setAdjudicator(node);
        vm.expectRevert(ITaskMarket.ZeroAddress.selector);
        m.setAdjudicator(address(0));
        vm.expectEmit(false, false, false, true, address(m));
        emit ITaskMarket.AdjudicatorSet(node);
        m.setAdjudicator(node);
        vm.expectRevert(ITaskMarket.AlreadyWired.selector);
        m.setAdjudicator(node2);
        assertEq(m.adjudicator(), node);
        assertEq(m.token(), address(token));
        assertEq(m.stakeManager(), address(stakes));
        assertEq(m.stallSlashBps(), 100);
        assertEq(m.owner(), address(this));
        vm.expectRevert(ITaskMarket.ZeroAddress.selector);
        new TaskMarket(address(0), address(stakes), 100);
        vm.expectRevert(ITaskMarket.ZeroParam.selector);
        new TaskMarket(address(token), address(stakes), 10_001);
    }
}
