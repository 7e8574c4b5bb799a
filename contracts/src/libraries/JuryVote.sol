// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IJuryAdjudicator} from "../interfaces/IJuryAdjudicator.sol";
import {DisputeState} from "./DisputeState.sol";
import {DisputeId, JuryParams, VoteView} from "../types/Ids.sol";

/// @title JuryVote
/// @notice One juror's commit-reveal ballot: when it may be committed and revealed, what a
///         commitment binds, and how a ballot reads from outside. Events stay with the caller;
///         `params` is read only to name the phase in a WrongPhase revert.
library JuryVote {
    using DisputeState for DisputeState.Dispute;

    /// @notice The commitment a juror sends: it binds the leaf to the dispute and the juror, so a
    ///         commitment cannot be copied to another dispute or by another juror.
    function commitment(DisputeId disputeId, bytes32 leaf, bytes32 salt, address juror)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(disputeId, leaf, salt, juror));
    }

    /// @notice Records `juror`'s commitment `c` to ballot `v` of dispute `d` (in its commit phase).
    function commit(
        DisputeState.Dispute storage d,
        DisputeState.Vote storage v,
        DisputeId disputeId,
        address juror,
        bytes32 c,
        JuryParams storage params
    ) internal {
        if (d.stage != DisputeState.Stage.Voting || block.number > d.commitDeadline) {
            revert IJuryAdjudicator.WrongPhase(disputeId, d.phase(params.drawExpiry));
        }
        if (v.state == DisputeState.VoteState.None) revert IJuryAdjudicator.NotDrawnJuror(disputeId, juror);
        if (v.state != DisputeState.VoteState.Drawn) revert IJuryAdjudicator.AlreadyCommitted(disputeId, juror);
        v.value = c;
        v.state = DisputeState.VoteState.Committed;
        d.commits += 1;
    }

    /// @notice Opens `juror`'s committed ballot `v` to `leaf` (in the reveal phase: after the commit
    ///         deadline or once every juror committed, until the reveal deadline).
    function reveal(
        DisputeState.Dispute storage d,
        DisputeState.Vote storage v,
        DisputeId disputeId,
        address juror,
        bytes32 leaf,
        bytes32 salt,
        JuryParams storage params
    ) internal {
        bool commitClosed = block.number > d.commitDeadline || d.commits == d.jurorCount;
        if (d.stage != DisputeState.Stage.Voting || !commitClosed || block.number > d.revealDeadline) {
            revert IJuryAdjudicator.WrongPhase(disputeId, d.phase(params.drawExpiry));
        }
        if (v.state == DisputeState.VoteState.None) revert IJuryAdjudicator.NotDrawnJuror(disputeId, juror);
        if (v.state == DisputeState.VoteState.Drawn) revert IJuryAdjudicator.NotCommitted(disputeId, juror);
        if (v.state == DisputeState.VoteState.Revealed) revert IJuryAdjudicator.AlreadyRevealed(disputeId, juror);
        // INVARIANT: a juror reveals exactly the leaf it committed to, before seeing the others.
        if (commitment(disputeId, leaf, salt, juror) != v.value) {
            revert IJuryAdjudicator.CommitmentMismatch(disputeId, juror);
        }
        v.value = leaf;
        v.state = DisputeState.VoteState.Revealed;
        d.reveals += 1;
    }

    /// @notice The public view of ballot `x`: the commitment while committed, the leaf once revealed.
    function toView(DisputeState.Vote storage x) internal view returns (VoteView memory v) {
        v.committed = x.state >= DisputeState.VoteState.Committed;
        v.revealed = x.state == DisputeState.VoteState.Revealed;
        if (x.state == DisputeState.VoteState.Committed) v.commitment = x.value;
        if (v.revealed) v.leaf = x.value;
    }
}
