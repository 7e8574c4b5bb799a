// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IOneStepAdjudicator, Opening, ConstProof, ScalarProof} from "../interfaces/IOneStepAdjudicator.sol";
import {TensorCommit} from "../libraries/TensorCommit.sol";
import {DataSchedule} from "../libraries/DataSchedule.sol";
import {Float32} from "../libraries/Float32.sol";
import {StepOp, StepOps} from "./StepOp.sol";
import {Programs} from "./Programs.sol";
import {StepPrograms} from "./StepPrograms.sol";
import {ProgramsEmbed} from "./ProgramsEmbed.sol";
import {IndexMaps} from "./IndexMaps.sol";
import {StateBindings} from "./StateBindings.sol";
import {DisputeId} from "../types/Ids.sol";
import {StateClaim} from "../types/RefereeTypes.sol";

/// @title StepEvaluator
/// @notice Recomputes one scalar step of one element program with Float32, from operands bound
///         to what they must be: an earlier step's posted result, an input element opened
///         against the state before the step, an earlier op's output in opRoot, the teacher,
///         the scalar table or the batch (a dataset row under sampleRoot at the keccak-v2
///         schedule's sample), through the slot's index map, or a literal. A stateless contract
///         of its own, deployed before OneStepAdjudicator (which takes its address), so that
///         the adjudicator stays under the 24 KiB code limit (EIP-170): the game calls it once,
///         at its last move. The element programs themselves (every kind's steps, Float32 and
///         Float64) live in a second stateless contract, StepPrograms, for the same reason.
///
///         Openings are consumed in operand order; for one operand, the ids of each GATHER level
///         of its map come first (each an opening of the ids slot, in level order), then the
///         operand's own tensor. Const refs, the attention mask Batch(1) and the position ids
///         Batch(2) need no opening (their values are fixed).
contract StepEvaluator {
    /// @dev The float32 1.0 (every element of the attention mask).
    uint32 private constant ONE = 0x3F800000;

    /// @notice The element programs: steps, lengths and the scalar operations.
    StepPrograms public immutable programs;

    error ZeroPrograms();

    constructor(StepPrograms programs_) {
        if (address(programs_) == address(0)) revert ZeroPrograms();
        programs = programs_;
    }

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
        /// @dev The task and its dataset (Batch(0) rows; StepGraph's fields).
        uint256 taskId;
        bytes32 sampleRoot;
        uint64 seed;
        uint64 numSamples;
        uint32 batchSize;
        uint32 seqLen;
    }

    /// @notice Step c.s of element c.element of `op`: its opcode (kinds.py numbering), the result
    ///         of its operands, and the node's claimed result (results[c.s]): binary64 bits for a
    ///         binary64 step (opcodes 32..36), binary32 bits otherwise.
    ///         EMBED_BWD: step s >= n (its result count) checks position s - n of the node's
    ///         list (ProgramsEmbed): computed 1 when the ids put it in the sum, else 0; claimed 1
    ///         when listed, 0 when not, 2 when the list is malformed; opcode None.
    function evaluate(Ctx calldata c, StepOp calldata op, bytes calldata results, Opening[] calldata openings)
        external
        view
        returns (uint8 code, uint64 computed, uint64 claimed)
    {
        if (op.kind == ProgramsEmbed.EMBED_BWD) {
            ProgramsEmbed.check(op);
            (, uint256 n) = ProgramsEmbed.counts(results);
            if (c.s >= n) return _embedMember(c, op, c.s - n, results, openings);
        }
        (Programs.Opcode opcode, Programs.Operand[3] memory o) = _step(c, op, results);
        // 0 for EMBED_BWD (ProgramsElem's kinds only)
        uint256 wide = Programs.wideSteps(op.kind);
        uint64[3] memory v = _operands(c, op, o, results, openings, wide);
        computed = programs.runStep(opcode, v[0], v[1], v[2]);
        claimed = Programs.resultAt(results, c.s, wide);
        code = uint8(opcode);
    }

    /// @dev Step c.s of the element's program (EMBED_BWD's from its posted positions).
    function _step(Ctx calldata c, StepOp calldata op, bytes calldata results)
        private
        view
        returns (Programs.Opcode, Programs.Operand[3] memory)
    {
        if (op.kind == ProgramsEmbed.EMBED_BWD) return ProgramsEmbed.step(op, c.element, c.s, results);
        return programs.step(op, c.element, c.s);
    }

    /// @notice Steps of element `e`'s program of `op` (Programs.length, which checks the kind's
    ///         attrs and inputs), 0 for EMBED_BWD, whose length depends on the ids (evaluate
    ///         checks its attrs): asked by the adjudicator when the element is named.
    function programLength(StepOp calldata op, uint256 e) external view returns (uint256) {
        if (op.kind == ProgramsEmbed.EMBED_BWD) return 0;
        return programs.programLength(op, e);
    }

    /// @notice Reverts unless `proof` proves claim `claim` against the node's state after
    ///         (StateBindings): `proof` is abi.encode(ConstProof) or abi.encode(ScalarProof).
    ///         Returns the state tree leaf it is about and the node's leaf there.
    function checkState(StateBindings.Roots calldata r, StateClaim claim, bytes calldata proof)
        external
        view
        returns (uint256 slot, bytes32 afterLeaf)
    {
        if (proof.length < 32) revert IOneStepAdjudicator.InputNotProven(r.id, r.nState, 0);
        // abi.encode of one struct with dynamic members: an offset word, then the struct.
        uint256 at;
        assembly ("memory-safe") {
            at := add(proof.offset, calldataload(proof.offset))
        }
        if (claim == StateClaim.Const) {
            ConstProof calldata p;
            assembly ("memory-safe") {
                p := at
            }
            StateBindings.constMismatch(r, p);
            return (p.slot, p.afterLeaf);
        }
        ScalarProof calldata q;
        assembly ("memory-safe") {
            q := at
        }
        StateBindings.scalarMismatch(r, q);
        return (r.nState, q.afterLeaf);
    }

    /// @dev Position q of an EMBED_BWD element's list against the ids (one opening of slot 0).
    function _embedMember(
        Ctx calldata c,
        StepOp calldata op,
        uint256 q,
        bytes calldata results,
        Opening[] calldata openings
    ) private view returns (uint8, uint64 computed, uint64 claimed) {
        if (q >= uint64(op.attrs[2])) {
            revert Programs.StepOutOfProgram(c.s, uint64(op.attrs[2]));
        }
        // INVARIANT: the sum's terms are exactly the positions whose id is the element's row.
        computed = _isTerm(c, op, q, openings) ? 1 : 0;
        (bool wellFormed, bool has) = ProgramsEmbed.listed(op, c.element, q, results);
        claimed = wellFormed ? (has ? 1 : 0) : 2;
        return (0, computed, claimed);
    }

    /// @dev Whether the ids put position q in element c.element's sum (ids[q] is its row v).
    function _isTerm(Ctx calldata c, StepOp calldata op, uint256 q, Opening[] calldata openings)
        private
        view
        returns (bool)
    {
        if (ProgramsEmbed.isPadding(op, c.element)) return false;
        uint256[2] memory cur;
        uint32 id = _read(c, op, 0, q, openings, cur);
        return id == Float32.fromInt(int64(uint64(c.element / uint64(op.attrs[1]))));
    }

    /// @dev Scalar j of step t: scalarRoot is the sha256 tree over sha256(row_t) for t = 1..totalSteps,
    ///      row_t the step's scalars as float32 little-endian (prover/trace/roots.py); the opening's
    ///      chunk is row t and its chunkProof the row's proof.
    function _scalar(Ctx calldata c, uint256 j, uint256 idx, Opening calldata w, uint256 slot, uint256 q)
        private
        view
        returns (uint32)
    {
        bool ok = idx == 0 && 4 * j + 4 <= w.chunk.length
            && TensorCommit.verify(w.chunkProof, c.scalarRoot, sha256(w.chunk), c.step - 1, c.totalSteps);
        if (!ok) revert IOneStepAdjudicator.InputNotProven(c.id, slot, q);
        return TensorCommit.valueAt(w.chunk, j);
    }

    /// @dev Element idx of Batch(0), the input ids [batchSize, seqLen] as float32: row b of step t
    ///      is dataset sample DataSchedule.batchSample(.., t, b); the opening's chunk is that
    ///      sample's seqLen int32 little-endian tokens, its chunkProof the dataset proof.
    function _batchIds(Ctx calldata c, uint256 idx, Opening calldata w, uint256 slot, uint256 q)
        private
        pure
        returns (uint32)
    {
        uint256 len = c.seqLen;
        uint256 row = idx / len;
        if (row >= c.batchSize || w.chunk.length != 4 * len) revert IOneStepAdjudicator.InputNotProven(c.id, slot, q);
        uint256 sample =
            DataSchedule.batchSample(c.sampleRoot, c.seed, c.taskId, c.numSamples, c.batchSize, c.step, row);
        if (!DataSchedule.verifySample(c.sampleRoot, sample, keccak256(w.chunk), w.chunkProof)) {
            revert IOneStepAdjudicator.InputNotProven(c.id, slot, q);
        }
        // The token is int32 little-endian; ids are below 2^24, so float32 holds them exactly.
        uint32 token = TensorCommit.valueAt(w.chunk, idx % len);
        return Float32.fromInt(int64(int32(token)));
    }

    function _operands(
        Ctx calldata c,
        StepOp calldata op,
        Programs.Operand[3] memory o,
        bytes calldata results,
        Opening[] calldata openings,
        uint256 wide
    ) private view returns (uint64[3] memory v) {
        // cur[0]: the next unused opening; cur[1]: GATHER nesting (ids read for an id: none).
        uint256[2] memory cur;
        for (uint256 j; j < 3; ++j) {
            Programs.Src src = o[j].src;
            if (src == Programs.Src.Prev) {
                v[j] = Programs.resultAt(results, o[j].value, wide);
            } else if (src == Programs.Src.Const) {
                v[j] = o[j].value;
            } else if (src == Programs.Src.In) {
                v[j] = _read(c, op, o[j].slot, o[j].value, openings, cur);
            }
        }
    }

    /// @dev The bits of input `slot` at logical position `q`: through the slot's index map, then
    ///      from the tensor the slot references (the next opening, unless its value is fixed).
    function _read(
        Ctx calldata c,
        StepOp calldata op,
        uint256 slot,
        uint256 q,
        Opening[] calldata openings,
        uint256[2] memory cur
    ) private view returns (uint32) {
        uint8 ref = op.refKinds[slot];
        // A constant tensor: every element is the ref index's bits.
        if (ref == StepOps.REF_CONST) return uint32(op.refIndices[slot]);
        uint256 idx = _locate(c, op, slot, q, openings, cur);
        if (ref == StepOps.REF_BATCH) {
            uint256 j = op.refIndices[slot];
            if (j == 1 && idx < uint256(c.batchSize) * c.seqLen) return ONE;
            if (j == 2 && idx < c.seqLen) return Float32.fromInt(int64(uint64(idx)));
            if (j != 0 || cur[0] >= openings.length) revert IOneStepAdjudicator.InputNotProven(c.id, slot, q);
            return _batchIds(c, idx, openings[cur[0]++], slot, q);
        }
        if (cur[0] >= openings.length) revert IOneStepAdjudicator.InputNotProven(c.id, slot, q);
        return _input(c, ref, op.refIndices[slot], idx, openings[cur[0]++], slot, q);
    }

    /// @dev Position in the referenced tensor of slot `slot`'s logical position `q`: STRIDED
    ///      levels are applied; a GATHER level first reads its id from the ids slot (through that
    ///      slot's own map, with the next opening).
    function _locate(
        Ctx calldata c,
        StepOp calldata op,
        uint256 slot,
        uint256 q,
        Opening[] calldata openings,
        uint256[2] memory cur
    ) private view returns (uint256) {
        uint256 start = op.kind == ProgramsEmbed.EMBED_BWD ? ProgramsEmbed.KIND_ATTRS : Programs.kindAttrs(op.kind);
        uint256 from;
        while (true) {
            (uint256 pos, uint256 level, uint256 idsSlot, uint256 rowLen) =
                IndexMaps.walk(op.attrs, start, slot, q, from);
            if (rowLen == 0) return pos;
            // INVARIANT: an embedding row is the one the ids (bound like any input) name.
            if (cur[1] != 0 || idsSlot == slot || idsSlot >= op.refKinds.length) {
                revert IndexMaps.MalformedMap(slot, level);
            }
            q = _gatherRow(c, op, idsSlot, pos, rowLen, openings, cur);
            from = level + 1;
        }
        return 0; // unreachable: the loop returns
    }

    /// @dev id * rowLen + pos % rowLen, id = the ids slot's element pos / rowLen (a whole,
    ///      non-negative float: anything else names no row).
    function _gatherRow(
        Ctx calldata c,
        StepOp calldata op,
        uint256 idsSlot,
        uint256 pos,
        uint256 rowLen,
        Opening[] calldata openings,
        uint256[2] memory cur
    ) private view returns (uint256) {
        cur[1] = 1;
        uint32 idBits = _read(c, op, idsSlot, pos / rowLen, openings, cur);
        cur[1] = 0;
        int32 id = Float32.toInt(idBits);
        if (id < 0 || Float32.fromInt(id) != idBits) {
            revert IOneStepAdjudicator.InputNotProven(c.id, idsSlot, pos / rowLen);
        }
        return uint256(uint32(id)) * rowLen + pos % rowLen;
    }

    /// @dev Element `idx` of the tensor `ref`/`j` points to, opened by `w`.
    function _input(Ctx calldata c, uint8 ref, uint256 j, uint256 idx, Opening calldata w, uint256 slot, uint256 q)
        private
        view
        returns (uint32)
    {
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
            return _scalar(c, j, idx, w, slot, q);
        } else {
            revert IOneStepAdjudicator.UnsupportedInput(c.id, ref);
        }
        uint256 n = TensorCommit.numel(w.dims);
        ok = ok && idx < n && TensorCommit.verifyChunk(w.chunk, w.root, idx >> 8, n, w.chunkProof);
        if (!ok) revert IOneStepAdjudicator.InputNotProven(c.id, slot, q);
        return TensorCommit.element(w.chunk, idx & 255);
    }
}
