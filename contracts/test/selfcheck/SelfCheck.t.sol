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
}
