// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";

/// @dev Target of the self-check: reverts on odd input, and a counter that an invariant can watch.
contract SelfCheckTarget {
    uint256 public counter;

    function mustBeEven(uint256 x) external pure {
        if (x % 2 == 1) revert("odd");
    }

    function bump(uint256 by) external {
        counter += by % 3;
    }
}

/// @notice Checks that the test base makes forge FAIL. Every test here is meant to fail; they are
///         skipped unless VERITRAIN_SELFCHECK=true, so the default run stays green:
///         VERITRAIN_SELFCHECK=true forge test --match-path contracts/test/selfcheck/SelfCheck.t.sol
///         must exit non-zero with 4 failures.
contract SelfCheckTest is Test {
    SelfCheckTarget internal target;

    function setUp() public {
        target = new SelfCheckTarget();
        targetContract(address(target));
    }

    modifier onlySelfCheck() {
        vm.skip(!vm.envOr("VERITRAIN_SELFCHECK", false));
        _;
    }

    function test_selfcheck_failingAssertion() public onlySelfCheck {
        assertEq(uint256(1), uint256(2));
    }

    function test_selfcheck_missingRevert() public onlySelfCheck {
        vm.expectRevert(bytes("odd"));
        target.mustBeEven(2);
    }

    function testFuzz_selfcheck_counterexample(uint256 x) public onlySelfCheck {
        target.mustBeEven(x);
    }

    function invariant_selfcheck_counterStaysZero() public onlySelfCheck {
        assertEq(target.counter(), 0);
    }

    // ---------------------------------------------------------------- these run by default and pass

    event Ping(address indexed who, uint256 n);

    error Nope(uint256 x);
    error Never();

    function never() external pure {
        revert Never();
    }

    function nope(uint256 x) external pure {
        revert Nope(x);
    }

    function ping(uint256 n) external {
        emit Ping(msg.sender, n);
    }

    function test_base_cheatcodesAnswer() public {
        vm.warp(12345);
        assertEq(block.timestamp, 12345);
        vm.roll(777);
        assertEq(block.number, 777);
        vm.prevrandao(bytes32(uint256(42)));
        assertEq(block.prevrandao, 42);
        address a = makeAddr("a");
        vm.deal(a, 3 ether);
        assertEq(a.balance, 3 ether);
        uint256 pk = 0xA11CE;
        address signer = vm.addr(pk);
        (uint8 v, bytes32 r, bytes32 s_) = vm.sign(pk, keccak256("m"));
        assertEq(ecrecover(keccak256("m"), v, r, s_), signer);
        vm.assume(true);
        vm.expectRevert(abi.encodeWithSelector(Nope.selector, 3));
        this.nope(3);
        vm.expectRevert(Never.selector); // the bytes4 overload matches errors without arguments
        this.never();
        vm.expectRevert();
        this.nope(5);
        vm.expectEmit(true, false, false, true, address(this));
        emit Ping(a, 9);
        vm.startPrank(a);
        this.ping(9);
        vm.stopPrank();
        assertEq(vm.envOr("VERITRAIN_SURELY_UNSET_VAR", uint256(11)), 11);
    }

    function test_base_assertionsAndBound() public pure {
        assertEq(int256(-1), int256(-1));
        assertEq(true, true);
        assertEq(bytes("xy"), bytes("xy"));
        assertEq(string("xy"), string("xy"));
        assertEq(bytes32("k"), bytes32("k"));
        assertEq(address(1), address(1));
        assertTrue(true);
        assertFalse(false);
        assertGt(2, 1);
        assertGe(2, 2);
        assertLt(1, 2);
        assertLe(2, 2);
        assertNotEq(bytes32("a"), bytes32("b"));
        assertEq(bound(5, 1, 10), 5);
        assertEq(bound(11, 1, 10), 2);
        assertEq(bound(type(uint256).max, 0, type(uint256).max), type(uint256).max);
        assertEq(bound(0, 7, 7), 7);
    }
}
