// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {Programs} from "../../src/referee/Programs.sol";
import {ProgramsElem} from "../../src/referee/ProgramsElem.sol";
import {StepOp} from "../../src/referee/StepOp.sol";

/// @notice Calldata wrappers for Programs (the entry points the evaluator calls).
contract ProgramsElemHarness {
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

/// @notice The elementwise, AdamW and clip kinds' programs (ProgramsElem) against the element
///         programs of a real traced tiny step (tests/vectors/trace/programs_<profile>.json, from
///         prover/trace/programs.py and evaluate.py; make_program_vectors.py documents the
///         format): per vector of these kinds the program length, and per sampled step its
///         opcode, its operands, and Programs.runStep on the operands' bits == the result bits
///         (binary64 for CLIP_COEF's binary64 steps).
contract ProgramVectorsElemTest is Test {
    ProgramsElemHarness internal h = new ProgramsElemHarness();

    /// @dev The kinds this file covers, and the kinds.py names the vectors give them.
    uint16[10] internal KINDS = [
        ProgramsElem.GELU_BWD,
        ProgramsElem.RSQRT,
        ProgramsElem.CUBE,
        ProgramsElem.CLAMP_MIN_BWD,
        ProgramsElem.CLIP_COEF,
        ProgramsElem.ADAMW_P,
        ProgramsElem.ADAMW_M,
        ProgramsElem.ADAMW_V,
        ProgramsElem.STACK,
        ProgramsElem.PAD
    ];

    uint256 private constant M64 = type(uint64).max;
    uint256 private constant M74 = (1 << 74) - 1;

    /// @dev Checks every vector of this file's kinds in one profile's file; returns the kinds seen
    ///      (bit k for kind k) and the number of vectors checked.
    function _profile(string memory profile) internal view returns (uint256 seen, uint256 checked) {
        string memory path = string.concat("tests/vectors/trace/programs_", profile, ".json");
        string memory json = vm.readFile(path);
        uint256 count = vm.parseJsonUint(json, ".count");
        assertGe(count, 1, "no vectors");
        for (uint256 i; i < count; ++i) {
            // each vector's parse copies the whole file into memory: give it back afterwards
            uint256 fmp;
            assembly ("memory-safe") {
                fmp := mload(0x40)
            }
            bytes memory raw = vm.parseJsonBytes(json, string.concat(".vectors[", vm.toString(i), "].abi"));
            uint16 kind = _vector(raw, profile, i);
            if (kind != 0) {
                seen |= 1 << kind;
                ++checked;
            }
            assembly ("memory-safe") {
                mstore(0x40, fmp)
            }
        }
    }

    /// @dev One vector: returns its kind when it is one of this file's, else 0 (not checked).
    function _vector(bytes memory raw, string memory profile, uint256 i) internal view returns (uint16) {
        (StepOp memory op, uint256 e, uint256 len, uint256[] memory steps, uint256[] memory codes,
            uint256[] memory vals) = abi.decode(raw, (StepOp, uint256, uint256, uint256[], uint256[], uint256[]));
        if (!ProgramsElem.handles(op.kind)) return 0;
        string memory at = string.concat(profile, " vector ", vm.toString(i), " step ");
        assertEq(h.length(op, e), len, string.concat(at, "(length)"));
        for (uint256 j; j < steps.length; ++j) {
            string memory where = string.concat(at, vm.toString(steps[j]));
            (Programs.Opcode code, Programs.Operand[3] memory o) = h.step(op, e, steps[j]);
            assertEq(uint256(code), codes[j] >> 248, string.concat(where, " opcode"));
            uint64[3] memory v;
            for (uint256 k; k < 3; ++k) {
                uint256 w = (codes[j] >> (80 * k)) & M74;
                assertEq(uint256(o[k].src), w >> 72, string.concat(where, " src"));
                assertEq(o[k].slot, (w >> 64) & 0xFF, string.concat(where, " slot"));
                assertEq(o[k].value, w & M64, string.concat(where, " value"));
                v[k] = uint64((vals[j] >> (64 * k)) & M64);
            }
            assertEq(Programs.runStep(code, v[0], v[1], v[2]), vals[j] >> 192, string.concat(where, " result"));
        }
        return op.kind;
    }

    /// @dev Every vector of these kinds in both profiles' files, and every kind present in them
    ///      (PAD only in repcpu-2, whose blocked sums pad): nothing passes by being absent.
    function test_programVectors_elemKinds_succeeds() public view {
        (uint256 fma, uint256 nFma) = _profile("repfma-1");
        (uint256 cpu, uint256 nCpu) = _profile("repcpu-2");
        assertGe(nFma, 50, "repfma-1 vectors");
        assertGe(nCpu, 50, "repcpu-2 vectors");
        for (uint256 k; k < KINDS.length; ++k) {
            assertTrue((fma | cpu) & (1 << KINDS[k]) != 0, string.concat("kind ", vm.toString(KINDS[k]), " absent"));
        }
        assertTrue(cpu & (1 << ProgramsElem.PAD) != 0, "PAD absent from repcpu-2");
        assertTrue(fma & (1 << ProgramsElem.CLIP_COEF) != 0, "CLIP_COEF absent from repfma-1");
    }
}
