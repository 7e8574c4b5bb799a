// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IOneStepAdjudicator, ConstProof, ScalarProof} from "../interfaces/IOneStepAdjudicator.sol";
import {TensorCommit} from "../libraries/TensorCommit.sol";
import {StepOps} from "./StepOp.sol";
import {DisputeId} from "../types/Ids.sol";

/// @title StateBindings
/// @notice The state after the step against what the step must make of it besides its ops'
///         outputs (docs/referee.md "The game"): a tensor the graph sets to a constant (final ref
///         Const(bits)) and the scalar leaf (step, RNG, data cursor), which one step advances.
///         Each check reverts unless the node's state after is proven wrong there. Run by the
///         StepEvaluator contract (the adjudicator has no code room left).
library StateBindings {
    /// @dev What the checks read from the game and the step graph.
    struct Roots {
        DisputeId id;
        bytes32 finalRoot;
        bytes32 stateBefore;
        bytes32 stateAfter;
        uint256 nState;
        uint256 batchSize;
    }

    /// @dev The scalar leaf's tag (prover/statehash.py _V2_TAG).
    bytes internal constant TAG = "veritrain/state/v2";

    /// @notice Reverts unless state tensor p.slot after the step, which the graph's final refs set
    ///         to the constant p.bits (shape: the same tensor's in the state before), is not that
    ///         constant tensor's commitment in the node's state after.
    function constMismatch(Roots calldata r, ConstProof calldata p) internal view {
        (DisputeId id, uint256 n) = (r.id, r.nState);
        bytes32 leaf = sha256(abi.encodePacked(uint32(p.slot), StepOps.REF_CONST, p.bits));
        if (!TensorCommit.verify(p.finalProof, r.finalRoot, leaf, p.slot, n)) {
            revert IOneStepAdjudicator.NotFinalOutput(id, p.slot, p.bits);
        }
        if (!TensorCommit.verifyStateTensor(r.stateBefore, n, p.slot, p.beforeRoot, p.dims, p.beforeProof)) {
            revert IOneStepAdjudicator.NotCommitted(id, r.stateBefore, TensorCommit.bindShape(p.beforeRoot, p.dims));
        }
        if (!TensorCommit.verify(p.afterProof, r.stateAfter, p.afterLeaf, p.slot, n + 1)) {
            revert IOneStepAdjudicator.NotCommitted(id, r.stateAfter, p.afterLeaf);
        }
        bytes32 want = constCommit(p.bits, p.dims);
        if (p.afterLeaf == want) revert IOneStepAdjudicator.StateOutAgrees(id, p.slot);
    }

    /// @notice Reverts unless the node's scalar leaf after the step is not the one the state
    ///         before gives after one step: step + 1, the same RNG digest, cursor + batchSize.
    function scalarMismatch(Roots calldata r, ScalarProof calldata p) internal view {
        (DisputeId id, uint256 n) = (r.id, r.nState);
        bytes32 before = scalarLeaf(p.step, p.rngDigest, p.cursor);
        if (!TensorCommit.verify(p.beforeProof, r.stateBefore, before, n, n + 1)) {
            revert IOneStepAdjudicator.NotCommitted(id, r.stateBefore, before);
        }
        if (!TensorCommit.verify(p.afterProof, r.stateAfter, p.afterLeaf, n, n + 1)) {
            revert IOneStepAdjudicator.NotCommitted(id, r.stateAfter, p.afterLeaf);
        }
        // INVARIANT: one step advances the step counter by one and the data cursor by one batch.
        bytes32 want = scalarLeaf(p.step + 1, p.rngDigest, p.cursor + uint64(r.batchSize));
        if (p.afterLeaf == want) revert IOneStepAdjudicator.StateOutAgrees(id, n);
    }

    /// @notice sha256("veritrain/state/v2" ++ u64be(step) ++ rngDigest ++ u64be(cursor)).
    function scalarLeaf(uint64 step, bytes32 rngDigest, uint64 cursor) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(TAG, step, rngDigest, cursor));
    }

    /// @notice The tensor commitment of a tensor of shape `dims` whose every element is `bits`,
    ///         in O(depth) hashes: the leaves are full chunks (one hash), at most one partial
    ///         chunk, then zero padding, so every tree level is a run of equal nodes, at most one
    ///         mixed node, then equal padding nodes.
    function constCommit(uint32 bits, uint32[] calldata dims) internal view returns (bytes32) {
        uint256 n = TensorCommit.numel(dims);
        uint256 full = n / TensorCommit.CHUNK_ELEMS;
        uint256 rem = n % TensorCommit.CHUNK_ELEMS;
        bytes32 f = _chunk(bits, TensorCommit.CHUNK_ELEMS);
        // A partial last chunk (or the one zero chunk of an empty tensor) is the mixed leaf.
        bool mixed = rem != 0 || n == 0;
        bytes32 x = mixed ? _chunk(bits, rem) : bytes32(0);
        bytes32 z;
        uint256 depth = TensorCommit.depthOf(TensorCommit.chunkCount(n));
        for (uint256 d; d < depth; ++d) {
            if (full % 2 == 1) {
                x = TensorCommit.hashPair(f, mixed ? x : z);
                mixed = true;
            } else if (mixed) {
                x = TensorCommit.hashPair(x, z);
            }
            full /= 2;
            f = TensorCommit.hashPair(f, f);
            z = TensorCommit.hashPair(z, z);
        }
        return TensorCommit.bindShape(full != 0 ? f : (mixed ? x : z), dims);
    }

    /// @dev sha256 of a 1 KiB chunk whose first `lanes` elements are `bits` (little-endian), the
    ///      rest zero.
    function _chunk(uint32 bits, uint256 lanes) private pure returns (bytes32 h) {
        uint32 le = (bits >> 24) | ((bits >> 8) & 0xFF00) | ((bits << 8) & 0xFF0000) | (bits << 24);
        bytes memory c = new bytes(TensorCommit.CHUNK_BYTES);
        for (uint256 i; i < lanes; ++i) {
            assembly ("memory-safe") {
                let at := add(add(c, 0x20), shl(2, i))
                // The lane's 4 bytes, keeping the 28 bytes after them.
                mstore(at, or(shl(224, le), and(mload(at), sub(shl(224, 1), 1))))
            }
        }
        h = sha256(c);
    }
}
