// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title VeriToken
/// @notice Devnet staking token: an OpenZeppelin ERC20 that the deployer mints. Every other contract
///         takes the token address, so any ERC20 works in production.
contract VeriToken is ERC20, Ownable {
    constructor(uint256 initialSupply) ERC20("Veritrain Stake", "VERI") Ownable(msg.sender) {
        _mint(msg.sender, initialSupply);
    }

    /// @notice Owner mints `amount` to `to`.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
