// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TaskId, DisputePhase, DisputeView, Outcome} from "../types/Ids.sol";

/// @title DisputeState
/// @notice Storage layout of a jury dispute and the phase bots see, derived from it and block.number.
library DisputeState {
    enum Stage {
        None,
        AwaitingDraw,
        Voting,
        Resolved
    }

    enum VoteState {
        None,
        Drawn,
        Committed,
        Revealed
    }

    struct Dispute {
        address challenger;
        uint64 taskId;
        uint8 round;
        Stage stage;
        Outcome outcome;
        address node;
        uint32 k;
        uint32 taskEpoch;
        uint8 jurorCount;
        uint8 commits;
        uint8 reveals;
        bytes32 nodeLeaf;
        uint64 step;
        uint64 drawAfter;
        uint64 commitDeadline;
        uint64 revealDeadline;
        uint64 replayBlocks; // added to the commit window: ceil(segmentSteps / replayStepsPerBlock)
    }

    struct Vote {
        bytes32 value; // the commitment, replaced by the leaf on reveal
        VoteState state;
    }

    /// @notice The phase now: AwaitingDraw until `drawExpiry` blocks after drawAfter (then Resolvable:
    ///         resolve ends it Void), Commit until the commit deadline (or all committed), Reveal until
    ///         the reveal deadline (or all revealed), then Resolvable.
    function phase(Dispute storage d, uint256 drawExpiry) internal view returns (DisputePhase) {
        Stage s = d.stage;
        if (s == Stage.None) return DisputePhase.None;
        if (s == Stage.AwaitingDraw) {
            return block.number > uint256(d.drawAfter) + drawExpiry ? DisputePhase.Resolvable : DisputePhase.AwaitingDraw;
        }
        if (s == Stage.Resolved) return DisputePhase.Resolved;
        if (d.reveals == d.jurorCount || block.number > d.revealDeadline) return DisputePhase.Resolvable;
        if (block.number <= d.commitDeadline && d.commits < d.jurorCount) return DisputePhase.Commit;
        return DisputePhase.Reveal;
    }

    /// @notice The public view of `d`; `bond` is the (immutable) challenge bond, 0 once resolved.
    function toView(Dispute storage d, uint256 bond, uint256 drawExpiry) internal view returns (DisputeView memory v) {
        v.taskId = TaskId.wrap(d.taskId);
        v.segment = d.k;
        v.step = d.step;
        v.nodeLeaf = d.nodeLeaf;
        v.node = d.node;
        v.challenger = d.challenger;
        v.taskEpoch = d.taskEpoch;
        v.round = d.round;
        v.phase = phase(d, drawExpiry);
        v.outcome = d.outcome;
        v.drawAfter = d.drawAfter;
        v.commitDeadline = d.commitDeadline;
        v.revealDeadline = d.revealDeadline;
        v.replayBlocks = d.replayBlocks;
        v.jurorCount = d.jurorCount;
        v.commits = d.commits;
        v.reveals = d.reveals;
        v.bond = d.stage == Stage.Resolved ? 0 : uint128(bond);
    }
}
