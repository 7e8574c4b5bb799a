// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TaskId, DisputeId, Outcome, SegmentRoots} from "../types/Ids.sol";

/// @title IStepAdjudicator
/// @notice Answers "is this leaf the correct result of replaying this segment up to this step?".
///         The task market only talks to this interface, so a later adjudicator that needs no jury
///         can replace the jury without touching staking, tasks or the ledger.
interface IStepAdjudicator {
    error UnknownDispute(DisputeId disputeId);
    error StepOutOfRange(uint256 step, uint256 first, uint256 last);
    error ProofLength(uint256 got, uint256 expected);
    error InvalidProof(bytes32 leaf, bytes32 traceRoot);
    error ChallengerIsNode(address challenger);
    /// @notice End-state dispute `disputeId` on this commitment of segment `k` is still unresolved.
    error EndStateDisputeOpen(TaskId taskId, uint256 k, DisputeId disputeId);

    /// @notice `challenger` disputes `node`'s leaf at `step` of segment `k` (bond escrowed).
    event DisputeOpened(
        DisputeId indexed disputeId,
        TaskId indexed taskId,
        uint256 k,
        uint256 step,
        bytes32 nodeLeaf,
        address indexed challenger,
        address node,
        uint256 bond
    );
    /// @notice Dispute `disputeId` (announced by DisputeOpened with step (k+1)*S and the computed
    ///         node leaf) is an end-state dispute on the committed `endStateHash` of segment `k`.
    event EndStateDisputeOpened(DisputeId indexed disputeId, TaskId indexed taskId, uint256 k, bytes32 endStateHash);
    /// @notice The dispute ended with `outcome`; `majorityLeaf` is zero for Void; `slashed` is what
    ///         the adjudicator received of the node's slash (the requester's share went to it directly).
    event DisputeResolved(DisputeId indexed disputeId, Outcome outcome, bytes32 majorityLeaf, uint256 slashed);

    /// @notice Opens a dispute on the node's own `leaf` at `step` of segment `k`, proven against the
    ///         committed trace root with a positional Merkle proof (log2(segmentSteps) siblings).
    ///         `roots` are segment k's committed roots (from its SegmentCommitted event; the market
    ///         checks them against its digest: ITaskMarket.SegmentRootsMismatch). `previous` are
    ///         segment k-1's, read only by an adjudicator that proves the state before `step` when
    ///         `step` is the first of segment k > 0 (the referee); pass zeros otherwise.
    ///         Transfers the challenge bond from the caller.
    function openDispute(
        TaskId taskId,
        uint256 k,
        SegmentRoots calldata roots,
        SegmentRoots calldata previous,
        uint256 step,
        bytes32 leaf,
        bytes32[] calldata proof
    ) external returns (DisputeId disputeId);
    /// @notice Opens a dispute on the end state of segment `k` that needs no proof, for when the node's
    ///         leaves are unavailable or do not match its root. The node's claim is computed on-chain
    ///         from its commitment: step = (k+1)*S, leaf = leaf(taskId, step, endStateHash). Jurors
    ///         replay the whole segment from its start checkpoint and reveal the leaf they computed
    ///         for that step (bytes32(0) when the data is unavailable); it then runs exactly like
    ///         openDispute (same bond, windows, payouts, timeouts; DisputeOpened is emitted too).
    ///         At most one unresolved end-state dispute per commitment of a segment
    ///         (EndStateDisputeOpen otherwise). Transfers the challenge bond from the caller.
    ///         `roots` and `previous` as for openDispute (the claim's step is the first of segment k
    ///         only when segmentSteps is 1).
    function openEndStateDispute(TaskId taskId, uint256 k, SegmentRoots calldata roots, SegmentRoots calldata previous)
        external
        returns (DisputeId disputeId);
    /// @notice Public: moves a dispute whose voting deadline has passed (or whose jurors all revealed)
    ///         to its result or, once, to a redraw. Returns the outcome (None while a redraw is pending).
    function resolve(DisputeId disputeId) external returns (Outcome);
    /// @notice The outcome (None while undecided).
    function outcome(DisputeId disputeId) external view returns (Outcome);
    /// @notice Bond a challenger pays to open a dispute.
    function challengeBond() external view returns (uint256);
    /// @notice Most blocks a dispute can take from opening to resolvable (draws, redraw, windows at
    ///         the market's largest segment): the unbonding delay must exceed it.
    function longestDispute() external view returns (uint256);
    /// @notice The task market this adjudicator settles for.
    function market() external view returns (address);
    /// @notice The StakeManager it locks and slashes jurors on.
    function stakeManager() external view returns (address);
}
