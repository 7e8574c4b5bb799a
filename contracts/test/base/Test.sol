// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Vm} from "./Vm.sol";

/// @title Test
/// @notice The project's forge test base: cheatcodes (`vm`), assertions that revert with a message
///         (forge counts a reverting test as failed), `bound()`, and the invariant-testing hooks
///         forge reads from a test contract.
abstract contract Test {
    /// @notice What forge passes to targetSelectors().
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    /// @notice forge runs test_/testFuzz_/invariant_ functions of contracts that say IS_TEST.
    bool public constant IS_TEST = true;

    /// @notice forge prints these (ds-test log events) with -vv.
    event log_named_uint(string key, uint256 val);
    event log_string(string val);

    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    bool private _failed;
    address[] private _targetContracts;
    address[] private _excludeContracts;
    address[] private _targetSenders;
    address[] private _excludeSenders;
    FuzzSelector[] private _targetSelectors;

    // ------------------------------------------------------------------ invariant hooks

    function targetContracts() public view returns (address[] memory) {
        return _targetContracts;
    }

    function excludeContracts() public view returns (address[] memory) {
        return _excludeContracts;
    }

    function targetSenders() public view returns (address[] memory) {
        return _targetSenders;
    }

    function excludeSenders() public view returns (address[] memory) {
        return _excludeSenders;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetSelectors;
    }

    /// @notice ds-test style failure flag (our assertions revert instead, so this only turns true via fail-soft).
    function failed() public view returns (bool) {
        return _failed;
    }

    function targetContract(address target) internal {
        _targetContracts.push(target);
    }

    function excludeContract(address target) internal {
        _excludeContracts.push(target);
    }

    function targetSender(address sender) internal {
        _targetSenders.push(sender);
    }

    function excludeSender(address sender) internal {
        _excludeSenders.push(sender);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetSelectors.push(selector);
    }

    // ------------------------------------------------------------------ helpers

    /// @notice Maps `x` into [min, max] (inclusive), keeping in-range values as they are.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (min > max) revert("bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        return min + (x % (size + 1));
    }

    /// @notice A labelled address derived from `name`.
    function makeAddr(string memory name) internal returns (address a) {
        a = vm.addr(uint256(keccak256(bytes(name))));
        vm.label(a, name);
    }

    // ------------------------------------------------------------------ assertions

    function fail() internal pure {
        revert("assertion failed");
    }

    function fail(string memory why) internal pure {
        revert(string.concat("assertion failed: ", why));
    }

    function assertTrue(bool c) internal pure {
        if (!c) fail("expected true");
    }

    function assertTrue(bool c, string memory why) internal pure {
        if (!c) fail(why);
    }

    function assertFalse(bool c) internal pure {
        if (c) fail("expected false");
    }

    function assertFalse(bool c, string memory why) internal pure {
        if (c) fail(why);
    }

    function assertEq(uint256 a, uint256 b) internal pure {
        if (a != b) fail(string.concat(vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(uint256 a, uint256 b, string memory why) internal pure {
        if (a != b) fail(string.concat(why, ": ", vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(int256 a, int256 b) internal pure {
        if (a != b) fail(string.concat(vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(address a, address b) internal pure {
        if (a != b) fail(string.concat(vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(address a, address b, string memory why) internal pure {
        if (a != b) fail(string.concat(why, ": ", vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(bytes32 a, bytes32 b) internal pure {
        if (a != b) fail(string.concat(vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(bytes32 a, bytes32 b, string memory why) internal pure {
        if (a != b) fail(string.concat(why, ": ", vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(bool a, bool b) internal pure {
        if (a != b) fail(string.concat(vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(bytes memory a, bytes memory b) internal pure {
        if (keccak256(a) != keccak256(b)) fail(string.concat(vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(string memory a, string memory b) internal pure {
        if (keccak256(bytes(a)) != keccak256(bytes(b))) fail(string.concat(a, " != ", b));
    }

    function assertNotEq(bytes32 a, bytes32 b) internal pure {
        if (a == b) fail(string.concat(vm.toString(a), " == ", vm.toString(b)));
    }

    function assertGt(uint256 a, uint256 b) internal pure {
        if (a <= b) fail(string.concat(vm.toString(a), " <= ", vm.toString(b)));
    }

    function assertGe(uint256 a, uint256 b) internal pure {
        if (a < b) fail(string.concat(vm.toString(a), " < ", vm.toString(b)));
    }

    function assertGe(uint256 a, uint256 b, string memory why) internal pure {
        if (a < b) fail(string.concat(why, ": ", vm.toString(a), " < ", vm.toString(b)));
    }

    function assertLt(uint256 a, uint256 b) internal pure {
        if (a >= b) fail(string.concat(vm.toString(a), " >= ", vm.toString(b)));
    }

    function assertLe(uint256 a, uint256 b) internal pure {
        if (a > b) fail(string.concat(vm.toString(a), " > ", vm.toString(b)));
    }

    function assertLe(uint256 a, uint256 b, string memory why) internal pure {
        if (a > b) fail(string.concat(why, ": ", vm.toString(a), " > ", vm.toString(b)));
    }
}
