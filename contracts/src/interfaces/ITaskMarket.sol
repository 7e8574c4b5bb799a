// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {
    TaskId,
    DisputeId,
    Outcome,
    TaskParams,
    TaskStatus,
    TaskView,
    SegmentView,
    SegmentRoots,
    MarketParams,
    ReleaseReason
} from "../types/Ids.sol";
import {StepGraph} from "../types/RefereeTypes.sol";

/// @title ITaskMarket
/// @notice Knowledge-distillation task market and checkpoint ledger. Requesters escrow a reward;
///         a node claims (locking `nodeStake`), commits one Merkle trace root per segment, and
///         claims the reward once every segment is final. Time is in blocks. Each task's disputes
///         are settled by one of the market's two adjudicators, fixed at creation: the referee
///         (OneStepAdjudicator) for a task created with its step graph (createTaskWithGraph), the
///         jury (JuryAdjudicator) otherwise (createTask: profiles without a step graph).
interface ITaskMarket {
    error UnknownTask(TaskId taskId);
    error WrongStatus(TaskId taskId, TaskStatus actual);
    error SegmentStepsNotPowerOfTwo(uint256 segmentSteps);
    error TotalStepsNotMultiple(uint256 totalSteps, uint256 segmentSteps);
    /// @notice totalSteps / segmentSteps exceeds `max` (finality checks loop over segments).
    error TooManySegments(uint256 count, uint256 max);
    error ZeroParam();
    error ZeroHash();
    error LeafCount(uint256 got, uint256 segmentSteps);
    error TraceRootMismatch(TaskId taskId, uint256 k, bytes32 rootOfLeaves);
    error NotRequester(TaskId taskId, address caller);
    error NotTaskNode(TaskId taskId, address caller);
    error NodeJailed(address node, uint256 jailedUntil);
    error SegmentOutOfOrder(TaskId taskId, uint256 k, uint256 expected);
    error SegmentDeadlinePassed(TaskId taskId, uint256 dueBlock);
    error NotStalled(TaskId taskId, uint256 dueBlock);
    error NotAllFinal(TaskId taskId, uint256 firstNonFinal);
    error SegmentNotCommitted(TaskId taskId, uint256 k);
    /// @notice The roots passed for segment `k` are not the ones its current commitment holds (read
    ///         them from the SegmentCommitted event of (taskId, k) whose roots hash to
    ///         segment(taskId, k).rootsDigest).
    error SegmentRootsMismatch(TaskId taskId, uint256 k);
    error ChallengeWindowClosed(TaskId taskId, uint256 k, uint256 closedAt);
    /// @notice `caller` is not the adjudicator of `taskId` (`adjudicator`, fixed at its creation).
    error NotTaskAdjudicator(TaskId taskId, address caller, address adjudicator);
    error NotOwner(address caller);
    error AlreadyWired();
    error ZeroAddress();
    /// @notice Tasks wait for the adjudicator to be wired (nothing could dispute them before).
    error NotWired();
    /// @notice `adjudicator` does not settle for this market, or the StakeManager has not authorised
    ///         both (wire the StakeManager first, with the same pair).
    error WiringMismatch(address adjudicator);
    /// @notice The task still has `open` unresolved disputes: cancel once they are resolved.
    error DisputesOpen(TaskId taskId, uint256 open);
    /// @notice releaseTask needs a reason (InputsUnavailable or StartCheckpointUnavailable).
    error NoReleaseReason(TaskId taskId);
    /// @notice The node committed since its claim (from segment `claimSegment`): it had its inputs,
    ///         so it cannot release for free (a stall is slashed).
    error CommittedSinceClaim(TaskId taskId, uint256 claimSegment);
    /// @notice The free release closed at block `closedAt` (releaseWindow after the claim, capped by
    ///         the segment deadline).
    error ReleaseWindowClosed(TaskId taskId, uint256 closedAt);
    /// @notice The task starts from the spec's initial state (segment 0): no checkpoint to roll back.
    error NothingToRollBack(TaskId taskId);
    /// @notice `node` released this task before: it cannot claim it again.
    error AlreadyReleased(TaskId taskId, address node);

