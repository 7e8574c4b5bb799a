// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture, Traces} from "../shared/Fixture.sol";
import {TraceMerkleBuilder} from "../support/TraceMerkleBuilder.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";
import {IStakeManager} from "../../src/interfaces/IStakeManager.sol";
import {TaskMarket} from "../../src/TaskMarket.sol";
import {StakeManager} from "../../src/StakeManager.sol";
import {Bounds} from "../../src/libraries/Bounds.sol";
import {
    TaskId, DisputeId, Outcome, TaskParams, TaskStatus, TaskView, SegmentView, SegmentRoots, MarketParams
} from "../../src/types/Ids.sol";

contract TaskMarketTest is Fixture {
    // ------------------------------------------------------------ createTask

    /// @dev A task escrows its reward and is Open.
    function test_createTask_escrows_succeeds() public {
        uint256 before = token.balanceOf(requester);
        vm.expectEmit(true, true, false, true, address(market));
        emit ITaskMarket.TaskCreated(TaskId.wrap(1), requester, "bafyspec", keccak256("spec"), REWARD, taskParams());
        TaskId id = _createTask();
        assertEq(TaskId.unwrap(id), 1);
        assertEq(before - token.balanceOf(requester), REWARD);
        assertEq(market.totalEscrow(), REWARD);
        assertEq(uint256(market.task(id).status), uint256(TaskStatus.Open));
        assertEq(market.segmentCount(id), TOTAL / SEG);
    }

    /// @dev A zero spec hash is refused.
    function test_createTask_zeroSpecHash_reverts() public {
        vm.expectRevert(ITaskMarket.ZeroHash.selector);
        vm.prank(requester);
        market.createTask("x", bytes32(0), 1, taskParams());
    }

    /// @dev segmentSteps must be a power of two.
    function test_createTask_segmentStepsNotPowerOfTwo_reverts() public {
        TaskParams memory p = taskParams();
        p.segmentSteps = 12;
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentStepsNotPowerOfTwo.selector, 12));
        vm.prank(requester);
        market.createTask("x", keccak256("s"), 1, p);
    }

    /// @dev totalSteps must be a multiple of segmentSteps.
    function test_createTask_totalNotMultiple_reverts() public {
        TaskParams memory p = taskParams();
        p.totalSteps = 40;
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TotalStepsNotMultiple.selector, 40, 16));
        vm.prank(requester);
        market.createTask("x", keccak256("s"), 1, p);
    }

    /// @dev At most MAX_SEGMENTS segments.
    function test_createTask_tooManySegments_reverts() public {
        TaskParams memory p = taskParams();
        p.segmentSteps = 1;
        p.totalSteps = 4097;
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TooManySegments.selector, 4097, 4096));
        vm.prank(requester);
        market.createTask("x", keccak256("s"), 1, p);
    }

    /// @dev Finding 2: a segment deadline past the bound (the 2^64-1 wrap) is refused by name.
    function test_createTask_deadlineWrap_reverts() public {
        TaskParams memory p = taskParams();
        p.segmentDeadline = type(uint64).max;
        uint256 max = dp.market.maxSegmentDeadline;
        vm.expectRevert(abi.encodeWithSelector(Bounds.ParamOutOfBounds.selector, "segmentDeadline", p.segmentDeadline, 1, max));
        vm.prank(requester);
        market.createTask("x", keccak256("s"), 1, p);
    }

    /// @dev Finding 7: a challenge window past the bound (stake frozen forever) is refused by name.
    function test_createTask_hugeChallengeWindow_reverts() public {
        TaskParams memory p = taskParams();
        p.challengeWindow = type(uint64).max;
        uint256 max = dp.market.maxChallengeWindow;
        vm.expectRevert(abi.encodeWithSelector(Bounds.ParamOutOfBounds.selector, "challengeWindow", p.challengeWindow, 1, max));
        vm.prank(requester);
        market.createTask("x", keccak256("s"), 1, p);
    }

    /// @dev A zero challenge window is refused by name.
    function test_createTask_zeroChallengeWindow_reverts() public {
        TaskParams memory p = taskParams();
        p.challengeWindow = 0;
        uint256 max = dp.market.maxChallengeWindow;
        vm.expectRevert(abi.encodeWithSelector(Bounds.ParamOutOfBounds.selector, "challengeWindow", 0, 1, max));
        vm.prank(requester);
        market.createTask("x", keccak256("s"), 1, p);
    }

    /// @dev Finding 4: a zero-stake task (free wrong segments) is refused.
    function test_createTask_zeroNodeStake_reverts() public {
        TaskParams memory p = taskParams();
        p.nodeStake = 0;
        uint256 min = dp.market.minNodeStake;
        vm.expectRevert(abi.encodeWithSelector(Bounds.ParamOutOfBounds.selector, "nodeStake", 0, min, type(uint128).max));
        vm.prank(requester);
        market.createTask("x", keccak256("s"), 1, p);
    }

    /// @dev Finding 5: a segment longer than the jury's replay budget is refused.
    function test_createTask_segmentTooLongToReplay_reverts() public {
        TaskParams memory p = taskParams();
        uint256 max = dp.market.maxSegmentSteps;
        p.segmentSteps = uint64(max * 2);
        p.totalSteps = uint64(max * 2);
        vm.expectRevert(abi.encodeWithSelector(Bounds.ParamOutOfBounds.selector, "segmentSteps", max * 2, 1, max));
        vm.prank(requester);
        market.createTask("x", keccak256("s"), 1, p);
    }

    /// @dev Finding 10: tasks wait for the wiring.
    function test_createTask_beforeWiring_reverts() public {
        TaskMarket m = new TaskMarket(address(token), address(stakes), dp.market);
        vm.expectRevert(ITaskMarket.NotWired.selector);
        vm.prank(requester);
        m.createTask("x", keccak256("s"), 1, taskParams());
    }

    // ------------------------------------------------------------ cancelTask

    /// @dev The requester cancels an untouched task for a full refund.
    function test_cancelTask_untouched_succeeds() public {
        TaskId id = _createTask();
        uint256 before = token.balanceOf(requester);
        vm.expectEmit(true, false, false, true, address(market));
        emit ITaskMarket.TaskCancelled(id, REWARD, 0);
        vm.prank(requester);
        market.cancelTask(id);
        assertEq(token.balanceOf(requester) - before, REWARD);
        assertEq(market.totalEscrow(), 0);
    }

    /// @dev Only the requester cancels.
    function test_cancelTask_notRequester_reverts() public {
        TaskId id = _createTask();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NotRequester.selector, id, node));
        vm.prank(node);
        market.cancelTask(id);
    }

    /// @dev A claimed task whose node is within its deadline cannot be cancelled.
    function test_cancelTask_claimed_reverts() public {
        TaskId id = _createAndClaim();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.WrongStatus.selector, id, TaskStatus.Claimed));
        vm.prank(requester);
        market.cancelTask(id);
    }

    /// @dev Finding 9: after a reopen from segment 2 the requester cancels; the committer of the final
    ///      prefix is paid 2/4 of the reward, the rest comes back, to the wei.
    function test_cancelTask_afterPartialProgress_succeeds() public {
        TaskId id = _stallAfterTwoFinal();
        uint256 nodeBefore = token.balanceOf(node);
        uint256 reqBefore = token.balanceOf(requester);
        vm.expectEmit(true, false, false, true, address(market));
        emit ITaskMarket.TaskCancelled(id, REWARD / 2, REWARD / 2);
        vm.prank(requester);
        market.cancelTask(id);
        assertEq(token.balanceOf(node) - nodeBefore, REWARD / 2);
        assertEq(token.balanceOf(requester) - reqBefore, REWARD / 2);
        assertEq(market.totalEscrow(), 0);
        assertEq(token.balanceOf(address(market)), 0);
    }

    /// @dev Finding 9: a task with an open dispute cannot be cancelled until it is resolved.
    function test_cancelTask_disputeOpen_reverts() public {
        TaskId id = _createAndClaim();
        _commit(id, 0, 0, node);
        _openEndState(id, 0);
        uint256 due = market.task(id).segmentDueBlock;
        vm.roll(due + 1);
        market.timeoutStall(id);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.DisputesOpen.selector, id, 1));
        vm.prank(requester);
        market.cancelTask(id);
    }

    // ------------------------------------------------------------ claimTask

    /// @dev Claiming locks nodeStake under the task's obligation.
    function test_claimTask_locksStake_succeeds() public {
        TaskId id = _createTask();
        vm.expectEmit(true, true, false, true, address(market));
        emit ITaskMarket.TaskClaimed(id, node, NODE_STAKE, 0, block.number + DEADLINE);
        vm.prank(node);
        market.claimTask(id);
        assertEq(stakes.stakeInfo(node).locked, NODE_STAKE);
        assertEq(market.task(id).node, node);
    }

    /// @dev A claimed task cannot be claimed again.
    function test_claimTask_claimed_reverts() public {
        TaskId id = _createAndClaim();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.WrongStatus.selector, id, TaskStatus.Claimed));
        vm.prank(node2);
        market.claimTask(id);
    }

    /// @dev A jailed node cannot claim.
    function test_claimTask_jailed_reverts() public {
        TaskId id = _createTask();
        vm.prank(address(jury));
        stakes.jail(node, block.number + 5);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NodeJailed.selector, node, block.number + 5));
        vm.prank(node);
        market.claimTask(id);
    }

    /// @dev A node without free stake cannot claim.
    function test_claimTask_understaked_reverts() public {
        TaskId id = _createTask();
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.InsufficientStake.selector, challenger, 0, NODE_STAKE));
        vm.prank(challenger);
        market.claimTask(id);
    }

    /// @dev Unknown tasks are refused.
    function test_claimTask_unknown_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.UnknownTask.selector, TaskId.wrap(9)));
        market.claimTask(TaskId.wrap(9));
    }

    // ------------------------------------------------------------ commitSegment

    /// @dev A commitment is stored and emitted, not final yet.
    function test_commitSegment_stores_succeeds() public {
        TaskId id = _createAndClaim();
        bytes32[] memory l = Traces.leaves(1, 0, SEG, 0);
        bytes32 root = TraceMerkleBuilder.computeRoot(l);
        vm.expectEmit(true, true, true, true, address(market));
        emit ITaskMarket.SegmentCommitted(id, 0, root, keccak256("end0"), "bafyckpt0", "bafyleaves0", node, l);
        vm.prank(node);
        market.commitSegment(id, 0, root, keccak256("end0"), "bafyckpt0", "bafyleaves0", l);
        SegmentView memory s = market.segment(id, 0);
        assertEq(s.rootsDigest, bytes19(keccak256(abi.encode(root, keccak256("end0")))), "one slot: the roots' digest");
        assertEq(s.committedAt, block.number);
        assertEq(s.epoch, 0);
        assertEq(s.node, node);
        assertTrue(s.committed);
        assertFalse(s.isFinal);
        assertEq(market.task(id).segmentDueBlock, block.number + DEADLINE);
    }

    /// @dev Only the task's node commits.
    function test_commitSegment_notNode_reverts() public {
        TaskId id = _createAndClaim();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NotTaskNode.selector, id, node2));
        vm.prank(node2);
        market.commitSegment(id, 0, bytes32("r"), bytes32("e"), "", "", new bytes32[](0));
    }

    /// @dev Segments are committed in order.
    function test_commitSegment_outOfOrder_reverts() public {
        TaskId id = _createAndClaim();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentOutOfOrder.selector, id, 1, 0));
        vm.prank(node);
        market.commitSegment(id, 1, bytes32("r"), bytes32("e"), "", "", new bytes32[](0));
    }

    /// @dev A segment is committed once.
    function test_commitSegment_twice_reverts() public {
        TaskId id = _createAndClaim();
        bytes32[] memory l = Traces.leaves(1, 0, SEG, 0);
        vm.startPrank(node);
        market.commitSegment(id, 0, TraceMerkleBuilder.computeRoot(l), bytes32("e"), "", "", l);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentOutOfOrder.selector, id, 0, 1));
        market.commitSegment(id, 0, bytes32("r2"), bytes32("e"), "", "", l);
        vm.stopPrank();
    }

    /// @dev A zero root is refused.
    function test_commitSegment_zeroRoot_reverts() public {
        TaskId id = _createAndClaim();
        vm.expectRevert(ITaskMarket.ZeroHash.selector);
        vm.prank(node);
        market.commitSegment(id, 0, bytes32(0), bytes32("e"), "", "", new bytes32[](0));
    }

    /// @dev A commit after the deadline is refused.
    function test_commitSegment_afterDeadline_reverts() public {
        TaskId id = _createAndClaim();
        uint256 due = block.number + DEADLINE;
        vm.roll(due + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentDeadlinePassed.selector, id, due));
        vm.prank(node);
        market.commitSegment(id, 0, bytes32("r"), bytes32("e"), "", "", new bytes32[](0));
    }

    /// @dev A commitment carries one leaf per step.
    function test_commitSegment_wrongLeafCount_reverts() public {
        TaskId id = _createAndClaim();
        bytes32[] memory l = Traces.leaves(1, 0, SEG / 2, 0);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.LeafCount.selector, SEG / 2, SEG));
        vm.prank(node);
        market.commitSegment(id, 0, TraceMerkleBuilder.computeRoot(l), bytes32("e"), "", "", l);
    }

    /// @dev The published leaves must rebuild the committed root (no leaf can be withheld or faked).
    function test_commitSegment_leavesNotOfRoot_reverts() public {
        TaskId id = _createAndClaim();
        bytes32[] memory l = Traces.leaves(1, 0, SEG, 0);
        bytes32 root = TraceMerkleBuilder.computeRoot(l);
        l[3] = keccak256("another leaf");
        bytes32 other = TraceMerkleBuilder.computeRoot(l);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.TraceRootMismatch.selector, id, 0, other));
        vm.prank(node);
        market.commitSegment(id, 0, root, bytes32("e"), "", "", l);
    }

    // ------------------------------------------------------------ finality, claimReward

    /// @dev Segments become final in order once their window passed.
    function test_isFinal_afterWindow_succeeds() public {
        TaskId id = _createAndClaim();
        for (uint256 k; k < 4; ++k) _commit(id, k, 0, node);
        assertFalse(market.isFinal(id, 0));
        vm.roll(block.number + WINDOW + 1);
        assertTrue(market.isFinal(id, 3));
        assertFalse(market.isFinal(id, 4));
        assertEq(market.finalSegmentCount(id), 4);
    }

    /// @dev The reward waits for every segment to be final.
    function test_claimReward_notAllFinal_reverts() public {
        TaskId id = _createAndClaim();
        for (uint256 k; k < 4; ++k) _commit(id, k, 0, node);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NotAllFinal.selector, id, 0));
        vm.prank(node);
        market.claimReward(id);
    }

    /// @dev The node is paid once and its lock released.
    function test_claimReward_allFinal_succeeds() public {
        TaskId id = _createAndClaim();
        for (uint256 k; k < 4; ++k) _commit(id, k, 0, node);
        vm.roll(block.number + WINDOW + 1);
        uint256 before = token.balanceOf(node);
        vm.prank(node);
        market.claimReward(id);
        assertEq(token.balanceOf(node) - before, REWARD);
        assertEq(stakes.stakeInfo(node).locked, 0);
        assertEq(market.totalEscrow(), 0);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.WrongStatus.selector, id, TaskStatus.Completed));
        vm.prank(node);
        market.claimReward(id);
    }

    // ------------------------------------------------------------ timeoutStall

    /// @dev A stall before the due block is refused.
    function test_timeoutStall_beforeDue_reverts() public {
        TaskId id = _createAndClaim();
        uint256 due = market.task(id).segmentDueBlock;
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NotStalled.selector, id, due));
        market.timeoutStall(id);
    }

    /// @dev A stall slashes stallSlashBps of nodeStake to the treasury (never the requester, #14) and
    ///      reopens at the final prefix.
    function test_timeoutStall_slashesAndReopens_succeeds() public {
        uint256 reqBefore = token.balanceOf(requester);
        TaskId id = _stallAfterTwoFinal();
        assertEq(reqBefore - token.balanceOf(requester), REWARD, "the requester gets nothing of a stall");
        assertEq(token.balanceOf(treasury), STALL_SLASH);
        TaskView memory t = market.task(id);
        assertEq(uint256(t.status), uint256(TaskStatus.Open));
        assertEq(t.nextSegment, 2);
        assertEq(stakes.stakeInfo(node).locked, 0);
        assertEq(stakes.stakeInfo(node).staked, 3 * NODE_STAKE - STALL_SLASH);
    }

    /// @dev Finding 6: a stall while a dispute is open keeps what that dispute can slash locked.
    function test_timeoutStall_openDisputeKeepsLock_succeeds() public {
        TaskId id = _createAndClaim();
        _commit(id, 0, 0, node);
        _openEndState(id, 0);
        vm.roll(market.task(id).segmentDueBlock + 1);
        market.timeoutStall(id);
        assertEq(stakes.stakeInfo(node).locked, SLASH);
        assertEq(market.openDisputesOf(id, 0), 1);
    }

    // ------------------------------------------------------------ hooks, wiring, bounds

    /// @dev Only the task's adjudicator counts disputes.
    function test_noteDisputeOpened_notAdjudicator_reverts() public {
        TaskId id = _createAndClaim();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NotTaskAdjudicator.selector, id, node, address(jury)));
        vm.prank(node);
        market.noteDisputeOpened(id, 0, SegmentRoots(bytes32(0), bytes32(0)));
    }

    /// @dev Only the task's adjudicator settles its disputes.
    function test_noteDisputeResolved_notAdjudicator_reverts() public {
        TaskId id = _createAndClaim();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NotTaskAdjudicator.selector, id, node, address(jury)));
        vm.prank(node);
        market.noteDisputeResolved(DisputeId.wrap(1), id, 0, 0, node, Outcome.NodeWrong);
    }

    /// @dev Only the owner wires the adjudicators.
    function test_setAdjudicators_notOwner_reverts() public {
        TaskMarket m = new TaskMarket(address(token), address(stakes), dp.market);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NotOwner.selector, node));
        vm.prank(node);
        m.setAdjudicators(node, node);
    }

    /// @dev The fixture's market is wired once.
    function test_setAdjudicators_twice_reverts() public {
        vm.expectRevert(ITaskMarket.AlreadyWired.selector);
        market.setAdjudicators(address(jury), address(referee));
    }

    /// @dev Finding 10: an adjudicator of another market (or not authorised by the StakeManager) is refused.
    function test_setAdjudicators_mismatch_reverts() public {
        StakeManager s = new StakeManager(address(token), dp.unbondingBlocks, dp.minJurorStake);
        TaskMarket m = new TaskMarket(address(token), address(s), dp.market);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.WiringMismatch.selector, address(jury)));
        m.setAdjudicators(address(jury), address(referee));
    }

    /// @dev The jury and the referee must be two contracts.
    function test_setAdjudicators_sameTwice_reverts() public {
        TaskMarket m = new TaskMarket(address(token), address(stakes), dp.market);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.WiringMismatch.selector, address(jury)));
        m.setAdjudicators(address(jury), address(jury));
    }

    /// @dev The wiring is public: the market names its jury and its referee.
    function test_setAdjudicators_wiresBoth_succeeds() public view {
        assertEq(market.jury(), address(jury));
        assertEq(market.referee(), address(referee));
    }

    /// @dev A task created without a step graph is the jury's, announced with the task.
    function test_createTask_adjudicatorIsJury_succeeds() public {
        vm.expectEmit(true, false, false, true, address(market));
        emit ITaskMarket.TaskAdjudicator(TaskId.wrap(1), address(jury), false);
        TaskId id = _createTask();
        assertEq(market.adjudicatorOf(id), address(jury));
        assertEq(referee.stepGraph(id).graphRoot, bytes32(0));
    }

    /// @dev The referee cannot count, settle or slash on a jury task (it is not the task's adjudicator).
    function test_noteDisputeOpened_otherAdjudicator_reverts() public {
        TaskId id = _createAndClaim();
        _commit(id, 0, 0, node);
        uint256 nodeStaked = stakes.stakeInfo(node).staked;
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.NotTaskAdjudicator.selector, id, address(referee), address(jury))
        );
        vm.prank(address(referee));
        market.noteDisputeOpened(id, 0, _roots(id, 0));
        vm.expectRevert(
            abi.encodeWithSelector(ITaskMarket.NotTaskAdjudicator.selector, id, address(referee), address(jury))
        );
        vm.prank(address(referee));
        market.noteDisputeResolved(DisputeId.wrap(1), id, 0, 0, node, Outcome.NodeWrong);
        assertEq(stakes.stakeInfo(node).staked, nodeStaked, "no wei slashed");
        assertEq(market.task(id).openDisputes, 0);
    }

    /// @dev The deployment refuses a stall slash of zero by name.
    function test_constructor_zeroStallSlash_reverts() public {
        MarketParams memory p = dp.market;
        p.stallSlashBps = 0;
        vm.expectRevert(abi.encodeWithSelector(Bounds.ParamOutOfBounds.selector, "stallSlashBps", 0, 1, BPS));
        new TaskMarket(address(token), address(stakes), p);
    }

    /// @dev Finding 8: a dispute slash that pays the requester less than a stall is refused.
    function test_constructor_disputeCheaperThanStall_reverts() public {
        MarketParams memory p = dp.market;
        p.requesterShareBps = 0;
        vm.expectRevert(
            abi.encodeWithSelector(
                Bounds.ParamOutOfBounds.selector, "disputeSlashBps * requesterShareBps / 1e4", 0, p.stallSlashBps, BPS
            )
        );
        new TaskMarket(address(token), address(stakes), p);
    }

    /// @dev The deployment refuses a maxSegmentSteps that is not a power of two.
    function test_constructor_maxSegmentStepsNotPowerOfTwo_reverts() public {
        MarketParams memory p = dp.market;
        p.maxSegmentSteps = 1000;
        vm.expectRevert(
            abi.encodeWithSelector(
                Bounds.ParamOutOfBounds.selector, "maxSegmentSteps (power of two)", 1000, 1, Bounds.MAX_SEGMENT_STEPS
            )
        );
        new TaskMarket(address(token), address(stakes), p);
    }

    /// @dev Zero addresses are refused.
    function test_constructor_zeroToken_reverts() public {
        vm.expectRevert(ITaskMarket.ZeroAddress.selector);
        new TaskMarket(address(0), address(stakes), dp.market);
    }

    /// @dev Node commits segments 0-1, both become final, then it stalls on segment 2.
    function _stallAfterTwoFinal() internal returns (TaskId id) {
        id = _createAndClaim();
        _commit(id, 0, 0, node);
        _commit(id, 1, 0, node);
        vm.roll(block.number + WINDOW + 1);
        vm.roll(market.task(id).segmentDueBlock + 1);
        market.timeoutStall(id);
    }
}
