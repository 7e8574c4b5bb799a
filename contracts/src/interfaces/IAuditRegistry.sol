// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TaskId, AuditResult} from "../types/Ids.sol";

/// @title IAuditRegistry
/// @notice Cheap on-chain attestations of audits: an auditor that replayed a segment commitment says
///         so (Ok, or Fault when it found the segment wrong), once per commitment. Consumers count
///         the independent audits behind a checkpoint from these events (docs/consumer.md).
///         "Independent" resists a sybil: an attester must hold `minAuditorStake` at stake in the
///         StakeManager and not be jailed (every extra identity costs that stake), may attest a
///         commitment once, and is never the node that committed it. An attestation names the
///         segment's *current* commitment (traceRoot, endStateHash, commit block): after a reopen a
///         recommitted segment starts with no audits. Attestations are signals, not bonds: nothing
///         is paid for them and a false one is not slashed (payment for audits comes later).
interface IAuditRegistry {
    /// @notice `result` is None (attest Ok or Fault).
    error NoResult();
    /// @notice Segment `k` of `taskId` is not committed with these roots at block `committedAt`.
    error NotCurrentCommitment(TaskId taskId, uint256 k, bytes32 traceRoot, uint64 committedAt);
    /// @notice `auditor` committed the segment itself.
    error AuditorIsNode(TaskId taskId, uint256 k, address auditor);
    /// @notice `auditor` has `staked` at stake; attesting needs `min`.
    error AuditorStakeTooLow(address auditor, uint256 staked, uint256 min);
    /// @notice `auditor` is jailed until block `until`.
    error AuditorJailed(address auditor, uint256 until);
    /// @notice `auditor` already attested `commitment` (with `result`).
    error AlreadyAttested(bytes32 commitment, address auditor, AuditResult result);
    /// @notice A zero address was given.
    error ZeroAddress();

    /// @notice `auditor` audited segment `k` of `taskId` as committed with `traceRoot` and
    ///         `endStateHash` at block `committedAt` (together: `commitment`), and found `result`.
    event AuditAttested(
        TaskId indexed taskId,
        uint256 indexed k,
        address indexed auditor,
        bytes32 commitment,
        bytes32 traceRoot,
        bytes32 endStateHash,
        uint64 committedAt,
        AuditResult result
    );

    /// @notice Attests an audit of segment `k`'s current commitment (its roots and commit block, as
    ///         `SegmentCommitted` and `TaskMarket.segment` give them). Caller: a staked, unjailed
    ///         account other than the segment's node, once per commitment.
    function attest(
        TaskId taskId,
        uint256 k,
        bytes32 traceRoot,
        bytes32 endStateHash,
        uint64 committedAt,
        AuditResult result
    ) external;

    /// @notice What `auditor` attested for `commitment` (None: nothing).
    function resultOf(bytes32 commitment, address auditor) external view returns (AuditResult);
    /// @notice How many distinct auditors attested `commitment` Ok and Fault.
    function counts(bytes32 commitment) external view returns (uint256 ok, uint256 fault);
    /// @notice The id of a commitment: keccak256(abi.encode(taskId, k, traceRoot, endStateHash, committedAt)).
    function commitmentId(TaskId taskId, uint256 k, bytes32 traceRoot, bytes32 endStateHash, uint64 committedAt)
        external
        pure
        returns (bytes32);
    /// @notice Stake an attester must hold.
    function minAuditorStake() external view returns (uint256);
    /// @notice The TaskMarket whose commitments are attested.
    function market() external view returns (address);
    /// @notice The StakeManager that says who is staked.
    function stakeManager() external view returns (address);
}
