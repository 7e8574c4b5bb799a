// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {JuryDraw} from "../../src/libraries/JuryDraw.sol";

contract JuryDrawTest is Test {
    /// @dev The sample is distinct, only draws non-zero weights, and is as large as it can be.
    function testFuzz_sample_distinctNonZeroWeights(uint256 seed, uint256 n, uint256 count, uint256 wseed) public pure {
        n = bound(n, 0, 40);
        count = bound(count, 0, 12);
        uint256[] memory w = new uint256[](n);
        uint256[] memory orig = new uint256[](n);
        uint256 nonZero;
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(wseed, i)));
            w[i] = r % 3 == 0 ? 0 : (r % 1000e18) + 1;
            orig[i] = w[i];
            if (w[i] != 0) ++nonZero;
        }
        uint256[] memory picked = JuryDraw.sample(seed, w, count);
        assertEq(picked.length, count < nonZero ? count : nonZero);
        for (uint256 i; i < picked.length; ++i) {
            assertGt(orig[picked[i]], 0);
            for (uint256 j; j < i; ++j) assertTrue(picked[i] != picked[j], "distinct");
        }
    }

    /// @dev Two of four drawn jurors are not a strict majority.
    function test_majority_halfOfDrawn_succeeds() public pure {
        bytes32[] memory l = new bytes32[](4);
        bool[] memory r = new bool[](4);
        (l[0], l[1], l[2]) = ("a", "a", "b");
        (r[0], r[1], r[2]) = (true, true, true);
        (bool found,) = JuryDraw.majority(l, r, 4);
        assertFalse(found);
    }

    /// @dev Three of four drawn jurors are a strict majority.
    function test_majority_threeOfFour_succeeds() public pure {
        bytes32[] memory l = new bytes32[](4);
        bool[] memory r = new bool[](4);
        (l[0], l[1], l[2], l[3]) = ("a", "a", "b", "a");
        (r[0], r[1], r[2], r[3]) = (true, true, true, true);
        (bool found, bytes32 leaf) = JuryDraw.majority(l, r, 4);
        assertTrue(found);
        assertEq(leaf, bytes32("a"));
    }

    /// @dev Silent jurors count in the denominator: one revealed vote of three decides nothing.
    function test_majority_silentCountAgainst_succeeds() public pure {
        bytes32[] memory l = new bytes32[](3);
        bool[] memory r = new bool[](3);
        l[0] = "a";
        r[0] = true;
        (bool found,) = JuryDraw.majority(l, r, 3);
        assertFalse(found);
    }
}
