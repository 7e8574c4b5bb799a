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
    /// @dev Free releases used so far (releaseTask); the task ends at MarketParams.maxReleases.
    uint8 releases;
    /// @dev Segment count the prefix reached before its first start-checkpoint rollback (0: none);
    ///      pay for segments in [nextSegment, rolledBackFrom) is forfeited when the task ends.
    uint32 rolledBackFrom;
}

/// @notice Why a node gives a claimed task back for free (ITaskMarket.releaseTask).
enum ReleaseReason {
    None,
    /// @dev The requester's teacher or dataset cannot be fetched or does not verify.
    InputsUnavailable,
    /// @dev The committed checkpoint the task restarts from cannot be fetched or does not hold the
    ///      committed endStateHash: the last segment of the prefix is rolled back.
    StartCheckpointUnavailable
}

/// @notice The two roots a segment commitment binds. The market keeps only their digest
///         (SegmentLedger.digest); SegmentCommitted carries them, and whoever acts on a commitment
///         (disputes, attestations) passes them back to be checked against it.
struct SegmentRoots {
    bytes32 traceRoot;
    bytes32 endStateHash;
}

/// @notice Public view of one segment's record (one storage slot plus what derives from it).
struct SegmentView {
    /// @dev bytes19(keccak256(abi.encode(traceRoot, endStateHash))) of the current commitment: the
    ///      roots themselves are in the SegmentCommitted event whose roots hash to it.
    bytes19 rootsDigest;
    uint64 committedAt;
    /// @dev The task epoch it was committed in (its committer is epochNode(taskId, epoch)).
    uint32 epoch;
    uint32 openDisputes;
    bool committed;
    bool isFinal;
    /// @dev The node that committed it (zero if never committed).
    address node;
}

/// @notice What an auditor found when it replayed a segment commitment (IAuditRegistry).
enum AuditResult {
    None,
    /// @dev Every leaf, the end state and the end checkpoint match the replay.
    Ok,
    /// @dev The replay found the segment wrong (the auditor disputed it).
    Fault
}

/// @notice Result of a dispute (IStepAdjudicator).
enum Outcome {
    None,
    /// @dev The majority leaf equals the node's leaf.
    NodeRight,
    /// @dev The majority leaf differs from the node's leaf: node slashed and jailed.
    NodeWrong,
    /// @dev No quorum was drawn in time, or no strict majority after the redraw: nobody is slashed,
    ///      the segment is not final (the task reopens at it) and the challenger's bond comes back.
    Void
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

/// @notice Jury parameters, fixed at deployment (bounds: docs/protocol.md "Parameters").
///         Time is in blocks, shares in basis points.
struct JuryParams {
    /// @dev Bond a challenger escrows to open a dispute.
    uint128 challengeBond;
    /// @dev Stake each drawn juror locks; a silent or minority juror loses it to the treasury.
    uint128 jurorPenalty;
    /// @dev Blocks between opening (or a redraw) and the draw.
    uint64 drawDelay;
    /// @dev Blocks after drawAfter during which a quorum can be drawn; later the dispute is Void.
    uint64 drawExpiry;
    /// @dev Commit window before the replay allowance.
    uint64 commitWindow;
    /// @dev Steps a juror is expected to replay per block: the commit window grows by
    ///      ceil(segmentSteps / replayStepsPerBlock) blocks for each dispute.
    uint64 replayStepsPerBlock;
    /// @dev Reveal window (after the commit deadline).
    uint64 revealWindow;
    /// @dev Blocks a node that lost a dispute cannot claim tasks.
    uint64 jailBlocks;
    /// @dev Share of the slash (after the requester's share) that goes to a winning challenger.
    uint16 challengerShareBps;
    /// @dev Share of the bond paid to the revealing (majority) jurors in every outcome.
    uint16 jurorFeeBps;
    /// @dev Jurors drawn per round.
    uint8 jurySize;
    /// @dev Fewest jurors a draw may seat; a draw with fewer reverts (QuorumUnavailable).
    uint8 quorum;
    /// @dev Receives the penalties of silent and minority jurors (never a party to the dispute).
    address treasury;
}

/// @notice Task-market parameters, fixed at deployment (bounds: docs/protocol.md "Parameters").
struct MarketParams {
    /// @dev Share of nodeStake slashed (to the treasury, never a party) when the node stalls.
    uint16 stallSlashBps;
    /// @dev Share of nodeStake slashed when the node loses a dispute.
    uint16 disputeSlashBps;
    /// @dev Share of a dispute slash paid to the requester (the rest goes to the adjudicator).
    uint16 requesterShareBps;
    /// @dev Largest segmentSteps a task may ask for (bounds the jurors' replay).
    uint64 maxSegmentSteps;
    /// @dev Largest challengeWindow a task may ask for.
    uint64 maxChallengeWindow;
    /// @dev Largest segmentDeadline a task may ask for.
    uint64 maxSegmentDeadline;
    /// @dev Smallest nodeStake a task may ask for (so a wrong segment always costs a slash).
    uint128 minNodeStake;
    /// @dev Free releases per task (by distinct nodes); the last one ends the task.
    uint8 maxReleases;
    /// @dev Blocks after its claim during which a node may release the task for free.
    uint64 releaseWindow;
    /// @dev Receives stall slashes and forfeited segment pay (never a party to a task).
    address treasury;
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
    uint64 replayBlocks;
    uint8 jurorCount;
    uint8 commits;
    uint8 reveals;
    uint128 bond;
}

/// @notice A drawn juror's vote status in the current round.
struct VoteView {
    bytes32 commitment;
    bytes32 leaf;
    bool committed;
    bool revealed;
}
