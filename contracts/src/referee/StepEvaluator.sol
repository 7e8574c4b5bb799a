// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IOneStepAdjudicator, Opening} from "../interfaces/IOneStepAdjudicator.sol";
import {TensorCommit} from "../libraries/TensorCommit.sol";
import {StepOp, StepOps} from "./StepOp.sol";
import {Programs} from "./Programs.sol";
import {IndexMaps} from "./IndexMaps.sol";
import {DisputeId} from "../types/Ids.sol";

/// @title StepEvaluator
/// @notice Recomputes one scalar step of one element program with Float32, from operands bound
///         to what they must be: an earlier step's posted result, an input element opened
///         against the state before the step, an earlier op's output in opRoot, the teacher or
///         the scalar table (through the slot's index map), or a literal. A stateless contract
///         of its own, created by OneStepAdjudicator's constructor, so that the adjudicator
///         stays under the 24 KiB code limit: the game calls it once, at its last move.
contract StepEvaluator {
    /// @dev What the input openings are checked against (from the game and the step graph).
    struct Ctx {
        DisputeId id;
        uint256 step;
        /// @dev The element under dispute and the step of its program to recompute.
        uint256 element;
        uint256 s;
        uint256 opIndex;
        uint256 nState;
        uint256 nOps;
        uint256 nTeacher;
        uint256 totalSteps;
        bytes32 stateBefore;
        bytes32 opRoot;
        bytes32 teacherRoot;
        bytes32 scalarRoot;
    }

    /// @notice Step c.s of element c.element of `op`: its opcode (kinds.py numbering), the
    ///         binary32 result of its operands, and the node's claimed result (results[c.s]).
    function evaluate(Ctx calldata c, StepOp calldata op, bytes calldata results, Opening[] calldata openings)
        external
        view
        returns (uint8 code, uint32 computed, uint32 claimed)
    {
        (Programs.Opcode opcode, Programs.Operand[3] memory o) = Programs.step(op, c.element, c.s);
        uint32[3] memory v = _operands(c, op, o, results, openings);
        computed = Programs.run(opcode, v[0], v[1], v[2]);
        claimed = _result(results, c.s);
        code = uint8(opcode);
    }

    /// @notice Steps of element `e`'s program of `op` (Programs.length, which checks the kind's
    ///         attrs and inputs): asked by the adjudicator when the element is named, here
    ///         because the adjudicator has no room for every kind's length code (EIP-170).
    function programLength(StepOp calldata op, uint256 e) external pure returns (uint256) {
        return Programs.length(op, e);
    }

    /// @dev Scalar j of step t: scalarRoot is the sha256 tree over sha256(row_t) for t = 1..totalSteps,
    ///      row_t the step's scalars as float32 little-endian (prover/trace/roots.py); the opening's
    ///      chunk is row t and its chunkProof the row's proof.
    function _scalar(Ctx calldata c, uint256 j, uint256 idx, Opening calldata w, Programs.Operand memory o)
        private
        view
        returns (uint32)
    {
        bool ok = idx == 0 && 4 * j + 4 <= w.chunk.length
            && TensorCommit.verify(w.chunkProof, c.scalarRoot, sha256(w.chunk), c.step - 1, c.totalSteps);
        if (!ok) revert IOneStepAdjudicator.InputNotProven(c.id, o.slot, o.value);
        return TensorCommit.valueAt(w.chunk, j);
    }

    /// @dev Result `s` of a program posted as 4 big-endian bytes per step.
    function _result(bytes calldata results, uint256 s) private pure returns (uint32 r) {
        assembly ("memory-safe") {
            r := shr(224, calldataload(add(results.offset, shl(2, s))))
        }
    }

    function _operands(
        Ctx calldata c,
        StepOp calldata op,
        Programs.Operand[3] memory o,
        bytes calldata results,
        Opening[] calldata openings
    ) private view returns (uint32[3] memory v) {
        uint256 next;
        for (uint256 j; j < 3; ++j) {
            Programs.Src src = o[j].src;
            if (src == Programs.Src.Prev) {
                v[j] = _result(results, o[j].value);
            } else if (src == Programs.Src.Const) {
                v[j] = uint32(o[j].value);
            } else if (src == Programs.Src.In) {
                if (op.refKinds[o[j].slot] == StepOps.REF_CONST) {
                    // A constant tensor: every element is the ref index's bits.
                    v[j] = uint32(op.refIndices[o[j].slot]);
                    continue;
                }
                if (next >= openings.length) revert IOneStepAdjudicator.InputNotProven(c.id, o[j].slot, o[j].value);
                v[j] = _input(c, op, o[j], openings[next++]);
            }
        }
    }

    /// @dev The bits of input `o.slot` at logical position `o.value` (through the slot's index
    ///      map), opened where the op's reference points.
    function _input(Ctx calldata c, StepOp calldata op, Programs.Operand memory o, Opening calldata w)
        private
        view
        returns (uint32)
    {
        uint8 ref = op.refKinds[o.slot];
        uint256 j = op.refIndices[o.slot];
        uint256 idx = IndexMaps.position(op.attrs, Programs.kindAttrs(op.kind), o.slot, o.value);
        bytes32 commit = TensorCommit.bindShape(w.root, w.dims);
        bool ok;
        if (ref == StepOps.REF_STATE) {
            ok = j < c.nState && TensorCommit.verify(w.commitProof, c.stateBefore, commit, j, c.nState + 1);
        } else if (ref == StepOps.REF_OP) {
            // INVARIANT: an op reads only earlier ops, which the challenger agreed with.
            ok = j < c.opIndex && TensorCommit.verify(w.commitProof, c.opRoot, commit, j, c.nOps);
        } else if (ref == StepOps.REF_TEACHER) {
            ok = TensorCommit.verify(w.commitProof, c.teacherRoot, commit, j, c.nTeacher);
        } else if (ref == StepOps.REF_SCALAR) {
            return _scalar(c, j, idx, w, o);
        } else {
            revert IOneStepAdjudicator.UnsupportedInput(c.id, ref);
        }
        uint256 n = TensorCommit.numel(w.dims);
        ok = ok && idx < n && TensorCommit.verifyChunk(w.chunk, w.root, idx >> 8, n, w.chunkProof);
        if (!ok) revert IOneStepAdjudicator.InputNotProven(c.id, o.slot, o.value);
        return TensorCommit.element(w.chunk, idx & 255);
    }
}
