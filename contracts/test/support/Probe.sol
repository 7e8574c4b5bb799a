// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice Test-only contract the Python ledger tests deploy (events, custom errors, reorgs).
contract Probe {
    error TooBig(uint256 value, uint256 max);
    event Stored(address indexed who, uint256 value);
    uint256 private _value;
    function store(uint256 value) external {
        if (value > 1000) revert TooBig(value, 1000);
        _value = value;
        emit Stored(msg.sender, value);
    }
}
