// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title TensorCommit
/// @notice Tensor commitments and state hashes v2 (docs/referee.md "Tensor commitment", "State
///         hash v2"; reference: prover/trace/commit.py). A tensor is its float32 values,
///         little-endian, row-major, in chunks of 256 elements (1 KiB, the last zero-padded);
///         leaf = sha256(chunk); node = sha256(left ++ right) over the leaves padded with zero
///         hashes to a power of two (bit i of the index: right child at level i);
///         commit = sha256(root ++ u32be(rank) ++ u32be(dims...)). A state hash v2 is the same
///         sha256 tree over the state tensors' commits and one scalar leaf.
library TensorCommit {
    uint256 internal constant CHUNK_ELEMS = 256;
    uint256 internal constant CHUNK_BYTES = 1024;

    /// @notice A chunk must be exactly 1 KiB (the last chunk of a tensor is zero-padded).
    error ChunkLength(uint256 got);
    /// @notice Lane `lane` is not in a chunk (0..255).
    error LaneOutOfRange(uint256 lane);
    /// @notice A tensor of rank `rank` has more than 2^64 elements or a rank over 255.
    error ShapeTooLarge(uint256 rank);

    /// @notice sha256(left ++ right) through the precompile, without allocating memory.
    function hashPair(bytes32 left, bytes32 right) internal view returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, left)
            mstore(0x20, right)
            if iszero(staticcall(gas(), 0x02, 0x00, 0x40, 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
        }
    }

    /// @notice The leaf of a 1 KiB chunk: sha256(chunk).
    function chunkLeaf(bytes calldata chunk) internal view returns (bytes32 h) {
        if (chunk.length != CHUNK_BYTES) revert ChunkLength(chunk.length);
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, chunk.offset, CHUNK_BYTES)
            if iszero(staticcall(gas(), 0x02, p, CHUNK_BYTES, 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
        }
    }

    /// @notice The raw binary32 bits at `lane` of a chunk (4 little-endian bytes).
    function element(bytes calldata chunk, uint256 lane) internal pure returns (uint32 bits) {
        if (chunk.length != CHUNK_BYTES) revert ChunkLength(chunk.length);
        bits = valueAt(chunk, lane);
    }

    /// @notice The binary32 bits at `lane` of any little-endian float32 array (a scalar-table row).
    function valueAt(bytes calldata chunk, uint256 lane) internal pure returns (uint32 bits) {
        if (lane >= CHUNK_ELEMS || 4 * lane + 4 > chunk.length) revert LaneOutOfRange(lane);
        uint256 w;
        assembly ("memory-safe") {
            w := shr(224, calldataload(add(chunk.offset, shl(2, lane))))
        }
        // Little-endian: byte 0 of the lane is the least significant byte of the value.
        bits = uint32(((w & 0xFF) << 24) | ((w & 0xFF00) << 8) | ((w >> 8) & 0xFF00) | (w >> 24));
    }

    /// @notice commit = sha256(root ++ u32be(rank) ++ u32be(dim_0) ++ ...), the shape-bound commitment.
    function bindShape(bytes32 root, uint32[] calldata dims) internal view returns (bytes32 h) {
        uint256 rank = dims.length;
        if (rank > 255) revert ShapeTooLarge(rank);
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, root)
            mstore(add(p, 0x20), shl(224, rank))
            for { let i := 0 } lt(i, rank) { i := add(i, 1) } {
                // Each store writes 32 bytes; the next one overwrites all but its first 4.
                mstore(add(p, add(0x24, shl(2, i))), shl(224, calldataload(add(dims.offset, shl(5, i)))))
            }
            if iszero(staticcall(gas(), 0x02, p, add(0x24, shl(2, rank)), 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
        }
    }

    /// @notice Number of elements of a tensor of shape `dims` (1 for rank 0).
    function numel(uint32[] calldata dims) internal pure returns (uint256 n) {
        n = 1;
        for (uint256 i; i < dims.length; ++i) {
            n *= dims[i];
        }
        if (n >> 64 != 0) revert ShapeTooLarge(dims.length);
    }

    /// @notice Chunks of a tensor of `n` elements (at least one: an empty tensor is one zero chunk).
    function chunkCount(uint256 n) internal pure returns (uint256) {
        return n == 0 ? 1 : (n + CHUNK_ELEMS - 1) / CHUNK_ELEMS;
    }

    /// @notice Depth of the sha256 tree over `leaves` leaves: ceil(log2(leaves)), 0 for one leaf.
    function depthOf(uint256 leaves) internal pure returns (uint256 d) {
        while ((uint256(1) << d) < leaves) ++d;
    }

    /// @notice Root of the sha256 tree over `leaves`, padded with zero hashes to a power of two.
    function rootOf(bytes32[] calldata leaves) internal view returns (bytes32) {
        uint256 w = 1;
        while (w < leaves.length) w <<= 1;
        bytes32[] memory level = new bytes32[](w);
        for (uint256 i; i < leaves.length; ++i) {
            level[i] = leaves[i];
        }
        for (; w > 1; w >>= 1) {
            for (uint256 i; i < w / 2; ++i) {
                level[i] = hashPair(level[2 * i], level[2 * i + 1]);
            }
        }
        return level[0];
    }

    /// @notice The root reached by walking `proof` up from `leaf` at `index`.
    function processProof(bytes32[] calldata proof, bytes32 leaf, uint256 index) internal view returns (bytes32 h) {
        h = leaf;
        for (uint256 i; i < proof.length; ++i) {
            h = index & 1 == 0 ? hashPair(h, proof[i]) : hashPair(proof[i], h);
            index >>= 1;
        }
    }

    /// @notice Whether `proof` proves `leaf` at `index` of a tree of `leaves` leaves under `root`.
    ///         The proof must have exactly the tree's depth and the index must be a leaf of it, so
    ///         an inner node can never pass for a leaf.
    function verify(bytes32[] calldata proof, bytes32 root, bytes32 leaf, uint256 index, uint256 leaves)
        internal
        view
        returns (bool)
    {
        if (index >= leaves || proof.length != depthOf(leaves)) return false;
        return processProof(proof, leaf, index) == root;
    }

    /// @notice Whether `chunk` is chunk `index` of the tensor with chunk-tree `root` and `n` elements.
    function verifyChunk(bytes calldata chunk, bytes32 root, uint256 index, uint256 n, bytes32[] calldata proof)
        internal
        view
        returns (bool)
    {
        return verify(proof, root, chunkLeaf(chunk), index, chunkCount(n));
    }

    /// @notice Whether the tensor (chunk-tree `root`, shape `dims`) is state tensor `j` of the state
    ///         hash v2 `stateRoot` of a state with `nTensors` tensors (plus its scalar leaf).
    function verifyStateTensor(
        bytes32 stateRoot,
        uint256 nTensors,
        uint256 j,
        bytes32 root,
        uint32[] calldata dims,
        bytes32[] calldata proof
    ) internal view returns (bool) {
        if (j >= nTensors) return false;
        return verify(proof, stateRoot, bindShape(root, dims), j, nTensors + 1);
    }
}
