// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {VeriToken} from "../../src/VeriToken.sol";

/// @notice A fee-on-transfer ERC20 (1% of every transfer is burnt): the protocol must refuse it.
contract FeeToken is VeriToken {
    constructor() VeriToken(0) {}

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 fee = value / 100;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
