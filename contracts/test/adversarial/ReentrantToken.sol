// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {VeriToken} from "../../src/VeriToken.sol";

/// @notice Something a hostile token calls back on every transfer that touches it.
interface ITokenHook {
    function onTokenTransfer(address from, address to, uint256 value, bool beforeUpdate) external;
}

/// @title ReentrantToken
/// @notice A hostile ERC20 (the contracts accept any ERC20): every transfer or transferFrom that
///         moves tokens from or to a registered hook address calls that address back, before the
///         balances change (ERC777 tokensToSend style) and after (tokensReceived style). The hook
///         (an `Attacker`) then re-enters whatever it was told to.
contract ReentrantToken is VeriToken {
    mapping(address => bool) public isHook;

    constructor() VeriToken(0) {}

    function setHook(address account, bool on) external {
        isHook[account] = on;
    }

    function _update(address from, address to, uint256 value) internal override {
        _call(from, to, value, true);
        super._update(from, to, value);
        _call(from, to, value, false);
    }

    function _call(address from, address to, uint256 value, bool beforeUpdate) private {
        if (from != address(0) && isHook[from]) ITokenHook(from).onTokenTransfer(from, to, value, beforeUpdate);
        if (to != address(0) && isHook[to] && to != from) ITokenHook(to).onTokenTransfer(from, to, value, beforeUpdate);
    }
}

/// @title Attacker
/// @notice A contract account that acts in the protocol (`exec`) and, when armed, re-enters a
///         chosen call from inside the token callback; it records what the re-entry returned.
contract Attacker is ITokenHook {
    address public immutable owner;
    address public target;
    bytes public payload;
    bool public onBefore;
    bool public armed;
    uint256 public reentries;
    bool public lastOk;
    bytes public lastReturn;

    constructor() {
        owner = msg.sender;
    }

    function exec(address to, bytes calldata data) external returns (bytes memory ret) {
        require(msg.sender == owner, "owner");
        bool ok;
        (ok, ret) = to.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    /// @notice Re-enter `to` with `data` once, at the next hooked transfer (before or after the update).
    function arm(address to, bytes calldata data, bool beforeUpdate) external {
        require(msg.sender == owner, "owner");
        target = to;
        payload = data;
        onBefore = beforeUpdate;
        armed = true;
    }

    function onTokenTransfer(address, address, uint256, bool beforeUpdate) external {
        if (!armed || beforeUpdate != onBefore) return;
        armed = false; // once: the re-entry itself moves tokens and would call us again
        reentries += 1;
        (lastOk, lastReturn) = target.call(payload);
    }

    function lastSelector() external view returns (bytes4 sel) {
        bytes memory r = lastReturn;
        if (r.length < 4) return bytes4(0);
        assembly {
            sel := mload(add(r, 32))
        }
    }
}
