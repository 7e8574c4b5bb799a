// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "../shared/Fixture.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";
import {TaskMarket} from "../../src/TaskMarket.sol";
import {Bounds} from "../../src/libraries/Bounds.sol";
import {TaskId, TaskStatus, TaskView, MarketParams, ReleaseReason} from "../../src/types/Ids.sol";

/// @notice Issue #14 class 2: TaskMarket.releaseTask (a free, bounded way out for a node whose inputs
///         are unavailable), the stranded-task cancel and the forfeit of rolled-back segment pay.
contract TaskReleaseTest is Fixture {
    address internal node3;

    function setUp() public override {
        super.setUp();
        node3 = _actor("node3", 3 * NODE_STAKE);
    }

    function _release(TaskId id, address who, ReleaseReason r) internal {
        vm.prank(who);
        market.releaseTask(id, r);
    }

    function _claim(TaskId id, address who) internal {
        vm.prank(who);
        market.claimTask(id);
    }

    /// @dev The node commits segments 0 and 1, they become final, it stalls: open from segment 2.
    function _twoFinalThenStall() internal returns (TaskId id) {
        id = _createAndClaim();
        _commit(id, 0, 0, node);
        _commit(id, 1, 0, node);
        vm.roll(market.task(id).segmentDueBlock + 1);
        market.timeoutStall(id);
    }

    // ------------------------------------------------------------ releaseTask

    /// @dev An inputs-unavailable release reopens the task at the same segment, unlocks the whole
    ///      stake, slashes nothing and is counted.
    function test_releaseTask_inputsUnavailable_succeeds() public {
        TaskId id = _createAndClaim();
        vm.expectEmit(true, true, false, true, address(market));
        emit ITaskMarket.TaskReleased(id, node, ReleaseReason.InputsUnavailable, 0, 1);
        vm.expectEmit(true, false, false, true, address(market));
        emit ITaskMarket.TaskReopened(id, 0, 1);
        _release(id, node, ReleaseReason.InputsUnavailable);
        TaskView memory t = market.task(id);
        assertEq(uint256(t.status), uint256(TaskStatus.Open));
        assertEq(t.epoch, 1);
        assertEq(t.releases, 1);
        assertEq(t.lockedStake, 0);
        assertEq(stakes.stakeInfo(node).staked, 3 * NODE_STAKE, "nothing slashed");
        assertEq(stakes.stakeInfo(node).locked, 0, "all unlocked");
        assertTrue(market.hasReleased(id, node));
    }

    /// @dev A start-checkpoint release rolls the final prefix back by one segment.
    function test_releaseTask_startCheckpoint_rollsBackOneSegment_succeeds() public {
        TaskId id = _twoFinalThenStall();
        _claim(id, node2);
        vm.expectEmit(true, true, false, true, address(market));
        emit ITaskMarket.TaskReleased(id, node2, ReleaseReason.StartCheckpointUnavailable, 1, 1);
        _release(id, node2, ReleaseReason.StartCheckpointUnavailable);
        TaskView memory t = market.task(id);
        assertEq(t.nextSegment, 1);
        assertEq(t.rolledBackFrom, 2);
        assertEq(market.finalSegmentCount(id), 1);
        assertFalse(market.segment(id, 1).committed, "segment 1 no longer counts");
        assertEq(stakes.stakeInfo(node2).staked, 3 * NODE_STAKE);
    }

    /// @dev Only the task's node releases.
    function test_releaseTask_notNode_reverts() public {
        TaskId id = _createAndClaim();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NotTaskNode.selector, id, node2));
        _release(id, node2, ReleaseReason.InputsUnavailable);
    }

    /// @dev An open task has nobody to release it.
    function test_releaseTask_open_reverts() public {
        TaskId id = _createTask();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.WrongStatus.selector, id, TaskStatus.Open));
        _release(id, node, ReleaseReason.InputsUnavailable);
    }

    /// @dev A release needs a reason.
    function test_releaseTask_noReason_reverts() public {
        TaskId id = _createAndClaim();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NoReleaseReason.selector, id));
        _release(id, node, ReleaseReason.None);
    }

    /// @dev A node that committed since its claim had its inputs: no free release.
    function test_releaseTask_afterCommit_reverts() public {
        TaskId id = _createAndClaim();
        _commit(id, 0, 0, node);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.CommittedSinceClaim.selector, id, 0));
        _release(id, node, ReleaseReason.InputsUnavailable);
    }

    /// @dev The free release closes releaseWindow blocks after the claim.
    function test_releaseTask_afterWindow_reverts() public {
        TaskId id = _createAndClaim();
        uint256 closes = block.number + dp.market.releaseWindow;
        vm.roll(closes + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.ReleaseWindowClosed.selector, id, closes));
        _release(id, node, ReleaseReason.InputsUnavailable);
    }

    /// @dev The last block of the window still releases.
    function test_releaseTask_lastBlockOfWindow_succeeds() public {
        TaskId id = _createAndClaim();
        vm.roll(block.number + dp.market.releaseWindow);
        _release(id, node, ReleaseReason.InputsUnavailable);
        assertEq(uint256(market.task(id).status), uint256(TaskStatus.Open));
    }

    /// @dev Segment 0 starts from the spec: there is no checkpoint to roll back.
    function test_releaseTask_startCheckpointAtZero_reverts() public {
        TaskId id = _createAndClaim();
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NothingToRollBack.selector, id));
        _release(id, node, ReleaseReason.StartCheckpointUnavailable);
    }

    /// @dev A node that released a task cannot claim it again.
    function test_claimTask_afterRelease_reverts() public {
        TaskId id = _createAndClaim();
        _release(id, node, ReleaseReason.InputsUnavailable);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.AlreadyReleased.selector, id, node));
        _claim(id, node);
    }

    /// @dev The maxReleases-th release ends the task: the requester gets its whole reward back.
    function test_releaseTask_lastRelease_endsTask_succeeds() public {
        assertEq(dp.market.maxReleases, 3, "the fixture's deploy/params.json value");
        TaskId id = _createAndClaim();
        _release(id, node, ReleaseReason.InputsUnavailable);
        _claim(id, node2);
        _release(id, node2, ReleaseReason.InputsUnavailable);
        _claim(id, node3);
        uint256 before = token.balanceOf(requester);
        vm.expectEmit(true, false, false, true, address(market));
        emit ITaskMarket.TaskCancelled(id, REWARD, 0);
        _release(id, node3, ReleaseReason.InputsUnavailable);
        assertEq(uint256(market.task(id).status), uint256(TaskStatus.Cancelled));
        assertEq(token.balanceOf(requester) - before, REWARD);
        assertEq(market.totalEscrow(), 0);
        assertEq(stakes.stakeInfo(node3).locked, 0);
    }

    // ------------------------------------------------------------ cancelTask (stranded, forfeits)

    /// @dev A claimed task past its due block is stranded: cancel times the stall out first (the
    ///      slash to the treasury) and refunds the requester.
    function test_cancelTask_stalledClaim_succeeds() public {
        TaskId id = _createAndClaim();
        vm.roll(market.task(id).segmentDueBlock + 1);
        uint256 before = token.balanceOf(requester);
        vm.prank(requester);
        market.cancelTask(id);
        assertEq(uint256(market.task(id).status), uint256(TaskStatus.Cancelled));
        assertEq(token.balanceOf(requester) - before, REWARD);
        assertEq(token.balanceOf(treasury), STALL_SLASH);
        assertEq(stakes.stakeInfo(node).staked, 3 * NODE_STAKE - STALL_SLASH);
        assertEq(stakes.stakeInfo(node).locked, 0);
    }

    /// @dev Cancel after a rollback: the withholder is paid for the segment it still serves, the
    ///      pay of the rolled-back one goes to the treasury, the requester gets what it would have
    ///      got had the segment been served.
    function test_cancelTask_afterRollback_forfeitsToTreasury_succeeds() public {
        TaskId id = _twoFinalThenStall();
        _claim(id, node2);
        _release(id, node2, ReleaseReason.StartCheckpointUnavailable);
        uint256 reqBefore = token.balanceOf(requester);
        uint256 nodeBefore = token.balanceOf(node);
        vm.expectEmit(true, false, false, true, address(market));
        emit ITaskMarket.PayForfeited(id, 1, REWARD / 4);
        vm.expectEmit(true, false, false, true, address(market));
        emit ITaskMarket.TaskCancelled(id, REWARD / 2, REWARD / 4);
        vm.prank(requester);
        market.cancelTask(id);
        assertEq(token.balanceOf(node) - nodeBefore, REWARD / 4);
        assertEq(token.balanceOf(requester) - reqBefore, REWARD / 2);
        assertEq(token.balanceOf(treasury), STALL_SLASH + REWARD / 4);
        assertEq(token.balanceOf(address(market)), 0);
    }

    /// @dev A rolled-back segment served again is paid to its new committer, and nothing is forfeited.
    function test_cancelTask_rolledBackSegmentServedAgain_succeeds() public {
        TaskId id = _twoFinalThenStall();
        _claim(id, node2);
        _release(id, node2, ReleaseReason.StartCheckpointUnavailable);
        _claim(id, node3);
        _commit(id, 1, 0, node3);
        vm.roll(market.task(id).segmentDueBlock + 1);
        uint256 n3Before = token.balanceOf(node3);
        vm.prank(requester);
        market.cancelTask(id); // times node3's stall out, then settles
        assertEq(token.balanceOf(node3) - n3Before, REWARD / 4);
        assertEq(token.balanceOf(treasury), 2 * STALL_SLASH, "two stall slashes, nothing forfeited");
    }

    // ------------------------------------------------------------ gas

    function _gas(address who, bytes memory call) internal returns (uint256 used) {
        uint256 g = gasleft();
        vm.prank(who);
        (bool ok,) = address(market).call(call);
        used = g - gasleft();
        assertTrue(ok, "call failed");
    }

    /// @dev Gas of the #14 calls, per transaction (run with --isolate for cold storage and 21k).
    function test_gas_releaseAndStrandedCancel_succeeds() public {
        TaskId id = _twoFinalThenStall();
        uint256 claim = _gas(node2, abi.encodeCall(market.claimTask, (id)));
        uint256 rel = _gas(node2, abi.encodeCall(market.releaseTask, (id, ReleaseReason.StartCheckpointUnavailable)));
        _claim(id, node3);
        uint256 relIn = _gas(node3, abi.encodeCall(market.releaseTask, (id, ReleaseReason.InputsUnavailable)));
        _claim(id, node);
        vm.roll(market.task(id).segmentDueBlock + 1);
        uint256 cancel = _gas(requester, abi.encodeCall(market.cancelTask, (id)));
        emit log_named_uint("claimTask", claim);
        emit log_named_uint("releaseTask (start checkpoint, rollback)", rel);
        emit log_named_uint("releaseTask (inputs)", relIn);
        emit log_named_uint("cancelTask (stranded: stall + forfeit + 2 payouts)", cancel);
        assertLe(rel, 110_000, "releaseTask (per transaction, --isolate)");
        assertLe(cancel, 200_000, "cancelTask of a stranded task");
    }

    // ------------------------------------------------------------ parameters

    /// @dev The deployment refuses zero free releases by name.
    function test_constructor_zeroMaxReleases_reverts() public {
        MarketParams memory p = dp.market;
        p.maxReleases = 0;
        vm.expectRevert(abi.encodeWithSelector(Bounds.ParamOutOfBounds.selector, "maxReleases", 0, 1, 16));
        new TaskMarket(address(token), address(stakes), p);
    }

    /// @dev The deployment refuses a zero release window by name.
    function test_constructor_zeroReleaseWindow_reverts() public {
        MarketParams memory p = dp.market;
        p.releaseWindow = 0;
        vm.expectRevert(abi.encodeWithSelector(Bounds.ParamOutOfBounds.selector, "releaseWindow", 0, 1, 216_000));
        new TaskMarket(address(token), address(stakes), p);
    }

    /// @dev The deployment refuses a zero treasury (stall slashes would have nowhere to go).
    function test_constructor_zeroTreasury_reverts() public {
        MarketParams memory p = dp.market;
        p.treasury = address(0);
        vm.expectRevert(
            abi.encodeWithSelector(Bounds.ParamOutOfBounds.selector, "treasury", 0, 1, type(uint160).max)
        );
        new TaskMarket(address(token), address(stakes), p);
    }
}
