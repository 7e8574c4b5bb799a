// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ITaskMarket} from "./interfaces/ITaskMarket.sol";
import {IStakeManager} from "./interfaces/IStakeManager.sol";
import {IOneStepAdjudicator} from "./interfaces/IOneStepAdjudicator.sol";
import {Bounds} from "./libraries/Bounds.sol";
import {TokenPull} from "./libraries/TokenPull.sol";
import {SegmentLedger} from "./libraries/SegmentLedger.sol";
import {TraceMerkle} from "./libraries/TraceMerkle.sol";
import {TaskBook} from "./libraries/TaskBook.sol";
import {Wiring} from "./libraries/Wiring.sol";
import {
    TaskId, DisputeId, Outcome, TaskParams, TaskStatus, TaskView, SegmentView, SegmentRoots, MarketParams,
    ReleaseReason
} from "./types/Ids.sol";
import {StepGraph} from "./types/RefereeTypes.sol";

/// @title TaskMarket
/// @notice Task market and checkpoint ledger. See ITaskMarket.
contract TaskMarket is ITaskMarket, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using TaskBook for TaskBook.Task;

    uint256 private constant BPS = 10_000;
    /// @notice Most segments per task: bounds the loops of claimReward, cancelTask and the reopen.
    uint256 public constant MAX_SEGMENTS = 4096;

    IERC20 private immutable _token;
    IStakeManager private immutable _stakes;
    address private immutable _owner;
    MarketParams private _params;
    address private _jury;
    address private _referee;
    uint256 private _taskCount;
    uint256 private _totalEscrow;
    mapping(TaskId id => TaskBook.Task) private _tasks;
    mapping(TaskId id => mapping(uint256 k => SegmentLedger.Segment)) private _segments;
    /// @dev The node of each epoch, written once per claim: the committer of the epoch's segments.
    mapping(TaskId id => mapping(uint32 epoch => address node)) private _epochNodes;
    mapping(TaskId id => mapping(uint32 epoch => uint32 open)) private _openByEpoch;
    mapping(TaskId id => mapping(address node => bool)) private _released;

    constructor(address token_, address stakeManager_, MarketParams memory params_) {
        if (token_ == address(0) || stakeManager_ == address(0)) revert ZeroAddress();
        Bounds.checkMarket(params_);
        _token = IERC20(token_);
        _stakes = IStakeManager(stakeManager_);
        _params = params_;
        _owner = msg.sender;
    }

    /// @inheritdoc ITaskMarket
    function setAdjudicators(address jury_, address referee_) external {
        if (msg.sender != _owner) revert NotOwner(msg.sender);
        if (_jury != address(0)) revert AlreadyWired();
        Wiring.checkAdjudicators(_stakes, jury_, referee_);
        _jury = jury_;
        _referee = referee_;
        emit AdjudicatorsSet(jury_, referee_);
    }

    /// @inheritdoc ITaskMarket
    function createTask(string calldata specCid, bytes32 specHash, uint256 reward, TaskParams calldata terms)
        external
        nonReentrant
        returns (TaskId taskId)
    {
        taskId = _create(specCid, specHash, reward, terms, false);
    }

    /// @inheritdoc ITaskMarket
    function createTaskWithGraph(
        string calldata specCid,
        bytes32 specHash,
        uint256 reward,
        TaskParams calldata terms,
        StepGraph calldata graph
    ) external nonReentrant returns (TaskId taskId) {
        taskId = _create(specCid, specHash, reward, terms, true);
        // INVARIANT: a refereed task's roots are fixed in the transaction that creates it: never
        // missing, late or changed.
        IOneStepAdjudicator(_referee).registerStepGraph(taskId, graph);
    }

    /// @inheritdoc ITaskMarket
    function cancelTask(TaskId taskId) external nonReentrant {
        TaskBook.Task storage t = _task(taskId);
        if (msg.sender != t.requester) revert NotRequester(taskId, msg.sender);
        // INVARIANT: a stranded task can always be cancelled: a stalled claim is timed out first.
        if (t.status == TaskStatus.Claimed && t.stalled()) _stall(taskId, t);
        if (t.status != TaskStatus.Open) revert WrongStatus(taskId, t.status);
        if (t.openDisputes != 0) revert DisputesOpen(taskId, t.openDisputes);
        _end(taskId, t);
    }

    /// @inheritdoc ITaskMarket
    function claimTask(TaskId taskId) external {
        TaskBook.Task storage t = _task(taskId);
        if (t.status != TaskStatus.Open) revert WrongStatus(taskId, t.status);
        // INVARIANT: a node that released a task never claims it again (releases come from distinct nodes).
        if (_released[taskId][msg.sender]) revert AlreadyReleased(taskId, msg.sender);
        IStakeManager.StakeInfo memory info = _stakes.stakeInfo(msg.sender);
        // INVARIANT: a jailed node cannot claim.
        if (block.number < info.jailedUntil) revert NodeJailed(msg.sender, info.jailedUntil);
        uint128 stake = t.params.nodeStake;
        _stakes.lock(msg.sender, TaskBook.lockKey(taskId, t.epoch), stake);
        uint256 due = block.number + t.params.segmentDeadline;
        t.status = TaskStatus.Claimed;
        t.node = msg.sender;
        _epochNodes[taskId][t.epoch] = msg.sender;
        t.claimSegment = t.nextSegment;
        t.segmentDueBlock = SafeCast.toUint64(due);
        emit TaskClaimed(taskId, msg.sender, stake, t.nextSegment, due);
    }

    /// @inheritdoc ITaskMarket
    function commitSegment(
        TaskId taskId,
        uint256 k,
        bytes32 traceRoot,
        bytes32 endStateHash,
        string calldata checkpointCid,
        string calldata leavesCid,
        bytes32[] calldata leaves
    ) external {
        TaskBook.Task storage t = _task(taskId);
        if (t.status != TaskStatus.Claimed) revert WrongStatus(taskId, t.status);
        if (msg.sender != t.node) revert NotTaskNode(taskId, msg.sender);
        uint256 next = t.nextSegment;
        // INVARIANT: segments are contiguous and committed once each.
        if (k != next || k >= t.segmentCount()) revert SegmentOutOfOrder(taskId, k, next);
        if (block.number > t.segmentDueBlock) revert SegmentDeadlinePassed(taskId, t.segmentDueBlock);
        if (traceRoot == bytes32(0) || endStateHash == bytes32(0)) revert ZeroHash();
        // INVARIANT: every leaf of a commitment is published with it (data availability of the trace).
        if (leaves.length != t.params.segmentSteps) revert LeafCount(leaves.length, t.params.segmentSteps);
        bytes32 rootOfLeaves = TraceMerkle.rootCalldata(leaves);
        if (rootOfLeaves != traceRoot) revert TraceRootMismatch(taskId, k, rootOfLeaves);
        // One slot: the roots' digest, the block, the epoch (whose node is the committer); the open
        // disputes of an earlier commitment of `k` stay counted until they resolve.
        SegmentLedger.Segment storage seg = _segments[taskId][k];
        seg.digest = SegmentLedger.digest(traceRoot, endStateHash);
        seg.committedAt = SafeCast.toUint40(block.number);
        seg.epoch = t.epoch;
        t.nextSegment = uint32(k + 1);
        t.segmentDueBlock = SafeCast.toUint64(block.number + t.params.segmentDeadline);
        emit SegmentCommitted(taskId, k, traceRoot, endStateHash, checkpointCid, leavesCid, msg.sender, leaves);
    }

    /// @inheritdoc ITaskMarket
    function releaseTask(TaskId taskId, ReleaseReason reason) external nonReentrant {
        TaskBook.Task storage t = _task(taskId);
        MarketParams memory m = _params;
        t.checkRelease(taskId, reason, m.releaseWindow);
        _released[taskId][msg.sender] = true;
        (uint8 n, uint256 from) = t.noteRelease(reason);
        emit TaskReleased(taskId, msg.sender, reason, from, n);
        _reopen(taskId, t, from);
        // INVARIANT: releases are bounded: the last one ends the task (the requester gets back
        // what it put in, less the pay of the final prefix, and nothing more).
        if (n >= m.maxReleases) _end(taskId, t);
    }

    /// @inheritdoc ITaskMarket
    function timeoutStall(TaskId taskId) external nonReentrant {
        TaskBook.Task storage t = _task(taskId);
        if (t.status != TaskStatus.Claimed) revert WrongStatus(taskId, t.status);
        if (!t.stalled()) revert NotStalled(taskId, t.segmentDueBlock);
        _stall(taskId, t);
    }

    /// @inheritdoc ITaskMarket
    function claimReward(TaskId taskId) external nonReentrant {
        TaskBook.Task storage t = _task(taskId);
        if (t.status != TaskStatus.Claimed) revert WrongStatus(taskId, t.status);
        if (msg.sender != t.node) revert NotTaskNode(taskId, msg.sender);
        uint256 count = t.segmentCount();
        uint256 finals = _finalPrefix(taskId, t, count);
        // INVARIANT: the reward is paid once, and only when every segment is final.
        if (finals < count) revert NotAllFinal(taskId, finals);
        uint256 reward = t.reward;
        t.status = TaskStatus.Completed;
        t.reward = 0;
        _totalEscrow -= reward;
        _stakes.unlock(msg.sender, TaskBook.lockKey(taskId, t.epoch), type(uint256).max);
        _token.safeTransfer(msg.sender, reward);
        emit RewardClaimed(taskId, msg.sender, reward);
    }

    /// @inheritdoc ITaskMarket
    function noteDisputeOpened(TaskId taskId, uint256 k, SegmentRoots calldata roots)
        external
        returns (address node, uint256 segmentSteps, uint32 epoch)
    {
        TaskBook.Task storage t = _byAdjudicator(taskId);
        SegmentLedger.Segment storage seg =
            SegmentLedger.committed(_segments[taskId], taskId, t.nextSegment, k, roots);
        uint256 closesAt = uint256(seg.committedAt) + t.params.challengeWindow;
        // INVARIANT: a segment can only be disputed inside its challenge window, so a final segment stays final.
        if (block.number > closesAt) revert ChallengeWindowClosed(taskId, k, closesAt);
        uint32 open = seg.openDisputes + 1;
        seg.openDisputes = open;
        t.openDisputes += 1;
        epoch = seg.epoch;
        _openByEpoch[taskId][epoch] += 1;
        emit SegmentDisputeCount(taskId, k, open);
        return (_epochNodes[taskId][epoch], t.params.segmentSteps, epoch);
    }

    /// @inheritdoc ITaskMarket
    function noteDisputeResolved(
        DisputeId disputeId,
        TaskId taskId,
        uint256 k,
        uint32 epoch,
        address node,
        Outcome outcome
    ) external nonReentrant returns (uint256 slashed) {
        TaskBook.Task storage t = _byAdjudicator(taskId);
        SegmentLedger.Segment storage seg = _segments[taskId][k];
        uint32 open = seg.openDisputes - 1;
        seg.openDisputes = open;
        t.openDisputes -= 1;
        _openByEpoch[taskId][epoch] -= 1;
        emit SegmentDisputeCount(taskId, k, open);
        if (outcome == Outcome.NodeWrong) {
            uint256 paid;
            (paid, slashed) = t.slashLostDispute(_stakes, _params, TaskBook.lockKey(taskId, epoch), node);
            emit NodeSlashed(taskId, node, paid + slashed, disputeId);
        }
        bool live = t.status == TaskStatus.Claimed && t.epoch == epoch && t.node == node && k < t.nextSegment;
        if (live && outcome != Outcome.NodeRight) {
            // INVARIANT: a lost or void segment never becomes final: reopen at or below it.
            _reopen(taskId, t, k);
        } else if (!live) {
            _releaseExcess(taskId, epoch, node, t);
        }
    }

    /// @inheritdoc ITaskMarket
    function task(TaskId taskId) external view returns (TaskView memory) {
        return _task(taskId).toView();
    }

    /// @inheritdoc ITaskMarket
    function segment(TaskId taskId, uint256 k) external view returns (SegmentView memory v) {
        TaskBook.Task storage t = _task(taskId);
        SegmentLedger.Segment storage seg = _segments[taskId][k];
        bool written = seg.committedAt != 0;
        v = SegmentView({
            rootsDigest: seg.digest,
            committedAt: seg.committedAt,
            epoch: seg.epoch,
            openDisputes: seg.openDisputes,
            committed: k < t.nextSegment,
            isFinal: k < _finalPrefix(taskId, t, k + 1),
            node: written ? _epochNodes[taskId][seg.epoch] : address(0)
        });
    }

    /// @inheritdoc ITaskMarket
    function checkRoots(TaskId taskId, uint256 k, SegmentRoots calldata roots) external view {
        SegmentLedger.committed(_segments[taskId], taskId, _task(taskId).nextSegment, k, roots);
    }

    /// @inheritdoc ITaskMarket
    function epochNode(TaskId taskId, uint32 epoch) external view returns (address) {
        return _epochNodes[taskId][epoch];
    }

    /// @inheritdoc ITaskMarket
    function isFinal(TaskId taskId, uint256 k) external view returns (bool) {
        return k < _finalPrefix(taskId, _task(taskId), k + 1);
    }

    /// @inheritdoc ITaskMarket
    function finalSegmentCount(TaskId taskId) public view returns (uint256) {
        TaskBook.Task storage t = _task(taskId);
        return _finalPrefix(taskId, t, t.nextSegment);
    }

    /// @inheritdoc ITaskMarket
    function lastFinalSegment(TaskId taskId) external view returns (bool exists, uint256 k) {
        uint256 n = finalSegmentCount(taskId);
        return n == 0 ? (false, 0) : (true, n - 1);
    }

    /// @inheritdoc ITaskMarket
    function segmentCount(TaskId taskId) external view returns (uint256) {
        return _task(taskId).segmentCount();
    }

    /// @inheritdoc ITaskMarket
    function disputeSlash(TaskId taskId) external view returns (uint256) {
        return _task(taskId).disputeSlash(_params);
    }

    /// @inheritdoc ITaskMarket
    function hasReleased(TaskId taskId, address node) external view returns (bool) {
        return _released[taskId][node];
    }

    /// @inheritdoc ITaskMarket
    function openDisputesOf(TaskId taskId, uint32 epoch) external view returns (uint256) {
        return _openByEpoch[taskId][epoch];
    }

    /// @inheritdoc ITaskMarket
    function taskCount() external view returns (uint256) {
        return _taskCount;
    }

    /// @inheritdoc ITaskMarket
    function params() external view returns (MarketParams memory) {
        return _params;
    }

    /// @inheritdoc ITaskMarket
    function totalEscrow() external view returns (uint256) {
        return _totalEscrow;
    }

    /// @inheritdoc ITaskMarket
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc ITaskMarket
    function stakeManager() external view returns (address) {
        return address(_stakes);
    }

    /// @inheritdoc ITaskMarket
    function jury() external view returns (address) {
        return _jury;
    }

    /// @inheritdoc ITaskMarket
    function referee() external view returns (address) {
        return _referee;
    }

    /// @inheritdoc ITaskMarket
    function adjudicatorOf(TaskId taskId) public view returns (address) {
        return _task(taskId).refereed ? _referee : _jury;
    }

    /// @notice The owner (may call setAdjudicators once).
    function owner() external view returns (address) {
        return _owner;
    }

    function _task(TaskId taskId) private view returns (TaskBook.Task storage t) {
        t = _tasks[taskId];
        if (t.status == TaskStatus.None) revert UnknownTask(taskId);
    }

    /// @dev Posts a task (escrowing `reward`) settled by the referee when `refereed`, else the jury.
    function _create(
        string calldata specCid,
        bytes32 specHash,
        uint256 reward,
        TaskParams calldata terms,
        bool refereed
    ) private returns (TaskId taskId) {
        if (_jury == address(0)) revert NotWired();
        if (specHash == bytes32(0)) revert ZeroHash();
        Bounds.checkTerms(terms, _params, MAX_SEGMENTS);
        taskId = TaskId.wrap(++_taskCount);
        _tasks[taskId].open(msg.sender, reward, specHash, terms, refereed);
        _totalEscrow += reward;
        TokenPull.pullExact(_token, msg.sender, reward);
        emit TaskCreated(taskId, msg.sender, specCid, specHash, reward, terms);
        emit TaskAdjudicator(taskId, refereed ? _referee : _jury, refereed);
    }

    /// @dev The task, when the caller is its adjudicator (fixed at creation); the other one of the
    ///      market's two adjudicators, or anyone else, is refused.
    function _byAdjudicator(TaskId taskId) private view returns (TaskBook.Task storage t) {
        t = _task(taskId);
        address expected = t.refereed ? _referee : _jury;
        // INVARIANT: only a task's own adjudicator opens, settles and slashes its disputes.
        if (msg.sender != expected) revert NotTaskAdjudicator(taskId, msg.sender, expected);
    }

    /// @dev Slashes stallSlashBps of nodeStake to the treasury and reopens at the final prefix.
    function _stall(TaskId taskId, TaskBook.Task storage t) private {
        address node = t.node;
        uint256 amount = uint256(t.params.nodeStake) * _params.stallSlashBps / BPS;
        // INVARIANT: a stall slash never flows to a party that can cause the stall (the requester
        // can withhold inputs): it goes to the treasury.
        uint256 slashed = _stakes.slash(node, TaskBook.lockKey(taskId, t.epoch), amount, _params.treasury);
        emit NodeSlashed(taskId, node, slashed, DisputeId.wrap(0));
        _reopen(taskId, t, t.segmentCount());
    }

    /// @dev Ends an open task that did not complete (TaskBook.settle) and books it out of escrow.
    function _end(TaskId taskId, TaskBook.Task storage t) private {
        _totalEscrow -= t.reward;
        t.settle(taskId, _segments[taskId], _epochNodes[taskId], _token, _params.treasury);
    }

    /// @dev The finality rule (SegmentLedger.finalPrefix) applied to this task's first `upTo` segments.
    function _finalPrefix(TaskId taskId, TaskBook.Task storage t, uint256 upTo) private view returns (uint256) {
        return SegmentLedger.finalPrefix(_segments[taskId], t.nextSegment, t.params.challengeWindow, upTo);
    }

    /// @dev Unlocks the epoch's lock beyond what its open disputes can still slash.
    function _releaseExcess(TaskId taskId, uint32 epoch, address node, TaskBook.Task storage t) private {
        bytes32 key = TaskBook.lockKey(taskId, epoch);
        uint256 held = _stakes.lockedFor(node, address(this), key);
        // INVARIANT: while disputes of an epoch are open, what they can slash stays locked.
        uint256 keep = _openByEpoch[taskId][epoch] * t.disputeSlash(_params);
        if (held > keep) _stakes.unlock(node, key, held - keep);
    }

    /// @dev Reopens the task from its final prefix (capped at `cap`), releasing the node's lock
    ///      beyond what the epoch's open disputes can slash.
    function _reopen(TaskId taskId, TaskBook.Task storage t, uint256 cap) private {
        _releaseExcess(taskId, t.epoch, t.node, t);
        t.reopenAt(taskId, _finalPrefix(taskId, t, cap));
    }
}