    /// @notice A requester posted a task and escrowed `reward`.
    event TaskCreated(
        TaskId indexed taskId, address indexed requester, string specCid, bytes32 specHash, uint256 reward, TaskParams params
    );
    /// @notice The task ended without completing (the requester cancelled it, or its last free
    ///         release was used): `paid` went to the committers of its final segments (pro rata),
    ///         `refunded` back to the requester (less any PayForfeited).
    event TaskCancelled(TaskId indexed taskId, uint256 refunded, uint256 paid);
    /// @notice `node` gave the task back for free (`reason`); it reopens from `fromSegment` (one
    ///         segment lower for StartCheckpointUnavailable). `releases` counts the task's releases.
    event TaskReleased(
        TaskId indexed taskId, address indexed node, ReleaseReason reason, uint256 fromSegment, uint8 releases
    );
    /// @notice At the end of a task, the pay of `segments` segments rolled back (a withheld start
    ///         checkpoint) and not served again went to the treasury: `amount`.
    event PayForfeited(TaskId indexed taskId, uint256 segments, uint256 amount);
    /// @notice `node` claimed the task (locking `stake`); segment `nextSegment` is due at `dueBlock`.
    event TaskClaimed(TaskId indexed taskId, address indexed node, uint256 stake, uint256 nextSegment, uint256 dueBlock);
    /// @notice `node` committed segment `k` (steps k*S+1 .. (k+1)*S); `leaves` rebuild `traceRoot`.
    event SegmentCommitted(
        TaskId indexed taskId,
        uint256 indexed k,
        bytes32 traceRoot,
        bytes32 endStateHash,
        string checkpointCid,
        string leavesCid,
        address indexed node,
        bytes32[] leaves
    );
    /// @notice `node` lost `amount` of stake on this task (`disputeId` 0: it stalled).
    event NodeSlashed(TaskId indexed taskId, address indexed node, uint256 amount, DisputeId disputeId);
    /// @notice The task is open again from segment `fromSegment` (its last final segment + 1).
    event TaskReopened(TaskId indexed taskId, uint256 fromSegment, uint32 epoch);
    /// @notice A dispute on segment `k` was opened (counted) or closed.
    event SegmentDisputeCount(TaskId indexed taskId, uint256 indexed k, uint32 openDisputes);
    /// @notice `node` claimed the reward; its stake unlocked.
    event RewardClaimed(TaskId indexed taskId, address indexed node, uint256 reward);
    /// @notice The owner wired the market's two adjudicators (once).
    event AdjudicatorsSet(address jury, address referee);
    /// @notice The disputes of `taskId` go to `adjudicator` only: the referee when `refereed` (the
    ///         task was created with its step graph, StepGraphRegistered in the same transaction),
    ///         else the jury.
    event TaskAdjudicator(TaskId indexed taskId, address adjudicator, bool refereed);

    /// @notice Posts a task; transfers `reward` from the caller into escrow. Returns its id. Every
    ///         window, deadline and size must lie within params() (ParamOutOfBounds otherwise). Its
    ///         disputes go to the jury (for profiles without a step graph: old stock-torch tasks).
    function createTask(string calldata specCid, bytes32 specHash, uint256 reward, TaskParams calldata terms)
        external
        returns (TaskId taskId);
    /// @notice As createTask, with the task's step graph, registered with the referee in the same
    ///         transaction (OneStepAdjudicator.registerStepGraph: BadGraph if malformed or its
    ///         totalSteps is not the task's). Its disputes go to the referee; every node and auditor
    ///         recomputes the roots from the spec and the teacher before it claims or audits.
    function createTaskWithGraph(
        string calldata specCid,
        bytes32 specHash,
        uint256 reward,
        TaskParams calldata terms,
        StepGraph calldata graph
    ) external returns (TaskId taskId);
    /// @notice Requester cancels a task that nobody is working on (open, or claimed and past its due
    ///         block: the stall is timed out first) and with no open dispute: each final segment's
    ///         committer is paid reward / segmentCount, the pay of segments lost to a rollback goes
    ///         to the treasury (PayForfeited), the rest is refunded.
    function cancelTask(TaskId taskId) external;
    /// @notice Claims an open task; locks `params.nodeStake` of the caller's stake. Jailed nodes and
    ///         nodes that released this task before cannot.
    function claimTask(TaskId taskId) external;
    /// @notice The task's node gives it back without a slash because its inputs are unavailable:
    ///         only if it committed nothing since its claim, within releaseWindow blocks of the claim
    ///         (and before the due block). StartCheckpointUnavailable also rolls the prefix back by
    ///         one segment (its committer's pay is forfeited if the task ends before it is served
    ///         again). The task reopens (epoch + 1), the node's stake unlocks, it can never claim
    ///         the task again; the maxReleases-th release ends the task (settled as a cancel).
    function releaseTask(TaskId taskId, ReleaseReason reason) external;
    /// @notice Commits segment `k` (must be the next one, before its due block). CIDs go to the event
    ///         only, and so do the segment's `leaves` (one per step, in step order), which must rebuild
    ///         `traceRoot`: every leaf of every commitment is on chain, so a challenger can prove any
    ///         step without the node's leaves file.
    ///         The record is one storage slot: a digest of the two roots, the block and the epoch
    ///         (whose node, recorded at the claim, is the committer); the roots themselves go to
    ///         SegmentCommitted, and callers pass them back (checkRoots).
    function commitSegment(
        TaskId taskId,
        uint256 k,
        bytes32 traceRoot,
        bytes32 endStateHash,
        string calldata checkpointCid,
        string calldata leavesCid,
        bytes32[] calldata leaves
    ) external;
    /// @notice Anyone: the node missed the segment deadline. Slashes `stallSlashBps` of its stake to the
    ///         treasury (never the requester, who can cause a stall by withholding inputs), keeps
    ///         locked what the task's open disputes can still slash, unlocks the rest, and reopens
    ///         the task from the last final segment.
    function timeoutStall(TaskId taskId) external;
    /// @notice The node claims the reward once every segment is final; its stake unlocks.
    function claimReward(TaskId taskId) external;

