// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TraceMerkle} from "./TraceMerkle.sol";

/// @title DataSchedule
/// @notice The v2 data schedule (spec `schedule: "keccak-v2"`, docs/referee.md "Data schedule v2"):
///         which sample of the dataset sits at position p of a task's data stream, computed per
///         position (the v1 schedule sorts a whole epoch's keys, out of reach on-chain).
///         Position p = (t - 1) * batchSize + j is row j of step t; epoch e = p / n, offset p % n;
///         the sample is perm_e(offset), where perm_e is a 4-round balanced Feistel network over
///         [0, 4^k) (k >= 1 the least with 4^k >= n, halves of k bits) keyed by
///         key_e = keccak256(abi.encodePacked("veritrain/data/v2", sampleRoot, uint64 seed,
///         uint256 taskId, uint64 e)), round i mixing F_i(R) = keccak256(abi.encode(key_e, i, R))
///         mod 2^k into the left half, cycle-walked into [0, n). Mirrors prover/schedule.py.
library DataSchedule {
    /// @notice Feistel rounds per pass.
    uint256 internal constant ROUNDS = 4;

    /// @notice A dataset of `numSamples` samples: none, or past the u64 range of a spec.
    error SampleCountOutOfRange(uint256 numSamples);
    /// @notice Position `position` lies in an epoch past the u64 range of the key.
    error EpochOutOfRange(uint256 position, uint256 numSamples);
    /// @notice Row `row` of a step whose batch has `batchSize` rows, or step 0.
    error RowOutOfRange(uint256 step, uint256 row, uint256 batchSize);

    /// @notice key_e of epoch `epoch`.
    function epochKey(bytes32 sampleRoot, uint64 seed, uint256 taskId, uint64 epoch)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked("veritrain/data/v2", sampleRoot, seed, taskId, epoch));
    }

    /// @notice k: the least k >= 1 with 4^k >= n (n < 2^64, checked by `sampleAt`).
    function halfBits(uint256 n) internal pure returns (uint256 k) {
        k = 1;
        while ((uint256(1) << (2 * k)) < n) ++k;
    }

    /// @notice One pass of the Feistel network over [0, 4^k).
    function feistel(bytes32 key, uint256 k, uint256 x) internal pure returns (uint256 y) {
        assembly ("memory-safe") {
            let mask := sub(shl(k, 1), 1)
            let left := shr(k, x)
            let right := and(x, mask)
            // abi.encode(key, i, right) is 96 bytes, more than the scratch space: build it in
            // free memory without moving the free pointer (nothing else allocates meanwhile)
            let buf := mload(0x40)
            mstore(buf, key)
            for { let i := 0 } lt(i, ROUNDS) { i := add(i, 1) } {
                mstore(add(buf, 0x20), i)
                mstore(add(buf, 0x40), right)
                let f := and(keccak256(buf, 0x60), mask)
                let t := xor(left, f)
                left := right
                right := t
            }
            y := or(shl(k, left), right)
        }
    }

    /// @notice perm_e(offset): the Feistel network cycle-walked into [0, n). Needs offset < n.
    function permute(bytes32 key, uint256 n, uint256 offset) internal pure returns (uint256 x) {
        uint256 k = halfBits(n);
        x = feistel(key, k, offset);
        // INVARIANT: a permutation of [0, 4^k) walked from a point below n returns below n.
        while (x >= n) x = feistel(key, k, x);
    }

    /// @notice The sample index at position `position` of the data stream.
    function sampleAt(bytes32 sampleRoot, uint64 seed, uint256 taskId, uint256 n, uint256 position)
        internal
        pure
        returns (uint256)
    {
        if (n == 0 || n > type(uint64).max) revert SampleCountOutOfRange(n);
        uint256 epoch = position / n;
        if (epoch > type(uint64).max) revert EpochOutOfRange(position, n);
        bytes32 key = epochKey(sampleRoot, seed, taskId, uint64(epoch));
        return permute(key, n, position % n);
    }

    /// @notice Whether `sampleHash` (keccak256 of the sample's int32 little-endian tokens) is
    ///         sample `index` of the dataset with root `sampleRoot` (prover/dataset.py: leaf
    ///         keccak256(abi.encode(index, sampleHash)), positional keccak tree, zero-padded).
    function verifySample(
        bytes32 sampleRoot,
        uint256 index,
        bytes32 sampleHash,
        bytes32[] calldata proof
    ) internal pure returns (bool) {
        if (index >> proof.length != 0) return false;
        bytes32 leaf = keccak256(abi.encode(index, sampleHash));
        return TraceMerkle.verifyCalldata(proof, sampleRoot, leaf, index);
    }

    /// @notice The sample index of row `row` of step `step` (1-based) of a task.
    function batchSample(
        bytes32 sampleRoot,
        uint64 seed,
        uint256 taskId,
        uint256 n,
        uint256 batchSize,
        uint256 step,
        uint256 row
    ) internal pure returns (uint256) {
        if (step == 0 || row >= batchSize) revert RowOutOfRange(step, row, batchSize);
        return sampleAt(sampleRoot, seed, taskId, n, (step - 1) * batchSize + row);
    }
}
