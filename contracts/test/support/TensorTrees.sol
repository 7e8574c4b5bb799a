// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice Test-side tensor commitments over memory (the contracts verify calldata): chunks,
///         sha256 trees padded with zero hashes, proofs, commits. Same definition as
///         prover/trace/commit.py (checked by TensorCommit.t.sol against its vectors).
library TensorTrees {
    function chunkCount(uint256 n) internal pure returns (uint256) {
        return n == 0 ? 1 : (n + 255) / 256;
    }

    /// @notice Chunk c of `vals` (1 KiB, little-endian binary32, zero-padded).
    function chunk(uint32[] memory vals, uint256 c) internal pure returns (bytes memory b) {
        b = new bytes(1024);
        for (uint256 l; l < 256; ++l) {
            uint256 e = c * 256 + l;
            if (e >= vals.length) break;
            uint32 v = vals[e];
            b[4 * l] = bytes1(uint8(v));
            b[4 * l + 1] = bytes1(uint8(v >> 8));
            b[4 * l + 2] = bytes1(uint8(v >> 16));
            b[4 * l + 3] = bytes1(uint8(v >> 24));
        }
    }

    function leaves(uint32[] memory vals) internal pure returns (bytes32[] memory l) {
        l = new bytes32[](chunkCount(vals.length));
        for (uint256 c; c < l.length; ++c) {
            l[c] = sha256(chunk(vals, c));
        }
    }

    function _width(uint256 n) private pure returns (uint256 w) {
        w = 1;
        while (w < n) w <<= 1;
    }

    /// @notice Every level of the tree over `l` (padded), leaves first.
    function levels(bytes32[] memory l) internal pure returns (bytes32[][] memory lv) {
        uint256 w = _width(l.length);
        uint256 depth;
        while ((uint256(1) << depth) < w) ++depth;
        lv = new bytes32[][](depth + 1);
        lv[0] = new bytes32[](w);
        for (uint256 i; i < l.length; ++i) {
            lv[0][i] = l[i];
        }
        for (uint256 d = 1; d <= depth; ++d) {
            lv[d] = new bytes32[](lv[d - 1].length / 2);
            for (uint256 i; i < lv[d].length; ++i) {
                lv[d][i] = sha256(abi.encodePacked(lv[d - 1][2 * i], lv[d - 1][2 * i + 1]));
            }
        }
    }

    function root(bytes32[] memory l) internal pure returns (bytes32) {
        bytes32[][] memory lv = levels(l);
        return lv[lv.length - 1][0];
    }

    function proof(bytes32[] memory l, uint256 index) internal pure returns (bytes32[] memory p) {
        bytes32[][] memory lv = levels(l);
        p = new bytes32[](lv.length - 1);
        for (uint256 d; d < p.length; ++d) {
            p[d] = lv[d][index ^ 1];
            index >>= 1;
        }
    }

    function bindShape(bytes32 r, uint32[] memory dims) internal pure returns (bytes32) {
        bytes memory b = abi.encodePacked(r, uint32(dims.length));
        for (uint256 i; i < dims.length; ++i) {
            b = bytes.concat(b, abi.encodePacked(dims[i]));
        }
        return sha256(b);
    }

    function commit(uint32[] memory vals, uint32[] memory dims) internal pure returns (bytes32) {
        return bindShape(root(leaves(vals)), dims);
    }

    function chunkProof(uint32[] memory vals, uint256 c) internal pure returns (bytes32[] memory) {
        return proof(leaves(vals), c);
    }
}
