// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title TokenPull
/// @notice transferFrom that checks the balance delta: fee-on-transfer and rebasing-down tokens are
///         refused (docs/protocol.md "Supported tokens"), so the books always match the balance.
library TokenPull {
    using SafeERC20 for IERC20;

    /// @notice The token delivered `received` of the `expected` amount (a fee-on-transfer token).
    error FeeOnTransferToken(uint256 expected, uint256 received);

    function pullExact(IERC20 token, address from, uint256 amount) internal {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert FeeOnTransferToken(amount, received);
    }
}
