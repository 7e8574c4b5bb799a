// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {TensorCommit} from "../../src/libraries/TensorCommit.sol";
import {StepOp, StepOps} from "../../src/referee/StepOp.sol";
import {TensorTrees} from "../support/TensorTrees.sol";

/// @notice External wrappers so the library's calldata functions get calldata.
contract TensorCommitHarness {
    function opLeaf(StepOp calldata op) external pure returns (bytes32) {
        return StepOps.leaf(op);
    }

    function bindShape(bytes32 root, uint32[] calldata dims) external view returns (bytes32) {
        return TensorCommit.bindShape(root, dims);
    }

    function chunkLeaf(bytes calldata chunk) external view returns (bytes32) {
        return TensorCommit.chunkLeaf(chunk);
    }

    function element(bytes calldata chunk, uint256 lane) external pure returns (uint32) {
        return TensorCommit.element(chunk, lane);
    }

    function verifyChunk(bytes calldata chunk, bytes32 root, uint256 index, uint256 n, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        return TensorCommit.verifyChunk(chunk, root, index, n, proof);
    }

    function verify(bytes32[] calldata proof, bytes32 root, bytes32 leaf, uint256 index, uint256 n)
        external
        view
        returns (bool)
    {
        return TensorCommit.verify(proof, root, leaf, index, n);
    }

    function verifyStateTensor(
        bytes32 stateRoot,
        uint256 nTensors,
        uint256 j,
        bytes32 root,
        uint32[] calldata dims,
        bytes32[] calldata proof
    ) external view returns (bool) {
        return TensorCommit.verifyStateTensor(stateRoot, nTensors, j, root, dims, proof);
    }
}

