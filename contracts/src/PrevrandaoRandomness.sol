// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IRandomness} from "./interfaces/IRandomness.sol";

/// @title PrevrandaoRandomness
/// @notice Devnet randomness: block.prevrandao mixed with the salt. Where the sequencer controls
///         prevrandao, deploy a VRF or commit-reveal beacon behind IRandomness instead.
contract PrevrandaoRandomness is IRandomness {
    /// @inheritdoc IRandomness
    function randomWord(bytes32 salt) external view returns (uint256) {
        return uint256(keccak256(abi.encode(block.prevrandao, block.number, salt)));
    }
}
