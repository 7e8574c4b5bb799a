// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IStepAdjudicator} from "../interfaces/IStepAdjudicator.sol";
import {TraceMerkle} from "./TraceMerkle.sol";
import {TaskId} from "../types/Ids.sol";

/// @title DisputeClaim
/// @notice The node's claim a dispute puts to the jury, derived from what the node committed:
///         - a leaf dispute: the node's leaf at `step`, proven against the committed trace root;
///         - an end-state dispute: the leaf of the segment's last step computed on-chain from the
///           committed endStateHash (no proof, so it works when the node withholds its leaves).
library DisputeClaim {
    /// @notice Reverts unless `leaf` is proven at `step` of segment `k` (S = `segSteps`) under `traceRoot`.
    function checkProof(
        uint256 k,
        uint256 step,
        bytes32 leaf,
        bytes32[] calldata proof,
        bytes32 traceRoot,
        uint256 segSteps
    ) internal pure {
        uint256 start = k * segSteps;
        if (step <= start || step > start + segSteps) {
            revert IStepAdjudicator.StepOutOfRange(step, start + 1, start + segSteps);
        }
        uint256 depth;
        while ((uint256(1) << depth) < segSteps) ++depth;
        if (proof.length != depth) revert IStepAdjudicator.ProofLength(proof.length, depth);
        // INVARIANT: the node is bound by its root: the disputed leaf must be proven at its own position.
        if (!TraceMerkle.verifyCalldata(proof, traceRoot, leaf, step - start - 1)) {
            revert IStepAdjudicator.InvalidProof(leaf, traceRoot);
        }
    }

    /// @notice The end-state claim of segment `k`: step (k+1)*S and the node's leaf for it,
    ///         leaf(taskId, (k+1)*S, endStateHash) with the PROTOCOL.md leaf encoding.
    function endState(TaskId taskId, uint256 k, uint256 segSteps, bytes32 endStateHash)
        internal
        pure
        returns (uint256 step, bytes32 leaf)
    {
        step = (k + 1) * segSteps;
        leaf = TraceMerkle.leaf(TaskId.unwrap(taskId), step, endStateHash);
    }

    /// @notice Key of one commitment of segment `k` (a reopen bumps the task epoch, so a recommitted
    ///         segment gets a new key).
    function commitmentKey(TaskId taskId, uint32 epoch, uint256 k) internal pure returns (bytes32) {
        return keccak256(abi.encode(taskId, epoch, k));
    }
}
