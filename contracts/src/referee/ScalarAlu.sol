// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Programs} from "./Programs.sol";

/// @title ScalarAlu
/// @notice Runs one binary32 operation (Programs.run over Float32 and Float32Math). A contract of
///         its own, created by OneStepAdjudicator's constructor, so that the adjudicator's code
///         stays under the 24 KiB limit: the game calls it once, at its last move.
contract ScalarAlu {
    /// @notice The result bits of opcode `code` (Programs.Opcode) on operands a, b, c.
    function run(uint8 code, uint32 a, uint32 b, uint32 c) external pure returns (uint32) {
        return Programs.run(Programs.Opcode(code), a, b, c);
    }
}
