// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Float32Cheats
/// @notice The few forge cheatcodes the Float32 tests use beyond the shared `Vm` interface:
///         JSON arrays, ffi (ci profile only) and named snapshot values. Call them through
///         `Float32Cheats(address(vm))`.
interface Float32Cheats {
    function parseJsonUintArray(string calldata json, string calldata key)
        external
        pure
        returns (uint256[] memory values);
    function ffi(string[] calldata commandInput) external returns (bytes memory result);
    function envOr(string calldata name, uint256 defaultValue) external view returns (uint256 value);
    function envOr(string calldata name, string calldata defaultValue)
        external
        view
        returns (string memory value);
    function snapshotValue(string calldata name, uint256 value) external;
}
