// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "../shared/Fixture.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";
import {TaskId, TaskParams, TaskStatus, ReleaseReason} from "../../src/types/Ids.sol";

/// @notice Issue #14 class 2, read as every party would: missing data never pays the one who
///         withholds it. A requester that withholds its teacher or dataset, a node that lies
///         "unavailable" to dodge work, a rival that wants a task dead, a node that withholds a
///         checkpoint of the final prefix, and a requester that lies to roll an honest prefix back.
///         Each test checks the books of every party (wallet and stake) to the wei.
contract WithholdingTest is Fixture {
    address internal node3;
    address internal puppet;

    /// @dev Wallet and stake of every party at the start of a test.
    mapping(address who => uint256) internal wallet0;
    mapping(address who => uint256) internal staked0;
    address[] internal parties;

    function setUp() public override {
        super.setUp();
        node3 = _actor("node3", 3 * NODE_STAKE);
        puppet = _actor("puppet", 3 * NODE_STAKE);
        parties = [requester, node, node2, node3, puppet, challenger, treasury];
        for (uint256 i; i < parties.length; ++i) {
            wallet0[parties[i]] = token.balanceOf(parties[i]);
            staked0[parties[i]] = stakes.stakeInfo(parties[i]).staked;
        }
    }

    /// @dev Exact books: `wallets[i]` / `stakesDelta[i]` are the signed changes of parties[i]
    ///      (requester, node, node2, node3, puppet, challenger, treasury); conservation holds.
    function _books(int256[7] memory wallets, int256[7] memory stakesDelta) internal view {
        for (uint256 i; i < parties.length; ++i) {
            address p = parties[i];
            assertEq(int256(token.balanceOf(p)) - int256(wallet0[p]), wallets[i]);
            assertEq(int256(stakes.stakeInfo(p).staked) - int256(staked0[p]), stakesDelta[i]);
            assertEq(stakes.stakeInfo(p).locked, 0, "nothing left locked");
        }
        uint256 bal = token.balanceOf(address(stakes)) + token.balanceOf(address(market)) + token.balanceOf(address(jury));
        assertEq(bal, _held(), "conservation");
    }

    function _claim(TaskId id, address who) internal {
        vm.prank(who);
        market.claimTask(id);
    }

    function _release(TaskId id, address who, ReleaseReason r) internal {
        vm.prank(who);
        market.releaseTask(id, r);
    }

    function _cancel(TaskId id) internal {
        vm.prank(requester);
        market.cancelTask(id);
    }

    /// @dev `who` commits segments [from, to) honestly.
    function _commitRange(TaskId id, uint256 from, uint256 to, address who) internal {
        for (uint256 k = from; k < to; ++k) _commit(id, k, 0, who);
    }

    /// @dev `who` commits the rest honestly, waits for finality, claims the reward.
    function _finish(TaskId id, address who) internal {
        _commitRange(id, market.task(id).nextSegment, TOTAL / SEG, who);
        vm.roll(block.number + WINDOW + 1);
        vm.prank(who);
        market.claimReward(id);
    }

    /// @dev The node commits segments 0 and 1, they become final, then it leaves the task (stalls):
    ///      from now on it withholds the checkpoint of segment 1.
    function _withholderLeaves() internal returns (TaskId id) {
        id = _createAndClaim();
        _commitRange(id, 0, 2, node);
        vm.roll(market.task(id).segmentDueBlock + 1);
        market.timeoutStall(id);
    }

    int256 internal constant R = int256(REWARD);
    int256 internal constant STALL = int256(NODE_STAKE) / 10; // stallSlashBps 1000 (checked below)

    /// @dev The requester unpins its teacher after an honest node claimed. The node releases for free;
    ///      so do the next two; the third release ends the task. The requester gets back exactly its
    ///      reward (it used to get each node's stall slash), every node is whole.
    function test_requesterWithholdsAfterClaim_noProfit_succeeds() public {
        assertEq(STALL_SLASH, uint256(STALL));
        TaskId id = _createAndClaim();
        _release(id, node, ReleaseReason.InputsUnavailable);
        _claim(id, node2);
        _release(id, node2, ReleaseReason.InputsUnavailable);
        _claim(id, node3);
        _release(id, node3, ReleaseReason.InputsUnavailable);
        assertEq(uint256(market.task(id).status), uint256(TaskStatus.Cancelled));
        _books([int256(0), 0, 0, 0, 0, 0, 0], [int256(0), 0, 0, 0, 0, 0, 0]);
    }

    /// @dev Same withholding, but the node does not release (offline) and stalls: the slash goes to
    ///      the treasury, and the requester's cancel of the stranded task returns its reward and
    ///      nothing more.
    function test_requesterWithholds_nodeStalls_slashToTreasury_succeeds() public {
        TaskId id = _createAndClaim();
        vm.roll(market.task(id).segmentDueBlock + 1);
        _cancel(id);
        _books([int256(0), 0, 0, 0, 0, 0, STALL], [int256(0), -STALL, 0, 0, 0, 0, 0]);
    }

    /// @dev A node lies "inputs unavailable" to dodge work it claimed: it loses nothing, gains
    ///      nothing and can never claim the task again; the next node finishes and is paid.
    function test_lyingNodeDodgesWork_gainsNothing_succeeds() public {
        TaskId id = _createAndClaim();
        _release(id, node, ReleaseReason.InputsUnavailable);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.AlreadyReleased.selector, id, node));
        _claim(id, node);
        _claim(id, node2);
        _finish(id, node2);
        _books([-R, 0, R, 0, 0, 0, 0], [int256(0), 0, 0, 0, 0, 0, 0]);
    }

    /// @dev A free release is only for a node that never had its inputs: after a commit, or after the
    ///      release window, the only way out is a stall (slashed).
    function test_lateRelease_refusedThenStallSlashed_succeeds() public {
        TaskId id = _createAndClaim();
        uint256 closes = block.number + dp.market.releaseWindow;
        vm.roll(closes + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.ReleaseWindowClosed.selector, id, closes));
        _release(id, node, ReleaseReason.InputsUnavailable);
        vm.roll(market.task(id).segmentDueBlock + 1);
        market.timeoutStall(id);
        _claim(id, node2);
        _finish(id, node2);
        _books([-R, 0, R, 0, 0, 0, STALL], [int256(0), -STALL, 0, 0, 0, 0, 0]);
    }

    /// @dev A rival with maxReleases staked addresses ends a task early. Bounded: it costs the
    ///      requester nothing but time (full refund), the rival gains nothing.
    function test_rivalEndsTaskWithReleases_boundedAndRefunded_succeeds() public {
        TaskId id = _createTask();
        address[3] memory sybils = [node2, node3, puppet];
        for (uint256 i; i < dp.market.maxReleases; ++i) {
            _claim(id, sybils[i]);
            _release(id, sybils[i], ReleaseReason.InputsUnavailable);
        }
        assertEq(uint256(market.task(id).status), uint256(TaskStatus.Cancelled));
        _books([int256(0), 0, 0, 0, 0, 0, 0], [int256(0), 0, 0, 0, 0, 0, 0]);
    }

    /// @dev The node that committed the final prefix withholds its last checkpoint. The takeover
    ///      releases for free and rolls the prefix back one segment; the next node redoes it from the
    ///      previous (available) checkpoint and is paid the whole reward. The withholder paid its
    ///      stall and gets nothing; the task is never stranded.
    function test_withheldFinalCheckpoint_rolledBackAndCompleted_succeeds() public {
        TaskId id = _withholderLeaves();
        _claim(id, node2);
        _release(id, node2, ReleaseReason.StartCheckpointUnavailable);
        assertEq(market.task(id).nextSegment, 1);
        _claim(id, node3);
        _finish(id, node3);
        _books([-R, 0, 0, R, 0, 0, STALL], [int256(0), -STALL, 0, 0, 0, 0, 0]);
    }

    /// @dev Same withholding, then the requester cancels: the withholder is paid for segment 0 (it
    ///      still serves it) but not for segment 1, whose pay goes to the treasury; the requester gets
    ///      exactly what it would have got had segment 1 been served (no profit from the rollback).
    function test_withheldFinalCheckpoint_cancelForfeitsWithholderPay_succeeds() public {
        TaskId id = _withholderLeaves();
        _claim(id, node2);
        _release(id, node2, ReleaseReason.StartCheckpointUnavailable);
        _cancel(id);
        int256 q = R / 4;
        _books([-2 * q, q, 0, 0, 0, 0, STALL + q], [int256(0), -STALL, 0, 0, 0, 0, 0]);
    }

    /// @dev Withholding every checkpoint: each takeover rolls back one more segment, at most
    ///      maxReleases in all; the last release ends the task. The withholder is paid nothing for the
    ///      segments it no longer serves, the requester gets back what it put in less nothing: every
    ///      forfeited segment's pay goes to the treasury.
    function test_withheldWholePrefix_rollbacksBounded_succeeds() public {
        TaskParams memory p = taskParams();
        vm.prank(requester);
        TaskId id = market.createTask("bafyspec", keccak256("spec"), REWARD, p);
        _claim(id, node);
        _commitRange(id, 0, 3, node);
        vm.roll(market.task(id).segmentDueBlock + 1);
        market.timeoutStall(id);
        address[3] memory takeovers = [node2, node3, puppet];
        for (uint256 i; i < 3; ++i) {
            _claim(id, takeovers[i]);
            _release(id, takeovers[i], ReleaseReason.StartCheckpointUnavailable);
        }
        assertEq(uint256(market.task(id).status), uint256(TaskStatus.Cancelled));
        assertEq(market.task(id).nextSegment, 0);
        int256 q = R / 4;
        _books([-3 * q, 0, 0, 0, 0, 0, STALL + 3 * q], [int256(0), -STALL, 0, 0, 0, 0, 0]);
    }

    /// @dev A requester lies through a staked puppet: "start checkpoint unavailable" on an honest
    ///      final prefix, then cancels. It gets back exactly what it gets without the lie (half the
    ///      reward); the honest node loses the rolled-back segment's pay to the treasury (bounded by
    ///      maxReleases segments: the residual cost of a lie nobody can disprove on chain).
    function test_requesterLiesRollback_noProfit_succeeds() public {
        TaskId id = _withholderLeaves(); // here the node is honest: its checkpoints are pinned
        _claim(id, puppet);
        _release(id, puppet, ReleaseReason.StartCheckpointUnavailable);
        _cancel(id);
        int256 q = R / 4;
        _books([-2 * q, q, 0, 0, 0, 0, STALL + q], [int256(0), -STALL, 0, 0, 0, 0, 0]);
    }

    /// @dev Any number of rollbacks (lied or true) of any prefix, then the task ends: the requester
    ///      gets back exactly the reward less the pay of the longest prefix ever final, whoever
    ///      serves it at the end; every token of the reward goes somewhere (committers, treasury,
    ///      requester).
    function testFuzz_rollbacks_requesterRefundFixedByLongestPrefix(uint256 committed, uint256 rollbacks) public {
        committed = bound(committed, 1, 3);
        rollbacks = bound(rollbacks, 1, dp.market.maxReleases);
        TaskId id = _createAndClaim();
        _commitRange(id, 0, committed, node);
        vm.roll(market.task(id).segmentDueBlock + 1);
        market.timeoutStall(id);
        address[3] memory sybils = [node2, node3, puppet];
        for (uint256 i; i < rollbacks && market.task(id).nextSegment > 0; ++i) {
            _claim(id, sybils[i]);
            _release(id, sybils[i], ReleaseReason.StartCheckpointUnavailable);
        }
        if (market.task(id).status == TaskStatus.Open) _cancel(id);
        assertEq(uint256(market.task(id).status), uint256(TaskStatus.Cancelled));
        int256 q = R / 4;
        int256 kept = int256(uint256(market.task(id).nextSegment));
        int256 lost = int256(committed) - kept;
        _books(
            [-int256(committed) * q, kept * q, 0, 0, 0, 0, STALL + lost * q],
            [int256(0), -STALL, 0, 0, 0, 0, 0]
        );
    }
}
