// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {JuryParams, MarketParams} from "../types/Ids.sol";

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
        // INVARIANT: the requester's share of a dispute slash is at least the stall slash, so a
        // sock-puppet dispute is never a cheaper way out of a task than a stall.
        uint256 toRequester = uint256(p.disputeSlashBps) * p.requesterShareBps / BPS;
        check("disputeSlashBps * requesterShareBps / 1e4", toRequester, p.stallSlashBps, BPS);
    }
}
