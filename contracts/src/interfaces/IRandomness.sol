// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IRandomness
/// @notice Source of the jury draw's randomness. On a devnet `block.prevrandao`; on chains where the
///         sequencer controls prevrandao, a VRF or a commit-reveal beacon behind the same interface.
interface IRandomness {
    /// @notice A random word for `salt`, fixed for the current block.
    function randomWord(bytes32 salt) external view returns (uint256);
}
