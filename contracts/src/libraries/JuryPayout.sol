// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Outcome} from "../types/Ids.sol";

/// @title JuryPayout
/// @notice Who gets what when a dispute ends (docs/protocol.md, disputes). Every token in is paid
///         out: toChallenger + toNode + perJuror * jurors + jurorDust == bond + slashed. Juror
///         penalties never enter the split: they go to the treasury.
library JuryPayout {
    uint256 internal constant BPS = 10_000;

    struct Split {
        uint256 toChallenger;
        uint256 toNode;
        uint256 perJuror;
        uint256 jurorDust; // rounding remainder, paid to the first paid juror
    }

    /// @notice In every outcome the paid jurors share jurorFeeBps of the bond (with none to pay, the
    ///         fee follows the rest of the bond).
    ///         NodeWrong: the challenger gets the rest of its bond plus challengerShareBps of what the
    ///         adjudicator received of the slash; the jurors share the rest of the slash.
    ///         NodeRight: the node gets the rest of the bond. Void: the challenger gets it back.
    function split(
        Outcome result,
        uint256 bond,
        uint256 slashed,
        uint256 challengerShareBps,
        uint256 jurorFeeBps,
        uint256 jurors
    ) internal pure returns (Split memory s) {
        uint256 fee = jurors == 0 ? 0 : bond * jurorFeeBps / BPS;
        uint256 jurorPool = fee;
        if (result == Outcome.NodeWrong) {
            uint256 share = jurors == 0 ? slashed : slashed * challengerShareBps / BPS;
            s.toChallenger = bond - fee + share;
            jurorPool += slashed - share;
        } else if (result == Outcome.NodeRight) {
            s.toNode = bond - fee;
        } else {
            s.toChallenger = bond - fee;
        }
        if (jurors != 0) {
            s.perJuror = jurorPool / jurors;
            s.jurorDust = jurorPool - s.perJuror * jurors;
        }
    }
}
