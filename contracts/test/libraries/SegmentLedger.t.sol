// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {SegmentLedger} from "../../src/libraries/SegmentLedger.sol";

contract SegmentLedgerTest is Test {
    mapping(uint256 k => SegmentLedger.Segment) internal segs;

    function _commitAt(uint256 k, uint256 blockNumber) internal {
        segs[k].committedAt = uint40(blockNumber);
        segs[k].digest = SegmentLedger.digest(bytes32(k + 1), bytes32(k + 2));
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

    /// @dev The digest is the first 19 bytes of keccak256(abi.encode(traceRoot, endStateHash)),
    ///      as ledger/segments.py computes it; swapping the roots changes it.
    function test_digest_encoding_succeeds() public pure {
        bytes32 a = keccak256("trace");
        bytes32 b = keccak256("end");
        assertEq(SegmentLedger.digest(a, b), bytes19(keccak256(abi.encode(a, b))));
        assertTrue(SegmentLedger.digest(a, b) != SegmentLedger.digest(b, a), "order matters");
    }

    /// @dev A segment record is one storage slot: digest | committedAt | epoch | openDisputes,
    ///      packed from the low-order end.
    function test_segment_oneSlot_succeeds() public {
        vm.record();
        segs[7] = SegmentLedger.Segment(bytes19(type(uint152).max), type(uint40).max, type(uint32).max, 1);
        (, bytes32[] memory writes) = vm.accesses(address(this));
        assertGt(writes.length, 0);
        for (uint256 i; i < writes.length; ++i) {
            assertEq(writes[i], writes[0], "every write goes to one slot");
        }
        uint256 word = (uint256(1) << 224) | ((uint256(1) << 224) - 1);
        assertEq(vm.load(address(this), writes[0]), bytes32(word));
    }
}
