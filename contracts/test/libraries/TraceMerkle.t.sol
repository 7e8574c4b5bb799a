// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {TraceMerkleBuilder} from "../support/TraceMerkleBuilder.sol";
import {TraceMerkle} from "../../src/libraries/TraceMerkle.sol";

/// @dev Exposes the calldata variant (the one openDispute uses).
contract MerkleHarness {
    function verify(bytes32[] calldata proof, bytes32 root, bytes32 leafHash, uint256 index)
        external
        pure
        returns (bool)
    {
        return TraceMerkle.verifyCalldata(proof, root, leafHash, index);
    }

    function root(bytes32[] calldata leaves) external pure returns (bytes32) {
        return TraceMerkle.rootCalldata(leaves);
    }
}

contract TraceMerkleTest is Test {
    MerkleHarness internal h;

    function setUp() public {
        h = new MerkleHarness();
    }

    // ------------------------------------------------------------ shared vectors (tests/vectors/merkle.json)

    /// @dev vectors leavesRootsProofsMatch succeeds.
    function test_vectors_leavesRootsProofsMatch_succeeds() public view {
        string memory json = vm.readFile("tests/vectors/merkle.json");
        uint256[4] memory sizes = [uint256(1), 2, 8, 128];
        for (uint256 c; c < 4; ++c) {
            string memory p = string.concat(".cases[", vm.toString(c), "]");
            uint256 taskId = vm.parseJsonUint(json, string.concat(p, ".taskId"));
            uint256 start = vm.parseJsonUint(json, string.concat(p, ".segmentStart"));
            uint256 s = vm.parseJsonUint(json, string.concat(p, ".segmentSteps"));
            assertEq(s, sizes[c], "segment size");
            bytes32[] memory shs = vm.parseJsonBytes32Array(json, string.concat(p, ".stateHashes"));
            bytes32[] memory leaves = vm.parseJsonBytes32Array(json, string.concat(p, ".leaves"));
            bytes32 root = vm.parseJsonBytes32(json, string.concat(p, ".root"));
            assertEq(leaves.length, s);
            for (uint256 i; i < s; ++i) {
                assertEq(TraceMerkle.leaf(taskId, start + i + 1, shs[i]), leaves[i], "leaf");
            }
            assertEq(TraceMerkleBuilder.computeRoot(leaves), root, "root");
            assertEq(h.root(leaves), root, "rootCalldata (commitSegment) agrees with the vectors");
            for (uint256 i; i < s; ++i) {
                bytes32[] memory proof = s == 1
                    ? new bytes32[](0)
                    : vm.parseJsonBytes32Array(json, string.concat(p, ".proofs[", vm.toString(i), "]"));
                assertEq(keccak256(abi.encode(proof)), keccak256(abi.encode(TraceMerkleBuilder.buildProof(leaves, i))), "proof");
                assertTrue(h.verify(proof, root, leaves[i], i), "proof verifies");
                if (s > 1) assertFalse(h.verify(proof, root, leaves[i], i ^ 1), "wrong index rejected");
            }
        }
    }

    // ------------------------------------------------------------ unit

    /// @dev The assembly root commitSegment uses equals the reference root for every power-of-two size.
    function testFuzz_rootCalldata_matchesReference(uint256 seed, uint8 logN) public view {
        uint256 n = 1 << bound(uint256(logN), 0, 8);
        bytes32[] memory l = new bytes32[](n);
        for (uint256 i; i < n; ++i) l[i] = keccak256(abi.encode(seed, i));
        assertEq(h.root(l), TraceMerkleBuilder.computeRoot(l));
    }

    /// @dev leaf isOpenZeppelinDoubleHash succeeds.
    function test_leaf_isOpenZeppelinDoubleHash_succeeds() public pure {
        bytes32 sh = keccak256("state");
        bytes32 inner = keccak256(abi.encode(uint256(9), uint256(3), sh));
        assertEq(TraceMerkle.leaf(9, 3, sh), keccak256(bytes.concat(inner)));
    }

    /// @dev hashPair isPositional succeeds.
    function test_hashPair_isPositional_succeeds() public pure {
        bytes32 a = keccak256("a");
        bytes32 b = keccak256("b");
        assertEq(TraceMerkle.hashPair(a, b), keccak256(abi.encodePacked(a, b)));
        assertNotEq(TraceMerkle.hashPair(a, b), TraceMerkle.hashPair(b, a));
    }

    /// @dev verify singleLeafTreeRootIsLeaf succeeds.
    function test_verify_singleLeafTreeRootIsLeaf_succeeds() public view {
        bytes32 l = keccak256("only");
        assertTrue(h.verify(new bytes32[](0), l, l, 0));
        assertFalse(h.verify(new bytes32[](0), l, l, 1));
    }

    /// @dev verify indexBeyondDepthRejected succeeds.
    function test_verify_indexBeyondDepthRejected_succeeds() public view {
        bytes32[] memory leaves = _leaves(7, 8);
        bytes32 root = TraceMerkleBuilder.computeRoot(leaves);
        bytes32[] memory proof = TraceMerkleBuilder.buildProof(leaves, 5);
        assertTrue(h.verify(proof, root, leaves[5], 5));
        // Same low bits, beyond the tree: one root cannot answer for two positions.
        assertFalse(h.verify(proof, root, leaves[5], 5 + 8));
    }

    // ------------------------------------------------------------ fuzz

    /// @dev verify everyIndexOfRandomTree.
    function testFuzz_verify_everyIndexOfRandomTree(uint256 seed, uint256 depth, uint256 index) public view {
        depth = bound(depth, 0, 7);
        uint256 n = uint256(1) << depth;
        index = bound(index, 0, n - 1);
        bytes32[] memory leaves = _leaves(seed, n);
        bytes32 root = TraceMerkleBuilder.computeRoot(leaves);
        bytes32[] memory proof = TraceMerkleBuilder.buildProof(leaves, index);
        assertEq(proof.length, depth);
        assertTrue(h.verify(proof, root, leaves[index], index));
        assertEq(TraceMerkleBuilder.processProof(proof, leaves[index], index), root);
    }

    /// @dev verify tamperedProofRejected.
    function testFuzz_verify_tamperedProofRejected(uint256 seed, uint256 depth, uint256 index, uint256 which, bytes32 x)
        public
        view
    {
        depth = bound(depth, 1, 7);
        uint256 n = uint256(1) << depth;
        index = bound(index, 0, n - 1);
        which = bound(which, 0, depth - 1);
        bytes32[] memory leaves = _leaves(seed, n);
        bytes32 root = TraceMerkleBuilder.computeRoot(leaves);
        bytes32[] memory proof = TraceMerkleBuilder.buildProof(leaves, index);
        if (proof[which] == x) x = ~x;
        proof[which] = x;
        assertFalse(h.verify(proof, root, leaves[index], index));
    }

    /// @dev verify wrongLeafOrIndexRejected.
    function testFuzz_verify_wrongLeafOrIndexRejected(uint256 seed, uint256 depth, uint256 index, uint256 other)
        public
        view
    {
        depth = bound(depth, 1, 7);
        uint256 n = uint256(1) << depth;
        index = bound(index, 0, n - 1);
        other = bound(other, 0, n - 1);
        bytes32[] memory leaves = _leaves(seed, n);
        bytes32 root = TraceMerkleBuilder.computeRoot(leaves);
        bytes32[] memory proof = TraceMerkleBuilder.buildProof(leaves, index);
        if (other != index) {
            assertFalse(h.verify(proof, root, leaves[index], other), "other index");
            assertFalse(h.verify(proof, root, leaves[other], index), "other leaf");
        }
        assertFalse(h.verify(proof, root, keccak256(abi.encode(leaves[index])), index), "tampered leaf");
    }

    function _leaves(uint256 seed, uint256 n) internal pure returns (bytes32[] memory l) {
        l = new bytes32[](n);
        for (uint256 i; i < n; ++i) l[i] = keccak256(abi.encode(seed, i));
    }
}
