// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TraceMerkle} from "../../src/libraries/TraceMerkle.sol";

/// @title TraceMerkleBuilder
/// @notice Test-only: builds trees and proofs over memory leaves (the node and the challenger do
///         this off-chain in prover/merkle.py; the contracts only verify calldata proofs).
library TraceMerkleBuilder {
    /// @notice Memory variant of processProofCalldata.
    function processProof(bytes32[] memory proof, bytes32 leafHash, uint256 index) internal pure returns (bytes32 h) {
        h = leafHash;
        uint256 n = proof.length;
        for (uint256 i; i < n; ++i) {
            h = (index & 1 == 0) ? TraceMerkle.hashPair(h, proof[i]) : TraceMerkle.hashPair(proof[i], h);
            index >>= 1;
        }
    }

    /// @notice Memory variant of verifyCalldata.
    function verify(bytes32[] memory proof, bytes32 root, bytes32 leafHash, uint256 index)
        internal
        pure
        returns (bool)
    {
        if (proof.length < 256 && index >> proof.length != 0) return false;
        return processProof(proof, leafHash, index) == root;
    }

    /// @notice Root of a perfect tree over `leaves` (length a power of two, at least 1).
    ///         Overwrites `leaves` while hashing (work on a copy if you need them).
    function computeRootInPlace(bytes32[] memory leaves) internal pure returns (bytes32) {
        uint256 n = leaves.length;
        while (n > 1) {
            for (uint256 i; i < n / 2; ++i) {
                leaves[i] = TraceMerkle.hashPair(leaves[2 * i], leaves[2 * i + 1]);
            }
            n /= 2;
        }
        return leaves[0];
    }

    /// @notice Root of a perfect tree over `leaves` (not modified).
    function computeRoot(bytes32[] memory leaves) internal pure returns (bytes32) {
        bytes32[] memory work = new bytes32[](leaves.length);
        for (uint256 i; i < leaves.length; ++i) work[i] = leaves[i];
        return computeRootInPlace(work);
    }

    /// @notice Proof (siblings, bottom up) for leaf `index` of a perfect tree over `leaves`.
    function buildProof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[] memory siblings) {
        uint256 n = leaves.length;
        uint256 depth;
        while ((uint256(1) << depth) < n) ++depth;
        siblings = new bytes32[](depth);
        bytes32[] memory level = new bytes32[](n);
        for (uint256 i; i < n; ++i) level[i] = leaves[i];
        for (uint256 d; d < depth; ++d) {
            siblings[d] = level[index ^ 1];
            for (uint256 i; i < n / 2; ++i) {
                level[i] = TraceMerkle.hashPair(level[2 * i], level[2 * i + 1]);
            }
            n /= 2;
            index >>= 1;
        }
    }
}
