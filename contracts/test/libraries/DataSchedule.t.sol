// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {Float32Cheats} from "./Float32Cheats.sol";
import {DataSchedule} from "../../src/libraries/DataSchedule.sol";

/// @dev One external lookup per call (the .gas-snapshot row of a lookup through the ABI).
contract DataScheduleHarness {
    function sampleAt(bytes32 root, uint64 seed, uint256 taskId, uint256 n, uint256 p)
        external
        pure
        returns (uint256)
    {
        return DataSchedule.sampleAt(root, seed, taskId, n, p);
    }

    function verifySample(bytes32 root, uint256 index, bytes32 sampleHash, bytes32[] calldata proof)
        external
        pure
        returns (bool)
    {
        return DataSchedule.verifySample(root, index, sampleHash, proof);
    }

    function batchSample(
        bytes32 root,
        uint64 seed,
        uint256 taskId,
        uint256 n,
        uint256 b,
        uint256 t,
        uint256 j
    )
        external
        pure
        returns (uint256)
    {
        return DataSchedule.batchSample(root, seed, taskId, n, b, t, j);
    }
}

contract DataScheduleTest is Test {
    Float32Cheats internal constant CHEATS = Float32Cheats(address(vm));
    string internal constant VECTORS = "tests/vectors/schedule/schedule_v2.json";
    DataScheduleHarness internal h;

    function setUp() public {
        h = new DataScheduleHarness();
    }

    function _case(string memory json, uint256 c)
        internal
        pure
        returns (bytes32 root, uint64 seed, uint256 taskId, uint256 n, string memory p)
    {
        p = string.concat(".cases[", vm.toString(c), "]");
        root = vm.parseJsonBytes32(json, string.concat(p, ".sampleRoot"));
        seed = uint64(vm.parseJsonUint(json, string.concat(p, ".seed")));
        taskId = vm.parseJsonUint(json, string.concat(p, ".taskId"));
        n = vm.parseJsonUint(json, string.concat(p, ".numSamples"));
    }

    /// @dev Every committed vector: Solidity gives prover/schedule.py's key, k and samples.
    function test_sampleAt_vectorsMatchPython_succeeds() public view {
        string memory json = vm.readFile(VECTORS);
        for (uint256 c; c < 8; ++c) {
            (bytes32 root, uint64 seed, uint256 taskId, uint256 n, string memory p) =
                _case(json, c);
            uint256 k = vm.parseJsonUint(json, string.concat(p, ".halfBits"));
            assertEq(DataSchedule.halfBits(n), k, "k");
            assertEq(
                DataSchedule.epochKey(root, seed, taskId, 0),
                vm.parseJsonBytes32(json, string.concat(p, ".key0")),
                "epoch key"
            );
            uint256[] memory pos = CHEATS.parseJsonUintArray(json, string.concat(p, ".positions"));
            uint256[] memory want = CHEATS.parseJsonUintArray(json, string.concat(p, ".samples"));
            assertEq(pos.length, want.length, "vector lengths");
            for (uint256 i; i < pos.length; ++i) {
                assertEq(DataSchedule.sampleAt(root, seed, taskId, n, pos[i]), want[i], "sample");
            }
        }
    }

    /// @dev Every sample of the vectors' 5-sample dataset proves against its sampleRoot (the
    ///      proofs prover/dataset.py's sample_proof wrote); another index or hash does not.
    function test_verifySample_vectorProofs_succeeds() public view {
        string memory json = vm.readFile(VECTORS);
        bytes32 root = vm.parseJsonBytes32(json, ".dataset.sampleRoot");
        for (uint256 i; i < 5; ++i) {
            string memory p = string.concat(".dataset.samples[", vm.toString(i), "]");
            bytes32 sh = vm.parseJsonBytes32(json, string.concat(p, ".sampleHash"));
            bytes32[] memory proof = vm.parseJsonBytes32Array(json, string.concat(p, ".proof"));
            assertEq(vm.parseJsonUint(json, string.concat(p, ".index")), i, "index");
            assertTrue(h.verifySample(root, i, sh, proof), "sample proves");
            assertFalse(h.verifySample(root, i ^ 1, sh, proof), "another index");
            assertFalse(h.verifySample(root, i + 8, sh, proof), "index past the proof");
            bytes32 other = keccak256(abi.encode(sh));
            assertFalse(h.verifySample(root, i, other, proof), "another sample");
        }
    }

    /// @dev One epoch of a 37-sample dataset visits every sample exactly once.
    function test_permute_oneEpochIsAPermutation_succeeds() public pure {
        uint256 n = 37;
        bytes32 key = DataSchedule.epochKey(keccak256("root"), 5, 11, 3);
        uint256 seen;
        for (uint256 o; o < n; ++o) {
            uint256 s = DataSchedule.permute(key, n, o);
            assertTrue(s < n, "in range");
            assertEq(seen & (uint256(1) << s), 0, "visited twice");
            seen |= uint256(1) << s;
        }
        assertEq(seen, (uint256(1) << n) - 1, "every sample visited");
    }

    /// @dev Another task id (same spec) sees another order.
    function test_sampleAt_taskIdChangesOrder_succeeds() public pure {
        bytes32 root = keccak256("root");
        uint256 same;
        for (uint256 p; p < 64; ++p) {
            uint256 a = DataSchedule.sampleAt(root, 1, 1, 1000, p);
            if (a == DataSchedule.sampleAt(root, 1, 2, 1000, p)) ++same;
        }
        assertTrue(same < 4, "orders of two tasks nearly agree");
    }

    /// @dev Row j of step t is position (t - 1) * batchSize + j.
    function test_batchSample_rowIsPosition_succeeds() public view {
        bytes32 root = keccak256("root");
        uint256 row = h.batchSample(root, 9, 4, 100, 8, 3, 5);
        assertEq(row, h.sampleAt(root, 9, 4, 100, 21), "row 5 of step 3");
    }

    /// @dev An empty dataset has no sample.
    function test_sampleAt_emptyDataset_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(DataSchedule.SampleCountOutOfRange.selector, 0));
        h.sampleAt(bytes32(0), 0, 1, 0, 0);
    }

    /// @dev A position past the u64 range of epochs reverts.
    function test_sampleAt_epochPastU64_reverts() public {
        uint256 p = (uint256(type(uint64).max) + 1) * 3;
        vm.expectRevert(abi.encodeWithSelector(DataSchedule.EpochOutOfRange.selector, p, 3));
        h.sampleAt(bytes32(0), 0, 1, 3, p);
    }

    /// @dev Step 0 and a row past the batch revert.
    function test_batchSample_rowOutOfRange_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(DataSchedule.RowOutOfRange.selector, 2, 8, 8));
        h.batchSample(bytes32(0), 0, 1, 100, 8, 2, 8);
        vm.expectRevert(abi.encodeWithSelector(DataSchedule.RowOutOfRange.selector, 0, 0, 8));
        h.batchSample(bytes32(0), 0, 1, 100, 8, 0, 0);
    }

    /// @dev One lookup through the ABI (this test's .gas-snapshot row is the per-lookup figure).
    function test_sampleAt_oneLookup_succeeds() public view {
        assertTrue(h.sampleAt(keccak256("root"), 1, 7, 1_000_003, 123_456) < 1_000_003, "in range");
    }

    /// @dev Net gas of a lookup (internal call) over 256 positions of a dataset of `n` samples:
    ///      median and worst, sorted by insertion.
    function _lookupGas(uint256 n) internal view returns (uint256 median, uint256 worst) {
        bytes32 root = keccak256("root");
        uint256[] memory used = new uint256[](256);
        for (uint256 p; p < 256; ++p) {
            uint256 g = gasleft();
            DataSchedule.sampleAt(root, 1, 7, n, p * 7919);
            uint256 u = g - gasleft();
            uint256 k = p;
            while (k > 0 && used[k - 1] > u) {
                used[k] = used[k - 1];
                --k;
            }
            used[k] = u;
        }
        return (used[128], used[255]);
    }

    /// @dev Lookup gas into snapshots/DataScheduleTest.json for a dataset just under a power of
    ///      four (1,000,003: one Feistel pass nearly always) and one just past it (1,048,577:
    ///      4^k is ~4N, the longest walks), worst cases under a regression ceiling.
    function test_sampleAt_gas_succeeds() public {
        (uint256 med, uint256 worst) = _lookupGas(1_000_003);
        CHEATS.snapshotValue("sampleAt_1000003_median", med);
        CHEATS.snapshotValue("sampleAt_1000003_worst", worst);
        (uint256 med2, uint256 worst2) = _lookupGas(1_048_577);
        CHEATS.snapshotValue("sampleAt_1048577_median", med2);
        CHEATS.snapshotValue("sampleAt_1048577_worst", worst2);
        assertLe(worst, 60_000, "a lookup costs more gas than before");
        assertLe(worst2, 60_000, "a lookup costs more gas than before");
    }
}
