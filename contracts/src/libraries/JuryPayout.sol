// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Outcome} from "../types/Ids.sol";

/// @title JuryPayout
/// @notice Who gets what when a dispute ends (PROTOCOL.md, dispute step 4). Every token in is paid
///         out: toChallenger + toNode + perJuror * jurors + jurorDust == bond + penaltyPot + slashed.
library JuryPayout {
    uint256 internal constant BPS = 10_000;

    struct Split {
        uint256 toChallenger;
        uint256 toNode;
        uint256 perJuror;
        uint256 jurorDust; // rounding remainder, paid to the first majority juror
    }

    /// @notice NodeWrong: the challenger gets its bond back plus challengerShareBps of the slash; the
    ///         majority jurors share the rest of the slash and the penalty pot.
    ///         NodeRight: majority jurors share jurorFeeBps of the bond and the pot; the node gets the rest.
    ///         Default (no majority after the redraw): the node gets the bond and the pot.
    function split(
        Outcome result,
        uint256 bond,
        uint256 pot,
        uint256 slashed,
        uint256 challengerShareBps,
        uint256 jurorFeeBps,
        uint256 jurors
    ) internal pure returns (Split memory s) {
        uint256 jurorPool;
        if (result == Outcome.NodeWrong) {
            uint256 share = slashed * challengerShareBps / BPS;
            s.toChallenger = bond + share;
            jurorPool = slashed - share + pot;
        } else if (result == Outcome.NodeRight) {
            uint256 fee = bond * jurorFeeBps / BPS;
            s.toNode = bond - fee;
            jurorPool = fee + pot;
        } else {
            s.toNode = bond + pot;
        }
        if (jurorPool != 0) {
            if (jurors == 0) {
                // Cannot happen with a majority, kept total-preserving: the pot follows the winner.
                if (result == Outcome.NodeWrong) s.toChallenger += jurorPool;
                else s.toNode += jurorPool;
            } else {
                s.perJuror = jurorPool / jurors;
                s.jurorDust = jurorPool - s.perJuror * jurors;
            }
        }
    }
}
