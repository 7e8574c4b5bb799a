// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ITaskMarket} from "./interfaces/ITaskMarket.sol";
import {IStakeManager} from "./interfaces/IStakeManager.sol";
import {TaskId, DisputeId, TaskParams, TaskStatus, TaskView, SegmentView} from "./types/Ids.sol";

/// @title TaskMarket
/// @notice Task market and checkpoint ledger. See ITaskMarket.
contract TaskMarket is ITaskMarket, ReentrancyGuard {
    using SafeERC20 for IERC20;

    struct Task {
        address requester;
        uint32 epoch;
        uint32 nextSegment;
        TaskStatus status;
        address node;
        uint64 segmentDueBlock;
        uint32 openDisputes;
        uint128 reward;
        uint128 lockedStake;
        bytes32 specHash;
        TaskParams params;
    }

    struct Segment {
        bytes32 traceRoot;
        bytes32 endStateHash;
        uint64 committedAt;
        uint32 openDisputes;
    }

    uint256 private constant BPS = 10_000;
    /// @notice Most segments per task: bounds the loops of claimReward and the reopen.
    uint256 public constant MAX_SEGMENTS = 4096;

    IERC20 private immutable _token;
    IStakeManager private immutable _stakes;
    uint256 private immutable _stallSlashBps;
    address private immutable _owner;
    address private _adjudicator;
    uint256 private _taskCount;
    uint256 private _totalEscrow;
    mapping(uint256 => Task) private _tasks;
    mapping(uint256 => mapping(uint256 => Segment)) private _segments;

    constructor(address token_, address stakeManager_, uint256 stallSlashBps_) {
        if (token_ == address(0) || stakeManager_ == address(0)) revert ZeroAddress();
        if (stallSlashBps_ > BPS) revert ZeroParam();
        _token = IERC20(token_);
        _stakes = IStakeManager(stakeManager_);
        _stallSlashBps = stallSlashBps_;
        _owner = msg.sender;
    }

    modifier onlyAdjudicator() {
        if (msg.sender != _adjudicator || msg.sender == address(0)) revert NotAdjudicator(msg.sender);
        _;
    }

    /// @inheritdoc ITaskMarket
    function setAdjudicator(address adjudicator_) external {
        if (msg.sender != _owner) revert NotOwner(msg.sender);
        if (_adjudicator != address(0)) revert AlreadyWired();
        if (adjudicator_ == address(0)) revert ZeroAddress();
        _adjudicator = adjudicator_;
        emit AdjudicatorSet(adjudicator_);
    }

    /// @inheritdoc ITaskMarket
    function createTask(string calldata specCid, bytes32 specHash, uint256 reward, TaskParams calldata params)
        external
        nonReentrant
        returns (TaskId taskId)
    {
        if (specHash == bytes32(0)) revert ZeroHash();
        if (params.totalSteps == 0 || params.challengeWindow == 0 || params.segmentDeadline == 0) revert ZeroParam();
        uint256 s = params.segmentSteps;
        // INVARIANT: segmentSteps is a power of two, so every trace tree is perfect.
        if (s == 0 || s & (s - 1) != 0) revert SegmentStepsNotPowerOfTwo(s);
        if (params.totalSteps % s != 0) revert TotalStepsNotMultiple(params.totalSteps, s);
        if (params.totalSteps / s > MAX_SEGMENTS) revert TooManySegments(params.totalSteps / s, MAX_SEGMENTS);
        uint256 id = ++_taskCount;
        Task storage t = _tasks[id];
        t.requester = msg.sender;
        t.status = TaskStatus.Open;
        t.reward = SafeCast.toUint128(reward);
        t.specHash = specHash;
        t.params = params;
        _totalEscrow += reward;
        taskId = TaskId.wrap(id);
        _token.safeTransferFrom(msg.sender, address(this), reward);
        emit TaskCreated(taskId, msg.sender, specCid, specHash, reward, params);
    }

    /// @inheritdoc ITaskMarket
    function cancelTask(TaskId taskId) external nonReentrant {
        Task storage t = _task(taskId);
        if (msg.sender != t.requester) revert NotRequester(taskId, msg.sender);
        if (t.status != TaskStatus.Open || t.nextSegment != 0) revert WrongStatus(taskId, t.status);
        uint256 reward = t.reward;
        t.status = TaskStatus.Cancelled;
        t.reward = 0;
        _totalEscrow -= reward;
        _token.safeTransfer(msg.sender, reward);
        emit TaskCancelled(taskId, reward);
    }

    /// @inheritdoc ITaskMarket
    function claimTask(TaskId taskId) external {
        Task storage t = _task(taskId);
        if (t.status != TaskStatus.Open) revert WrongStatus(taskId, t.status);
        IStakeManager.StakeInfo memory info = _stakes.stakeInfo(msg.sender);
        // INVARIANT: a jailed node cannot claim.
        if (block.number < info.jailedUntil) revert NodeJailed(msg.sender, info.jailedUntil);
        uint128 stake = t.params.nodeStake;
        _stakes.lock(msg.sender, stake);
        uint256 due = block.number + t.params.segmentDeadline;
        t.status = TaskStatus.Claimed;
        t.node = msg.sender;
        t.lockedStake = stake;
        t.segmentDueBlock = uint64(due);
        emit TaskClaimed(taskId, msg.sender, stake, t.nextSegment, due);
    }

    /// @inheritdoc ITaskMarket
    function commitSegment(
        TaskId taskId,
        uint256 k,
        bytes32 traceRoot,
        bytes32 endStateHash,
        string calldata checkpointCid,
        string calldata leavesCid
    ) external {
        Task storage t = _task(taskId);
        if (t.status != TaskStatus.Claimed) revert WrongStatus(taskId, t.status);
        if (msg.sender != t.node) revert NotTaskNode(taskId, msg.sender);
        uint256 next = t.nextSegment;
        uint256 count = t.params.totalSteps / t.params.segmentSteps;
        // INVARIANT: segments are contiguous and committed once each.
        if (k != next || k >= count) revert SegmentOutOfOrder(taskId, k, next);
        if (block.number > t.segmentDueBlock) revert SegmentDeadlinePassed(taskId, t.segmentDueBlock);
        if (traceRoot == bytes32(0) || endStateHash == bytes32(0)) revert ZeroHash();
        Segment storage seg = _segments[TaskId.unwrap(taskId)][k];
        seg.traceRoot = traceRoot;
        seg.endStateHash = endStateHash;
        seg.committedAt = uint64(block.number);
        t.nextSegment = uint32(k + 1);
        t.segmentDueBlock = uint64(block.number + t.params.segmentDeadline);
        emit SegmentCommitted(taskId, k, traceRoot, endStateHash, checkpointCid, leavesCid, msg.sender);
    }

    /// @inheritdoc ITaskMarket
    function timeoutStall(TaskId taskId) external nonReentrant {
        Task storage t = _task(taskId);
        if (t.status != TaskStatus.Claimed) revert WrongStatus(taskId, t.status);
        uint256 count = t.params.totalSteps / t.params.segmentSteps;
        if (t.nextSegment >= count || block.number <= t.segmentDueBlock) revert NotStalled(taskId, t.segmentDueBlock);
        address node = t.node;
        uint256 locked = t.lockedStake;
        _stakes.unlock(node, locked);
        uint256 slashed = _stakes.slash(node, locked * _stallSlashBps / BPS, t.requester);
        emit NodeSlashed(taskId, node, slashed, DisputeId.wrap(0));
        _reopen(taskId, t, count);
    }

    /// @inheritdoc ITaskMarket
    function claimReward(TaskId taskId) external nonReentrant {
        Task storage t = _task(taskId);
        if (t.status != TaskStatus.Claimed) revert WrongStatus(taskId, t.status);
        if (msg.sender != t.node) revert NotTaskNode(taskId, msg.sender);
        uint256 count = t.params.totalSteps / t.params.segmentSteps;
        uint256 finals = _finalPrefix(taskId, t, count);
        // INVARIANT: the reward is paid once, and only when every segment is final.
        if (finals < count) revert NotAllFinal(taskId, finals);
        uint256 reward = t.reward;
        t.status = TaskStatus.Completed;
        t.reward = 0;
        _totalEscrow -= reward;
        _stakes.unlock(msg.sender, t.lockedStake);
        t.lockedStake = 0;
        _token.safeTransfer(msg.sender, reward);
        emit RewardClaimed(taskId, msg.sender, reward);
    }

    /// @inheritdoc ITaskMarket
    function noteDisputeOpened(TaskId taskId, uint256 k)
        external
        onlyAdjudicator
        returns (address node, bytes32 traceRoot, uint256 segmentSteps, uint32 epoch)
    {
        Task storage t = _task(taskId);
        if (k >= t.nextSegment) revert SegmentNotCommitted(taskId, k);
        Segment storage seg = _segments[TaskId.unwrap(taskId)][k];
        uint256 closesAt = seg.committedAt + t.params.challengeWindow;
        // INVARIANT: a segment can only be disputed inside its challenge window, so a final segment stays final.
        if (block.number > closesAt) revert ChallengeWindowClosed(taskId, k, closesAt);
        uint32 open = seg.openDisputes + 1;
        seg.openDisputes = open;
        t.openDisputes += 1;
        emit SegmentDisputeCount(taskId, k, open);
        return (t.node, seg.traceRoot, t.params.segmentSteps, t.epoch);
    }

    /// @inheritdoc ITaskMarket
    function noteDisputeResolved(
        DisputeId disputeId,
        TaskId taskId,
        uint256 k,
        uint32 epoch,
        address node,
        bool nodeLost,
        uint256 slashAmount
    ) external onlyAdjudicator nonReentrant returns (uint256 slashed) {
        Task storage t = _task(taskId);
        Segment storage seg = _segments[TaskId.unwrap(taskId)][k];
        uint32 open = seg.openDisputes - 1;
        seg.openDisputes = open;
        t.openDisputes -= 1;
        emit SegmentDisputeCount(taskId, k, open);
        if (!nodeLost) return 0;
        if (t.status == TaskStatus.Claimed && t.epoch == epoch && t.node == node && k < t.nextSegment) {
            _stakes.unlock(node, t.lockedStake);
            // INVARIANT: a lost segment never becomes final: reopen at or below it.
            uint256 count = t.params.totalSteps / t.params.segmentSteps;
            _reopen(taskId, t, k < count ? k : count);
        }
        slashed = _stakes.slash(node, slashAmount, msg.sender);
        emit NodeSlashed(taskId, node, slashed, disputeId);
    }

    /// @inheritdoc ITaskMarket
    function task(TaskId taskId) external view returns (TaskView memory v) {
        Task storage t = _task(taskId);
        v = TaskView({
            requester: t.requester,
            status: t.status,
            epoch: t.epoch,
            node: t.node,
            nextSegment: t.nextSegment,
            segmentDueBlock: t.segmentDueBlock,
            reward: t.reward,
            lockedStake: t.lockedStake,
            specHash: t.specHash,
            openDisputes: t.openDisputes,
            params: t.params
        });
    }

    /// @inheritdoc ITaskMarket
    function segment(TaskId taskId, uint256 k) external view returns (SegmentView memory v) {
        Task storage t = _task(taskId);
        Segment storage seg = _segments[TaskId.unwrap(taskId)][k];
        v = SegmentView({
            traceRoot: seg.traceRoot,
            endStateHash: seg.endStateHash,
            committedAt: seg.committedAt,
            openDisputes: seg.openDisputes,
            committed: k < t.nextSegment,
            isFinal: _isFinal(taskId, t, k)
        });
    }

    /// @inheritdoc ITaskMarket
    function isFinal(TaskId taskId, uint256 k) external view returns (bool) {
        return _isFinal(taskId, _task(taskId), k);
    }

    /// @inheritdoc ITaskMarket
    function finalSegmentCount(TaskId taskId) public view returns (uint256) {
        Task storage t = _task(taskId);
        return _finalPrefix(taskId, t, t.nextSegment);
    }

    /// @inheritdoc ITaskMarket
    function lastFinalSegment(TaskId taskId) external view returns (bool exists, uint256 k) {
        uint256 n = finalSegmentCount(taskId);
        return n == 0 ? (false, 0) : (true, n - 1);
    }

    /// @inheritdoc ITaskMarket
    function segmentCount(TaskId taskId) external view returns (uint256) {
        Task storage t = _task(taskId);
        return t.params.totalSteps / t.params.segmentSteps;
    }

    /// @inheritdoc ITaskMarket
    function taskCount() external view returns (uint256) {
        return _taskCount;
    }

    /// @inheritdoc ITaskMarket
    function stallSlashBps() external view returns (uint256) {
        return _stallSlashBps;
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
    function adjudicator() external view returns (address) {
        return _adjudicator;
    }

    /// @notice The owner (may call setAdjudicator once).
    function owner() external view returns (address) {
        return _owner;
    }

    function _task(TaskId taskId) private view returns (Task storage t) {
        t = _tasks[TaskId.unwrap(taskId)];
        if (t.status == TaskStatus.None) revert UnknownTask(taskId);
    }

    /// @dev Segment k is final: committed, window passed, no open dispute on it or any earlier segment.
    function _isFinal(TaskId taskId, Task storage t, uint256 k) private view returns (bool) {
        if (k >= t.nextSegment) return false;
        mapping(uint256 => Segment) storage segs = _segments[TaskId.unwrap(taskId)];
        if (block.number <= segs[k].committedAt + t.params.challengeWindow) return false;
        if (t.openDisputes == 0) return true;
        for (uint256 j; j <= k; ++j) {
            if (segs[j].openDisputes != 0) return false;
        }
        return true;
    }

    /// @dev Number of leading final segments among the first `upTo` (windows close in commit order).
    function _finalPrefix(TaskId taskId, Task storage t, uint256 upTo) private view returns (uint256 n) {
        mapping(uint256 => Segment) storage segs = _segments[TaskId.unwrap(taskId)];
        uint256 next = t.nextSegment;
        if (upTo > next) upTo = next;
        uint256 window = t.params.challengeWindow;
        while (n < upTo) {
            Segment storage seg = segs[n];
            if (seg.openDisputes != 0 || block.number <= seg.committedAt + window) break;
            ++n;
        }
    }

    /// @dev Reopens the task from its final prefix (capped at `cap`); the node's lock was released by the caller.
    function _reopen(TaskId taskId, Task storage t, uint256 cap) private {
        uint256 from = _finalPrefix(taskId, t, cap);
        uint32 epoch = t.epoch + 1;
        t.epoch = epoch;
        t.nextSegment = uint32(from);
        t.status = TaskStatus.Open;
        t.node = address(0);
        t.lockedStake = 0;
        t.segmentDueBlock = 0;
        emit TaskReopened(taskId, from, epoch);
    }
}