/// @notice TensorCommit against tests/vectors/trace/tensor_commit.json, written by the Python
///         reference (prover/trace/commit.py) with tests/vectors/trace/make_tensor_vectors.py.
contract TensorCommitTest is Test {
    TensorCommitHarness internal h;
    string internal json;

    function setUp() public {
        h = new TensorCommitHarness();
        json = vm.readFile("tests/vectors/trace/tensor_commit.json");
    }

    function _t(uint256 i) internal pure returns (string memory) {
        return string.concat(".tensors[", vm.toString(i), "]");
    }

    function _dims(uint256 i) internal view returns (uint32[] memory d) {
        uint256[] memory raw = vm.parseJsonUintArray(json, string.concat(_t(i), ".dims"));
        d = new uint32[](raw.length);
        for (uint256 j; j < raw.length; ++j) {
            d[j] = uint32(raw[j]);
        }
    }

    /// @dev Every vector tensor's commit is sha256(root ++ rank ++ dims) as Python computes it.
    function test_bindShape_vectors_succeeds() public view {
        for (uint256 i; i < 6; ++i) {
            bytes32 root = vm.parseJsonBytes32(json, string.concat(_t(i), ".root"));
            assertEq(h.bindShape(root, _dims(i)), vm.parseJsonBytes32(json, string.concat(_t(i), ".commit")));
        }
    }

    /// @dev Every chunk of every vector tensor hashes to its leaf and proves against the root.
    function test_verifyChunk_vectors_succeeds() public view {
        for (uint256 i; i < 6; ++i) {
            string memory t = _t(i);
            bytes32 root = vm.parseJsonBytes32(json, string.concat(t, ".root"));
            uint256 n = vm.parseJsonUint(json, string.concat(t, ".numel"));
            uint256 chunks = TensorCommit.chunkCount(n);
            for (uint256 c; c < chunks; ++c) {
                string memory p = string.concat(t, ".chunks[", vm.toString(c), "]");
                bytes memory data = vm.parseJsonBytes(json, string.concat(p, ".data"));
                bytes32[] memory proof = vm.parseJsonBytes32Array(json, string.concat(p, ".proof"));
                assertEq(h.chunkLeaf(data), vm.parseJsonBytes32(json, string.concat(p, ".leaf")));
                assertTrue(h.verifyChunk(data, root, c, n, proof), "chunk proof");
                // The same chunk never proves at another index.
                assertFalse(h.verifyChunk(data, root, c ^ 1, n, proof), "wrong index");
            }
        }
    }

    /// @dev Element e is lane e & 255 of chunk e >> 8, little-endian, with Python's bits.
    function test_element_vectors_succeeds() public view {
        for (uint256 i; i < 6; ++i) {
            string memory t = _t(i);
            uint256[] memory es = vm.parseJsonUintArray(json, string.concat(t, ".elements.e"));
            uint256[] memory bits = vm.parseJsonUintArray(json, string.concat(t, ".elements.bits"));
            for (uint256 j; j < es.length; ++j) {
                string memory p = string.concat(t, ".chunks[", vm.toString(es[j] >> 8), "].data");
                assertEq(h.element(vm.parseJsonBytes(json, p), es[j] & 255), bits[j]);
            }
        }
    }

    /// @dev Each state tensor opens from the state hash v2 root; another tensor at its index does not.
    function test_verifyStateTensor_vectors_succeeds() public view {
        bytes32 state = vm.parseJsonBytes32(json, ".state.root");
        for (uint256 j; j < 3; ++j) {
            bytes32 root = vm.parseJsonBytes32(json, string.concat(_t(j), ".root"));
            bytes32[] memory proof =
                vm.parseJsonBytes32Array(json, string.concat(".state.proofs[", vm.toString(j), "]"));
            assertTrue(h.verifyStateTensor(state, 3, j, root, _dims(j), proof), "state tensor");
            assertFalse(h.verifyStateTensor(state, 3, (j + 1) % 3, root, _dims(j), proof), "other slot");
        }
    }

    /// @dev The scalar leaf's slot (index nTensors) is not a tensor slot.
    function test_verifyStateTensor_scalarSlot_reverts() public view {
        bytes32 state = vm.parseJsonBytes32(json, ".state.root");
        bytes32[] memory proof = vm.parseJsonBytes32Array(json, ".state.proofs[0]");
        assertFalse(h.verifyStateTensor(state, 3, 3, bytes32(0), _dims(0), proof));
    }

    /// @dev A short chunk is refused with its length.
    function test_chunkLeaf_shortChunk_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(TensorCommit.ChunkLength.selector, 1023));
        h.chunkLeaf(new bytes(1023));
    }

    /// @dev A wrong shape gives another commit (the shape is bound).
    function test_bindShape_otherShape_succeeds() public view {
        bytes32 root = vm.parseJsonBytes32(json, string.concat(_t(3), ".root"));
        uint32[] memory d = new uint32[](2);
        d[0] = 300;
        d[1] = 2;
        assertNotEq(h.bindShape(root, d), vm.parseJsonBytes32(json, string.concat(_t(3), ".commit")));
    }

    /// @dev Lane 256 is out of a chunk.
    function test_element_laneOutOfRange_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(TensorCommit.LaneOutOfRange.selector, 256));
        h.element(new bytes(1024), 256);
    }

    /// @dev The op leaf encoding agrees with the Python packer for the fixture graph's ops.
    function test_opLeaf_vectors_succeeds() public view {
        for (uint256 i; i < 3; ++i) {
            string memory p = string.concat(".ops[", vm.toString(i), "]");
            StepOp memory op;
            op.index = uint32(vm.parseJsonUint(json, string.concat(p, ".index")));
            op.kind = uint16(vm.parseJsonUint(json, string.concat(p, ".kind")));
            uint256[] memory rk = vm.parseJsonUintArray(json, string.concat(p, ".refKinds"));
            uint256[] memory ri = vm.parseJsonUintArray(json, string.concat(p, ".refIndices"));
            uint256[] memory dims = vm.parseJsonUintArray(json, string.concat(p, ".dims"));
            uint256[] memory attrs = vm.parseJsonUintArray(json, string.concat(p, ".attrs"));
            op.refKinds = new uint8[](rk.length);
            op.refIndices = new uint32[](ri.length);
            op.dims = new uint32[](dims.length);
            op.attrs = new int64[](attrs.length);
            for (uint256 j; j < rk.length; ++j) {
                (op.refKinds[j], op.refIndices[j]) = (uint8(rk[j]), uint32(ri[j]));
            }
            for (uint256 j; j < dims.length; ++j) {
                op.dims[j] = uint32(dims[j]);
            }
            for (uint256 j; j < attrs.length; ++j) {
                op.attrs[j] = int64(uint64(attrs[j]));
            }
            assertEq(h.opLeaf(op), vm.parseJsonBytes32(json, string.concat(p, ".leaf")));
        }
    }

    /// @dev finalRoot from the Python reference (prover/trace/roots.py final_root) for the fixture
    ///      graph's final refs: its leaves are the referee's encoding, its tree the fixture's, and
    ///      every leaf verifies against it the way pickFinal and disputeKept check it.
    function test_finalRoot_vectors_succeeds() public view {
        uint256[] memory kinds = vm.parseJsonUintArray(json, ".final.refKinds");
        uint256[] memory idx = vm.parseJsonUintArray(json, ".final.refIndices");
        bytes32[] memory want = vm.parseJsonBytes32Array(json, ".final.leaves");
        bytes32 root = vm.parseJsonBytes32(json, ".final.root");
        bytes32[] memory leaves = new bytes32[](kinds.length);
        for (uint256 j; j < kinds.length; ++j) {
            leaves[j] = sha256(abi.encodePacked(uint32(j), uint8(kinds[j]), uint32(idx[j])));
            assertEq(leaves[j], want[j]);
            string memory at = string.concat(".final.proofs[", vm.toString(j), "]");
            bytes32[] memory proof = vm.parseJsonBytes32Array(json, at);
            assertTrue(h.verify(proof, root, leaves[j], j, kinds.length));
            assertFalse(h.verify(proof, root, leaves[(j + 1) % kinds.length], j, kinds.length));
        }
        assertEq(TensorTrees.root(leaves), root);
        assertEq(kinds[0], StepOps.REF_OP);
    }
}
