// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {JuryParams, MarketParams, TaskParams} from "../types/Ids.sol";
import {ITaskMarket} from "../interfaces/ITaskMarket.sol";

/// @title Bounds
/// @notice The documented bounds of every deployment and task parameter (docs/protocol.md
///         "Parameters"). A value outside them reverts ParamOutOfBounds with its name.
library Bounds {
    /// @notice Parameter `name` is `value`; it must lie in [min, max].
    error ParamOutOfBounds(string name, uint256 value, uint256 min, uint256 max);

    uint256 internal constant BPS = 10_000;
    /// @notice Longest window or deadline (blocks): about a month at 12 s blocks.
    uint256 internal constant MAX_BLOCKS = 216_000;
    /// @notice Largest segment a jury can be asked to replay.
    uint256 internal constant MAX_SEGMENT_STEPS = 1 << 20;
    /// @notice Largest jury (bounds the tally's loops).
    uint256 internal constant MAX_JURY = 32;
    /// @notice Longest unbonding delay (blocks).
    uint256 internal constant MAX_UNBONDING = 2_000_000;
    /// @notice Most free releases per task (each can roll the prefix back by one segment).
    uint256 internal constant MAX_RELEASES = 16;

    function check(string memory name, uint256 value, uint256 min, uint256 max) internal pure {
        if (value < min || value > max) revert ParamOutOfBounds(name, value, min, max);
    }

    /// @notice Reverts unless every jury parameter lies in its documented bounds.
    function checkJury(JuryParams memory p) internal pure {
        check("challengeBond", p.challengeBond, 1, type(uint128).max);
        check("jurorPenalty", p.jurorPenalty, 1, type(uint128).max);
        check("drawDelay", p.drawDelay, 1, MAX_BLOCKS);
        check("drawExpiry", p.drawExpiry, 1, MAX_BLOCKS);
        check("commitWindow", p.commitWindow, 1, MAX_BLOCKS);
        check("replayStepsPerBlock", p.replayStepsPerBlock, 1, MAX_SEGMENT_STEPS);
        check("revealWindow", p.revealWindow, 1, MAX_BLOCKS);
        check("jailBlocks", p.jailBlocks, 0, MAX_UNBONDING);
        check("challengerShareBps", p.challengerShareBps, 0, BPS);
        check("jurorFeeBps", p.jurorFeeBps, 1, BPS);
        check("jurySize", p.jurySize, 1, MAX_JURY);
        // INVARIANT: a quorum is a strict majority of a full jury, so a decision always needs one.
        check("quorum", p.quorum, uint256(p.jurySize) / 2 + 1, p.jurySize);
        check("treasury", uint160(p.treasury), 1, type(uint160).max);
    }

    /// @notice Reverts unless every market parameter lies in its documented bounds, and a node
    ///         that leaves through a lost dispute pays the requester at least a stall's slash.
    function checkMarket(MarketParams memory p) internal pure {
        check("stallSlashBps", p.stallSlashBps, 1, BPS);
        check("disputeSlashBps", p.disputeSlashBps, 1, BPS);
        check("requesterShareBps", p.requesterShareBps, 0, BPS);
        uint256 s = p.maxSegmentSteps;
        check("maxSegmentSteps", s, 1, MAX_SEGMENT_STEPS);
        if (s & (s - 1) != 0) revert ParamOutOfBounds("maxSegmentSteps (power of two)", s, 1, MAX_SEGMENT_STEPS);
        check("maxChallengeWindow", p.maxChallengeWindow, 1, MAX_BLOCKS);
        check("maxSegmentDeadline", p.maxSegmentDeadline, 1, MAX_BLOCKS);
        check("minNodeStake", p.minNodeStake, 1, type(uint128).max);
        check("maxReleases", p.maxReleases, 1, MAX_RELEASES);
        check("releaseWindow", p.releaseWindow, 1, MAX_BLOCKS);
        check("treasury", uint160(p.treasury), 1, type(uint160).max);
        // INVARIANT: the requester's share of a dispute slash is at least the stall slash, so a
        // sock-puppet dispute is never a cheaper way out of a task than a stall.
        uint256 toRequester = uint256(p.disputeSlashBps) * p.requesterShareBps / BPS;
        check("disputeSlashBps * requesterShareBps / 1e4", toRequester, p.stallSlashBps, BPS);
    }

    /// @notice Reverts unless a task's terms lie within the market's bounds: windows and deadline,
    ///         nodeStake, a power-of-two segment the jury can replay, at most `maxSegments` segments.
    function checkTerms(TaskParams calldata terms, MarketParams memory m, uint256 maxSegments) internal pure {
        if (terms.totalSteps == 0) revert ITaskMarket.ZeroParam();
        check("challengeWindow", terms.challengeWindow, 1, m.maxChallengeWindow);
        check("segmentDeadline", terms.segmentDeadline, 1, m.maxSegmentDeadline);
        check("nodeStake", terms.nodeStake, m.minNodeStake, type(uint128).max);
        uint256 s = terms.segmentSteps;
        // INVARIANT: segmentSteps is a power of two, so every trace tree is perfect.
        if (s == 0 || s & (s - 1) != 0) revert ITaskMarket.SegmentStepsNotPowerOfTwo(s);
        // INVARIANT: a segment fits the jury's replay budget (the commit window grows with it).
        check("segmentSteps", s, 1, m.maxSegmentSteps);
        if (terms.totalSteps % s != 0) revert ITaskMarket.TotalStepsNotMultiple(terms.totalSteps, s);
        if (terms.totalSteps / s > maxSegments) revert ITaskMarket.TooManySegments(terms.totalSteps / s, maxSegments);
    }
}
