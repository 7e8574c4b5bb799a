// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title TraceMerkle
/// @notice Positional (not sorted-pair) binary Merkle trees over a segment's leaves, as PROTOCOL.md
///         "Leaf" and "Trace root" fix them:
///         leaf(t) = keccak256(bytes.concat(keccak256(abi.encode(uint256 taskId, uint256 t, bytes32 stateHash))))
///         node    = keccak256(abi.encodePacked(left, right))
///         The leaf index (step - segmentStart - 1) picks the side at each level: bit i of the index is
///         the side at level i (0: the running hash is the left child).
library TraceMerkle {
    /// @notice The double-hashed leaf for step `t` of `taskId` with state hash `stateHash`.
    function leaf(uint256 taskId, uint256 t, bytes32 stateHash) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(taskId, t, stateHash))));
    }

    /// @notice keccak256(abi.encodePacked(left, right)) without the memory allocation.
    function hashPair(bytes32 left, bytes32 right) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, left)
            mstore(0x20, right)
            h := keccak256(0x00, 0x40)
        }
    }

    /// @notice Root of `leaves` (a power-of-two count >= 1, checked by the caller). The first level
    ///         hashes pairs straight from calldata into scratch memory; the levels above reuse it.
    function rootCalldata(bytes32[] calldata leaves) internal pure returns (bytes32 root) {
        assembly ("memory-safe") {
            let n := leaves.length
            switch n
            case 1 { root := calldataload(leaves.offset) }
            default {
                let buf := mload(0x40)
                for { let i := 0 } lt(i, n) { i := add(i, 2) } {
                    calldatacopy(0x00, add(leaves.offset, shl(5, i)), 0x40)
                    mstore(add(buf, shl(4, i)), keccak256(0x00, 0x40))
                }
                for { n := shr(1, n) } gt(n, 1) { n := shr(1, n) } {
                    for { let i := 0 } lt(i, n) { i := add(i, 2) } {
                        mstore(add(buf, shl(4, i)), keccak256(add(buf, shl(5, i)), 0x40))
                    }
                }
                root := mload(buf)
            }
        }
    }

    /// @notice Root obtained by walking `proof` up from `leafHash` at `index`.
    function processProofCalldata(bytes32[] calldata proof, bytes32 leafHash, uint256 index)
        internal
        pure
        returns (bytes32 h)
    {
        h = leafHash;
        uint256 n = proof.length;
        for (uint256 i; i < n; ++i) {
            h = (index & 1 == 0) ? hashPair(h, proof[i]) : hashPair(proof[i], h);
            index >>= 1;
        }
    }

    /// @notice Whether `proof` proves `leafHash` at `index` under `root`. The index must fit the depth,
    ///         so one root cannot answer for two indexes.
    function verifyCalldata(bytes32[] calldata proof, bytes32 root, bytes32 leafHash, uint256 index)
        internal
        pure
        returns (bool)
    {
        if (proof.length < 256 && index >> proof.length != 0) return false;
        return processProofCalldata(proof, leafHash, index) == root;
    }
}
