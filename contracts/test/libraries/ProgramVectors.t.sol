// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {Programs} from "../../src/referee/Programs.sol";
import {ProgramsRows} from "../../src/referee/ProgramsRows.sol";
import {StepOp, StepOps} from "../../src/referee/StepOp.sol";

/// @notice Calldata wrappers for the Programs library.
contract ProgramVectorsHarness {
    function length(StepOp calldata op, uint256 e) external pure returns (uint256) {
        return Programs.length(op, e);
    }

    function step(StepOp calldata op, uint256 e, uint256 s)
        external
        pure
        returns (Programs.Opcode code, Programs.Operand[3] memory o)
    {
        return Programs.step(op, e, s);
    }
}

/// @notice Programs.sol (and the libraries it dispatches to) against the element programs of a
///         real traced tiny step made by the Python reference (prover/trace/programs.py, run by
///         prover/trace/evaluate.py): tests/vectors/trace/programs_<profile>.json, written by
///         make_program_vectors.py, and programs_synthetic.json (make_rows_vectors.py: the row
///         kinds a tiny step lacks). Per vector: the program length, every sampled step's opcode
///         and operands, and Programs.run on the operand bits == the result bits. Kinds without
///         an on-chain program yet are skipped and listed (log "skipped kind"), and so are elementwise
///         ops that carry a GATHER map's ids slot (Batch input); every kind in
///         `_required` must be checked by some vector, so a kind cannot silently drop out.
contract ProgramVectorsTest is Test {
    ProgramVectorsHarness internal h = new ProgramVectorsHarness();

    /// @dev Kinds checked so far, by kinds.py number (each vector file adds to it).
    bool[64] internal seen;

    /// @notice Kinds with an on-chain program (extend as kinds land).
    function _built(uint16 kind) internal pure returns (bool) {
        if (ProgramsRows.covers(kind)) return true;
        return kind == Programs.GEMM || kind == Programs.GELU || kind == Programs.EXP || kind == Programs.LOG
            || (kind >= Programs.ADD && kind <= Programs.NEG) || kind == Programs.MAX || kind == Programs.COPY;
    }

    /// @notice Kinds that must be checked by at least one vector (extend as kinds land): the row
    ///         kinds (ProgramsRows, 2..14) and the earlier kinds that a tiny step has (DIV, NEG,
    ///         EXP, LOG and COPY have no vector: Programs.t.sol and the games check them).
    function _required() internal pure returns (uint16[] memory k) {
        k = new uint16[](19);
        for (uint16 i; i < 13; ++i) {
            k[i] = ProgramsRows.SUM + i;
        }
        (k[13], k[14], k[15]) = (Programs.GEMM, Programs.ADD, Programs.SUB);
        (k[16], k[17], k[18]) = (Programs.MUL, Programs.MAX, Programs.GELU);
    }

    /// @notice Whether the op reads a Batch input: the ids of a GATHER map (not built yet).
    function _readsBatch(StepOp memory op) internal pure returns (bool) {
        for (uint256 i; i < op.refKinds.length; ++i) {
            if (op.refKinds[i] == StepOps.REF_BATCH) return true;
        }
        return false;
    }

    /// @dev Checks every vector of `file` whose kind is built; returns how many were checked.
    function _checkFile(string memory file) internal returns (uint256 checked) {
        string memory json = vm.readFile(string.concat("tests/vectors/trace/", file));
        uint256 count = vm.parseJsonUint(json, ".count");
        assertGt(count, 0);
        for (uint256 i; i < count; ++i) {
            string memory at = string.concat(".vectors[", vm.toString(i), "]");
            bytes memory raw = vm.parseJsonBytes(json, string.concat(at, ".abi"));
            (StepOp memory op, uint256 e, uint256 len, uint256[] memory steps, uint256[] memory codes, uint256[] memory vals)
            = abi.decode(raw, (StepOp, uint256, uint256, uint256[], uint256[], uint256[]));
            if (!_built(op.kind)) {
                emit log_string(string.concat("skipped kind ", vm.parseJsonString(json, string.concat(at, ".kind"))));
                continue;
            }
            if (!ProgramsRows.covers(op.kind) && _readsBatch(op)) {
                // An elementwise op over an embedding lookup carries the ids as an extra slot.
                emit log_string(string.concat("skipped (GATHER ids slot) ", file, at));
                continue;
            }
            string memory tag = string.concat(file, at);
            assertEq(h.length(op, e), len, string.concat(tag, " length"));
            for (uint256 k; k < steps.length; ++k) {
                _checkStep(op, e, steps[k], codes[k], vals[k], string.concat(tag, " step ", vm.toString(steps[k])));
            }
            seen[op.kind] = true;
            ++checked;
        }
    }

    /// @dev One sampled step: opcode, operands (src << 72 | slot << 64 | value at bit 80 * i),
    ///      and Programs.run on the operand bits (bit 64 * i) == the result bits (bit 192).
    function _checkStep(StepOp memory op, uint256 e, uint256 s, uint256 code, uint256 val, string memory tag)
        internal
        view
    {
        (Programs.Opcode got, Programs.Operand[3] memory o) = h.step(op, e, s);
        assertEq(uint256(got), code >> 248, string.concat(tag, " opcode"));
        for (uint256 i; i < 3; ++i) {
            uint256 f = (code >> (80 * i)) & ((uint256(1) << 74) - 1);
            assertEq(uint256(o[i].src), f >> 72, string.concat(tag, " src"));
            assertEq(o[i].slot, (f >> 64) & 0xFF, string.concat(tag, " slot"));
            assertEq(o[i].value, f & type(uint64).max, string.concat(tag, " value"));
        }
        uint32 r = Programs.run(got, uint32(val), uint32(val >> 64), uint32(val >> 128));
        assertEq(r, uint32(val >> 192), string.concat(tag, " result"));
    }

    /// @dev Every vector of a repfma-1 tiny step whose kind is built (fused GEMMs, blocked sums).
    function test_programs_repfmaVectors_succeeds() public {
        assertGt(_checkFile("programs_repfma-1.json"), 100);
    }

    /// @dev Every vector of a repcpu-2 tiny step whose kind is built (unfused, ascending sums).
    function test_programs_repcpuVectors_succeeds() public {
        assertGt(_checkFile("programs_repcpu-2.json"), 100);
    }

    /// @dev The row kinds a tiny step lacks (log-softmax, multi-block FSUM, ...).
    function test_programs_syntheticVectors_succeeds() public {
        assertGt(_checkFile("programs_synthetic.json"), 10);
    }

    /// @dev Marks the kinds of `file`'s vectors that the file's test checks (built kinds).
    function _markKinds(string memory file) internal {
        string memory json = vm.readFile(string.concat("tests/vectors/trace/", file));
        uint256 count = vm.parseJsonUint(json, ".count");
        for (uint256 i; i < count; ++i) {
            bytes memory raw = vm.parseJsonBytes(json, string.concat(".vectors[", vm.toString(i), "].abi"));
            (StepOp memory op) = abi.decode(raw, (StepOp));
            if (_built(op.kind) && (ProgramsRows.covers(op.kind) || !_readsBatch(op))) seen[op.kind] = true;
        }
    }

    /// @dev Every required kind has vectors in the three files that the tests above check.
    function test_programs_everyRequiredKindCovered_succeeds() public {
        _markKinds("programs_repfma-1.json");
        _markKinds("programs_repcpu-2.json");
        _markKinds("programs_synthetic.json");
        uint16[] memory k = _required();
        for (uint256 i; i < k.length; ++i) {
            assertTrue(seen[k[i]], string.concat("no vector checks kind ", vm.toString(uint256(k[i]))));
        }
    }
}