    /// @notice The task's adjudicator only (adjudicatorOf): counts an open dispute on segment `k`
    ///         (inside its challenge window) whose current commitment holds `roots`
    ///         (SegmentRootsMismatch otherwise) and returns what the dispute binds to: the
    ///         committer, the segment size and the commit's epoch.
    function noteDisputeOpened(TaskId taskId, uint256 k, SegmentRoots calldata roots)
        external
        returns (address node, uint256 segmentSteps, uint32 epoch);
    /// @notice The task's adjudicator only (adjudicatorOf): closes a dispute on segment `k` of `epoch`. NodeWrong slashes
    ///         disputeSlashBps of nodeStake from `node` (requesterShareBps of it to the requester, the
    ///         rest to the adjudicator, returned as `slashed`); NodeWrong and Void reopen the task at
    ///         or below `k` if it is still in `epoch` with that node. The node's lock for the epoch
    ///         keeps what its other open disputes can slash.
    function noteDisputeResolved(
        DisputeId disputeId,
        TaskId taskId,
        uint256 k,
        uint32 epoch,
        address node,
        Outcome outcome
    ) external returns (uint256 slashed);
    /// @notice One-time wiring by the owner, after StakeManager.wire: the jury and the referee must
    ///         be two contracts that settle for this market, authorised by the same StakeManager.
    function setAdjudicators(address jury, address referee) external;

    /// @notice The task.
    function task(TaskId taskId) external view returns (TaskView memory);
    /// @notice Segment `k`'s record (committed = part of the current trace). It holds a digest of
    ///         the roots, not the roots: they are in the SegmentCommitted event of (taskId, k) whose
    ///         traceRoot and endStateHash hash to `rootsDigest` (SegmentLedger.digest).
    function segment(TaskId taskId, uint256 k) external view returns (SegmentView memory);
    /// @notice Reverts unless segment `k` is committed (SegmentNotCommitted) and its current
    ///         commitment holds `roots` (SegmentRootsMismatch).
    function checkRoots(TaskId taskId, uint256 k, SegmentRoots calldata roots) external view;
    /// @notice The node that claimed the task in `epoch` (the committer of that epoch's segments);
    ///         zero if nobody claimed it in that epoch.
    function epochNode(TaskId taskId, uint32 epoch) external view returns (address);
    /// @notice Segment `k` is committed, its window has passed, and no dispute on it or an earlier
    ///         segment is open.
    function isFinal(TaskId taskId, uint256 k) external view returns (bool);
    /// @notice Number of leading final segments.
    function finalSegmentCount(TaskId taskId) external view returns (uint256);
    /// @notice The last final segment, if any.
    function lastFinalSegment(TaskId taskId) external view returns (bool exists, uint256 k);
    /// @notice totalSteps / segmentSteps.
    function segmentCount(TaskId taskId) external view returns (uint256);
    /// @notice Number of tasks created so far (ids are 1..taskCount).
    function taskCount() external view returns (uint256);
    /// @notice Market parameters (slash shares and the bounds createTask enforces).
    function params() external view returns (MarketParams memory);
    /// @notice What a lost dispute slashes from the node of `taskId` (disputeSlashBps of nodeStake).
    function disputeSlash(TaskId taskId) external view returns (uint256);
    /// @notice Whether `node` released `taskId` (it cannot claim it again).
    function hasReleased(TaskId taskId, address node) external view returns (bool);
    /// @notice Unresolved disputes on `taskId` opened while it was in `epoch`.
    function openDisputesOf(TaskId taskId, uint32 epoch) external view returns (uint256);
    /// @notice Sum of escrowed rewards (what this contract must hold).
    function totalEscrow() external view returns (uint256);
    function token() external view returns (address);
    function stakeManager() external view returns (address);
    /// @notice The JuryAdjudicator (tasks created without a step graph).
    function jury() external view returns (address);
    /// @notice The OneStepAdjudicator (tasks created with a step graph).
    function referee() external view returns (address);
    /// @notice The adjudicator of `taskId`, fixed at its creation: the only one that can open,
    ///         settle and slash its disputes.
    function adjudicatorOf(TaskId taskId) external view returns (address);
}
