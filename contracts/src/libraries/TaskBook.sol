// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ITaskMarket} from "../interfaces/ITaskMarket.sol";
import {IStakeManager} from "../interfaces/IStakeManager.sol";
import {SegmentLedger} from "./SegmentLedger.sol";
import {TaskId, TaskParams, TaskStatus, TaskView, ReleaseReason, MarketParams} from "../types/Ids.sol";

/// @title TaskBook
/// @notice A task's storage record, its public view, the rule of a free release and the
///         settlement of a task that ends without completing (cancelled, or out of releases).
library TaskBook {
    using SafeERC20 for IERC20;

    struct Task {
        address requester;
        uint32 epoch;
        uint32 nextSegment;
        TaskStatus status;
        uint8 releases;
        /// @dev Settled by the market's referee (created with a step graph), else by its jury.
        bool refereed;
        address node;
        uint64 segmentDueBlock;
        uint32 openDisputes;
        uint128 reward;
        uint32 claimSegment;
        uint32 rolledBackFrom;
        bytes32 specHash;
        TaskParams params;
    }

    /// @notice Records a new open task.
    function open(
        Task storage t,
        address requester,
        uint256 reward,
        bytes32 specHash,
        TaskParams calldata terms,
        bool refereed
    ) internal {
        t.requester = requester;
        t.status = TaskStatus.Open;
        t.reward = SafeCast.toUint128(reward);
        t.specHash = specHash;
        t.params = terms;
        t.refereed = refereed;
    }

    function toView(Task storage t) internal view returns (TaskView memory v) {
        v = TaskView({
            requester: t.requester,
            status: t.status,
            epoch: t.epoch,
            node: t.node,
            nextSegment: t.nextSegment,
            segmentDueBlock: t.segmentDueBlock,
            reward: t.reward,
            lockedStake: t.status == TaskStatus.Claimed ? t.params.nodeStake : 0,
            specHash: t.specHash,
            openDisputes: t.openDisputes,
            params: t.params,
            releases: t.releases,
            rolledBackFrom: t.rolledBackFrom
        });
    }

    function segmentCount(Task storage t) internal view returns (uint256) {
        return t.params.totalSteps / t.params.segmentSteps;
    }

    /// @notice The node of a claimed task missed its due block with segments left to commit.
    function stalled(Task storage t) internal view returns (bool) {
        return t.nextSegment < segmentCount(t) && block.number > t.segmentDueBlock;
    }

    /// @notice What a lost dispute slashes from the task's node: disputeSlashBps of nodeStake.
    function disputeSlash(Task storage t, MarketParams storage m) internal view returns (uint256) {
        return uint256(t.params.nodeStake) * m.disputeSlashBps / 10_000;
    }

    /// @notice Slashes disputeSlash from `node` under lock `key` (that lock first): requesterShareBps
    ///         of it to the requester, the rest to the caller, the adjudicator.
    function slashLostDispute(Task storage t, IStakeManager stakes, MarketParams storage m, bytes32 key, address node)
        internal
        returns (uint256 toRequester, uint256 toAdjudicator)
    {
        uint256 amount = disputeSlash(t, m);
        uint256 share = amount * m.requesterShareBps / 10_000;
        toRequester = stakes.slash(node, key, share, t.requester);
        toAdjudicator = stakes.slash(node, key, amount - share, msg.sender);
    }

    /// @notice The obligation under which the node of `epoch` locks its stake for the task.
    function lockKey(TaskId taskId, uint32 epoch) internal pure returns (bytes32) {
        return keccak256(abi.encode(taskId, epoch));
    }

    /// @notice Opens the task again from segment `from` in a new epoch, with no node.
    function reopenAt(Task storage t, TaskId id, uint256 from) internal {
        uint32 epoch = t.epoch + 1;
        t.epoch = epoch;
        t.nextSegment = uint32(from);
        t.status = TaskStatus.Open;
        t.node = address(0);
        t.segmentDueBlock = 0;
        emit ITaskMarket.TaskReopened(id, from, epoch);
    }

    /// @notice Counts a release; returns the count and the segment the task reopens from (one lower
    ///         for StartCheckpointUnavailable: the withholder no longer serves its last segment, whose
    ///         pay is forfeited unless someone serves it again before the task ends).
    function noteRelease(Task storage t, ReleaseReason reason) internal returns (uint8 n, uint256 from) {
        n = t.releases + 1;
        t.releases = n;
        from = t.nextSegment;
        if (reason == ReleaseReason.StartCheckpointUnavailable) {
            if (from > t.rolledBackFrom) t.rolledBackFrom = uint32(from);
            from -= 1;
        }
    }

    /// @notice Reverts unless the caller, the task's node, may release it now for `reason`: it
    ///         committed nothing since its claim, within `window` blocks of the claim (and before
    ///         the due block); a start-checkpoint release needs a prefix to roll back.
    function checkRelease(Task storage t, TaskId id, ReleaseReason reason, uint256 window) internal view {
        if (t.status != TaskStatus.Claimed) revert ITaskMarket.WrongStatus(id, t.status);
        if (msg.sender != t.node) revert ITaskMarket.NotTaskNode(id, msg.sender);
        if (reason == ReleaseReason.None) revert ITaskMarket.NoReleaseReason(id);
        // INVARIANT: a free release only gives back a task whose inputs the node never had: nothing
        // committed since the claim, and within the release window of it.
        if (t.nextSegment != t.claimSegment) revert ITaskMarket.CommittedSinceClaim(id, t.claimSegment);
        // No commit since the claim, so the due block is still the claim's.
        uint256 claimedAt = uint256(t.segmentDueBlock) - t.params.segmentDeadline;
        uint256 closesAt = claimedAt + (window < t.params.segmentDeadline ? window : t.params.segmentDeadline);
        if (block.number > closesAt) revert ITaskMarket.ReleaseWindowClosed(id, closesAt);
        if (reason == ReleaseReason.StartCheckpointUnavailable && t.nextSegment == 0) {
            revert ITaskMarket.NothingToRollBack(id);
        }
    }

    /// @notice Ends a task that did not complete: each current final segment's committer is paid
    ///         reward / segmentCount, the pay of segments rolled back and never served again
    ///         ([nextSegment, rolledBackFrom)) goes to `treasury`, the rest to the requester.
    function settle(
        Task storage t,
        TaskId id,
        mapping(uint256 k => SegmentLedger.Segment) storage segs,
        mapping(uint32 epoch => address node) storage nodes,
        IERC20 token,
        address treasury
    ) internal {
        uint256 reward = t.reward;
        uint256 count = segmentCount(t);
        uint256 done = t.nextSegment;
        t.status = TaskStatus.Cancelled;
        t.reward = 0;
        uint256 paid = SegmentLedger.payPrefix(segs, nodes, token, done, count, reward);
        uint256 high = t.rolledBackFrom;
        uint256 forfeited;
        // INVARIANT: a requester never gets back the pay of a segment that was served and lost to a
        // rollback, so a lie that rolls the prefix back never refunds it more.
        if (high > done) {
            forfeited = reward * (high - done) / count;
            token.safeTransfer(treasury, forfeited);
            emit ITaskMarket.PayForfeited(id, high - done, forfeited);
        }
        uint256 refunded = reward - paid - forfeited;
        token.safeTransfer(t.requester, refunded);
        emit ITaskMarket.TaskCancelled(id, refunded, paid);
    }
}
