// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice Identifier of a task in the TaskMarket (1-based; 0 is never used).
type TaskId is uint256;

/// @notice Identifier of a dispute in the adjudicator (1-based; 0 is never used).
type DisputeId is uint256;

/// @notice Parameters a requester chooses per task. Time is in blocks.
struct TaskParams {
    /// @dev Total optimizer steps of the task; a multiple of segmentSteps.
    uint64 totalSteps;
    /// @dev Steps per segment; a power of two (so every trace tree is perfect).
    uint64 segmentSteps;
    /// @dev Blocks after a commitment during which the segment can be disputed.
    uint64 challengeWindow;
    /// @dev Blocks the node has to commit the next segment (from claim or its last commit).
    uint64 segmentDeadline;
    /// @dev Stake the node locks when it claims the task.
    uint128 nodeStake;
}

/// @notice Life cycle of a task.
enum TaskStatus {
    None,
    Open,
    Claimed,
    Completed,
    Cancelled
}

/// @notice Public view of a task.
struct TaskView {
    address requester;
    TaskStatus status;
    uint32 epoch;
    address node;
    uint32 nextSegment;
    uint64 segmentDueBlock;
    uint128 reward;
    uint128 lockedStake;
    bytes32 specHash;
    uint32 openDisputes;
    TaskParams params;
}

/// @notice Public view of one segment commitment.
struct SegmentView {
    bytes32 traceRoot;
    bytes32 endStateHash;
    uint64 committedAt;
    uint32 openDisputes;
    bool committed;
    bool isFinal;
}

/// @notice Result of a dispute (IStepAdjudicator).
enum Outcome {
    None,
    /// @dev The majority leaf equals the node's leaf.
    NodeRight,
    /// @dev The majority leaf differs from the node's leaf: node slashed and jailed.
    NodeWrong,
    /// @dev No strict majority after the redraw: the default favours the node.
    Default
}

/// @notice Phase of a dispute as bots see it (derived from stored state and block.number).
enum DisputePhase {
    None,
    /// @dev Waiting for drawJury (callable from drawAfter on).
    AwaitingDraw,
    /// @dev Drawn jurors commit until commitDeadline.
    Commit,
    /// @dev Jurors reveal until revealDeadline.
    Reveal,
    /// @dev Deadline passed (or all revealed): anyone can call resolve.
    Resolvable,
    Resolved
}

/// @notice Jury parameters, fixed at deployment. Time is in blocks, shares in basis points.
struct JuryParams {
    uint128 challengeBond;
    uint128 slashAmount;
    uint128 jurorPenalty;
    uint64 drawDelay;
    uint64 commitWindow;
    uint64 revealWindow;
    uint64 jailBlocks;
    uint16 challengerShareBps;
    uint16 jurorFeeBps;
    uint8 jurySize;
}

/// @notice Public view of a dispute.
struct DisputeView {
    TaskId taskId;
    uint256 segment;
    uint256 step;
    bytes32 nodeLeaf;
    address node;
    address challenger;
    uint32 taskEpoch;
    uint8 round;
    DisputePhase phase;
    Outcome outcome;
    uint64 drawAfter;
    uint64 commitDeadline;
    uint64 revealDeadline;
    uint8 jurorCount;
    uint8 commits;
    uint8 reveals;
    uint128 bond;
    uint128 penaltyPot;
}

/// @notice A drawn juror's vote status in the current round.
struct VoteView {
    bytes32 commitment;
    bytes32 leaf;
    bool committed;
    bool revealed;
}
