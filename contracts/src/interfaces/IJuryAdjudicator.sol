// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IStepAdjudicator} from "./IStepAdjudicator.sol";
import {TaskId, DisputeId, DisputePhase, DisputeView, VoteView, JuryParams} from "../types/Ids.sol";

/// @title IJuryAdjudicator
/// @notice IStepAdjudicator settled by a stake-weighted jury drawn from the StakeManager's juror pool.
///         Jurors replay the segment and commit, then reveal, the leaf they computed. Payouts are
///         credited and pulled with claimPayout(). Time is in blocks. The jury stays available for
///         tasks whose profile has no step graph (old stock-torch tasks, TaskMarket.createTask): a
///         task created with its step graph is settled by the market's OneStepAdjudicator, and the
///         market refuses this contract on it (NotTaskAdjudicator).
interface IJuryAdjudicator is IStepAdjudicator {
    error WrongPhase(DisputeId disputeId, DisputePhase phase);
    error DrawTooEarly(DisputeId disputeId, uint256 drawAfter);
    error NotDrawnJuror(DisputeId disputeId, address caller);
    error AlreadyCommitted(DisputeId disputeId, address juror);
    error NotCommitted(DisputeId disputeId, address juror);
    error AlreadyRevealed(DisputeId disputeId, address juror);
    error CommitmentMismatch(DisputeId disputeId, address juror);
    error NothingOwed(address account);
    error ZeroAddress();
    /// @notice Only `available` eligible jurors could be drawn; a draw needs `quorum`. Retry later
    ///         (stake frees as other disputes end); after the draw expiry the dispute resolves Void.
    error QuorumUnavailable(DisputeId disputeId, uint256 available, uint256 quorum);
    /// @notice The draw window ended at block `expiredAt`: call resolve (the dispute is Void).
    error DrawExpired(DisputeId disputeId, uint256 expiredAt);

    /// @notice Jurors of `round` (0 or 1) were drawn; they commit until `commitDeadline`, reveal until `revealDeadline`.
    event JuryDrawn(
        DisputeId indexed disputeId, uint8 round, address[] jurors, uint256 commitDeadline, uint256 revealDeadline
    );
    /// @notice No strict majority in round 0: a new jury is drawn from block `drawAfter`.
    event RedrawScheduled(DisputeId indexed disputeId, uint256 drawAfter);
    /// @notice `juror` committed.
    event VoteCommitted(DisputeId indexed disputeId, address indexed juror);
    /// @notice `juror` revealed `leaf`.
    event VoteRevealed(DisputeId indexed disputeId, address indexed juror, bytes32 leaf);
    /// @notice `juror` was silent or outside the majority and lost `amount` (to the treasury).
    event JurorPenalised(DisputeId indexed disputeId, address indexed juror, uint256 amount);
    /// @notice `account` may pull `amount` more with claimPayout().
    event PayoutCredited(DisputeId indexed disputeId, address indexed account, uint256 amount);
    /// @notice `account` pulled `amount`.
    event PayoutClaimed(address indexed account, uint256 amount);

    /// @notice Public, from `drawAfter` to `drawAfter + drawExpiry`: draws the jury with the
    ///         randomness source. Reverts QuorumUnavailable when fewer than `quorum` can sit.
    function drawJury(DisputeId disputeId) external;
    /// @notice A drawn juror commits keccak256(abi.encode(disputeId, leaf, salt, juror)).
    function commitVote(DisputeId disputeId, bytes32 commitment) external;
    /// @notice A juror reveals its leaf (after the commit deadline, or once every juror committed).
    function revealVote(DisputeId disputeId, bytes32 leaf, bytes32 salt) external;
    /// @notice Transfers everything credited to the caller.
    function claimPayout() external returns (uint256 amount);

    /// @notice The dispute (phase derived from block.number).
    function dispute(DisputeId disputeId) external view returns (DisputeView memory);
    /// @notice The dispute's phase now.
    function phase(DisputeId disputeId) external view returns (DisputePhase);
    /// @notice Jurors of the current round.
    function jurors(DisputeId disputeId) external view returns (address[] memory);
    /// @notice `juror`'s vote in the current round.
    function vote(DisputeId disputeId, address juror) external view returns (VoteView memory);
    /// @notice The commitment a juror must send: keccak256(abi.encode(disputeId, leaf, salt, juror)).
    function voteCommitment(DisputeId disputeId, bytes32 leaf, bytes32 salt, address juror)
        external
        pure
        returns (bytes32);
    /// @notice Payout credited to `account` and not yet claimed.
    function owed(address account) external view returns (uint256);
    /// @notice The latest end-state dispute on the current commitment of segment `k` (0: none yet);
    ///         check its phase: a new one can be opened only once it is Resolved.
    function endStateDisputeOf(TaskId taskId, uint256 k) external view returns (DisputeId);
    /// @notice Number of disputes opened so far (ids are 1..disputeCount).
    function disputeCount() external view returns (uint256);
    /// @notice Jury parameters.
    function params() external view returns (JuryParams memory);
    /// @notice Bonds held for unresolved disputes plus unclaimed payouts (what this contract must hold).
    function totalHeld() external view returns (uint256);
    function token() external view returns (address);
    function randomness() external view returns (address);
}
