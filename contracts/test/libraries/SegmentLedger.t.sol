// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {SegmentLedger} from "../../src/libraries/SegmentLedger.sol";

contract SegmentLedgerTest is Test {
    mapping(uint256 k => SegmentLedger.Segment) internal segs;

    function _commitAt(uint256 k, uint256 blockNumber) internal {
        segs[k].committedAt = uint64(blockNumber);
        segs[k].traceRoot = bytes32(k + 1);
    }

    /// @dev Segments whose window has passed are final, in order, up to the committed count.
    function test_finalPrefix_windowsPassed_succeeds() public {
        vm.roll(100);
        _commitAt(0, 10);
        _commitAt(1, 20);
        _commitAt(2, 95);
        assertEq(SegmentLedger.finalPrefix(segs, 3, 10, 3), 2);
        assertEq(SegmentLedger.finalPrefix(segs, 3, 10, 1), 1, "capped at upTo");
        assertEq(SegmentLedger.finalPrefix(segs, 1, 10, 3), 1, "capped at the committed count");
    }

    /// @dev An open dispute stops the prefix at its segment, whatever comes after.
    function test_finalPrefix_openDisputeStops_succeeds() public {
        vm.roll(100);
        _commitAt(0, 10);
        _commitAt(1, 20);
        _commitAt(2, 30);
        segs[1].openDisputes = 1;
        assertEq(SegmentLedger.finalPrefix(segs, 3, 10, 3), 1);
    }

    /// @dev The window is exclusive: a segment is final only strictly after committedAt + window.
    function test_finalPrefix_windowEdge_succeeds() public {
        _commitAt(0, 50);
        vm.roll(60);
        assertEq(SegmentLedger.finalPrefix(segs, 1, 10, 1), 0);
        vm.roll(61);
        assertEq(SegmentLedger.finalPrefix(segs, 1, 10, 1), 1);
    }
}
