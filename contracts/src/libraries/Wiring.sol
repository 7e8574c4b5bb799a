// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ITaskMarket} from "../interfaces/ITaskMarket.sol";
import {IStakeManager} from "../interfaces/IStakeManager.sol";
import {IStepAdjudicator} from "../interfaces/IStepAdjudicator.sol";

/// @title Wiring
/// @notice The check of a market's one-time wiring to its two adjudicators: the JuryAdjudicator
///         (tasks without a step graph) and the OneStepAdjudicator (tasks with one).
library Wiring {
    /// @notice Reverts unless `jury` and `referee` are two distinct contracts that settle for the
    ///         calling market, and the StakeManager `stakes` authorised the market and both.
    function checkAdjudicators(IStakeManager stakes, address jury, address referee) internal view {
        if (jury == address(0) || referee == address(0)) revert ITaskMarket.ZeroAddress();
        if (jury == referee || !stakes.isAuthorised(address(this))) revert ITaskMarket.WiringMismatch(jury);
        _check(stakes, jury);
        _check(stakes, referee);
    }

    function _check(IStakeManager stakes, address adjudicator) private view {
        if (IStepAdjudicator(adjudicator).market() != address(this) || !stakes.isAuthorised(adjudicator)) {
            revert ITaskMarket.WiringMismatch(adjudicator);
        }
    }
}
