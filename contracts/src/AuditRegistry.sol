// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAuditRegistry} from "./interfaces/IAuditRegistry.sol";
import {ITaskMarket} from "./interfaces/ITaskMarket.sol";
import {IStakeManager} from "./interfaces/IStakeManager.sol";
import {SegmentLedger} from "./libraries/SegmentLedger.sol";
import {TaskId, SegmentView, AuditResult} from "./types/Ids.sol";

/// @title AuditRegistry
/// @notice Audit attestations, one per (commitment, auditor). See IAuditRegistry.
contract AuditRegistry is IAuditRegistry {
    struct Tally {
        uint128 ok;
        uint128 fault;
    }

    ITaskMarket private immutable _market;
    IStakeManager private immutable _stakes;
    uint256 private immutable _minStake;
    mapping(bytes32 commitment => mapping(address auditor => AuditResult)) private _results;
    mapping(bytes32 commitment => Tally) private _tallies;

    constructor(address market_, address stakeManager_, uint256 minAuditorStake_) {
        if (market_ == address(0) || stakeManager_ == address(0)) revert ZeroAddress();
        _market = ITaskMarket(market_);
        _stakes = IStakeManager(stakeManager_);
        _minStake = minAuditorStake_;
    }

    /// @inheritdoc IAuditRegistry
    function attest(
        TaskId taskId,
        uint256 k,
        bytes32 traceRoot,
        bytes32 endStateHash,
        uint64 committedAt,
        AuditResult result
    ) external {
        if (result == AuditResult.None) revert NoResult();
        SegmentView memory s = _market.segment(taskId, k);
        // INVARIANT: an attestation names the segment's current commitment, never a replaced one
        // (the market keeps a digest of its roots; the committer is the node of its epoch).
        if (
            !s.committed || s.rootsDigest != SegmentLedger.digest(traceRoot, endStateHash)
                || s.committedAt != committedAt
        ) revert NotCurrentCommitment(taskId, k, traceRoot, committedAt);
        // INVARIANT: a node never counts as an auditor of its own commitment.
        if (msg.sender == s.node) revert AuditorIsNode(taskId, k, msg.sender);
        IStakeManager.StakeInfo memory info = _stakes.stakeInfo(msg.sender);
        // INVARIANT: every attesting identity holds minAuditorStake and is not jailed (sybils pay per identity).
        if (info.staked < _minStake || info.staked == 0) revert AuditorStakeTooLow(msg.sender, info.staked, _minStake);
        if (block.number < info.jailedUntil) revert AuditorJailed(msg.sender, info.jailedUntil);
        bytes32 c = commitmentId(taskId, k, traceRoot, endStateHash, committedAt);
        AuditResult before = _results[c][msg.sender];
        // INVARIANT: one attestation per auditor and commitment.
        if (before != AuditResult.None) revert AlreadyAttested(c, msg.sender, before);
        _results[c][msg.sender] = result;
        Tally storage t = _tallies[c];
        if (result == AuditResult.Ok) ++t.ok;
        else ++t.fault;
        emit AuditAttested(taskId, k, msg.sender, c, traceRoot, endStateHash, committedAt, result);
    }

    /// @inheritdoc IAuditRegistry
    function resultOf(bytes32 commitment, address auditor) external view returns (AuditResult) {
        return _results[commitment][auditor];
    }

    /// @inheritdoc IAuditRegistry
    function counts(bytes32 commitment) external view returns (uint256 ok, uint256 fault) {
        Tally storage t = _tallies[commitment];
        return (t.ok, t.fault);
    }

    /// @inheritdoc IAuditRegistry
    function commitmentId(TaskId taskId, uint256 k, bytes32 traceRoot, bytes32 endStateHash, uint64 committedAt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(taskId, k, traceRoot, endStateHash, committedAt));
    }

    /// @inheritdoc IAuditRegistry
    function minAuditorStake() external view returns (uint256) {
        return _minStake;
    }

    /// @inheritdoc IAuditRegistry
    function market() external view returns (address) {
        return address(_market);
    }

    /// @inheritdoc IAuditRegistry
    function stakeManager() external view returns (address) {
        return address(_stakes);
    }
}
