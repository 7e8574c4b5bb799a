// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {Programs} from "../../src/referee/Programs.sol";
import {ProgramsElem} from "../../src/referee/ProgramsElem.sol";
import {StepOp} from "../../src/referee/StepOp.sol";

/// @notice Calldata wrappers for Programs' entry points.
contract ProgramsElemCalls {
    function length(StepOp calldata op) external pure returns (uint256) {
        return Programs.length(op, 0);
    }

    function step(StepOp calldata op, uint256 e, uint256 s)
        external
        pure
        returns (Programs.Opcode code, Programs.Operand[3] memory o)
    {
        return Programs.step(op, e, s);
    }

    function resultAt(bytes calldata results, uint256 s, uint256 wide) external pure returns (uint64) {
        return Programs.resultAt(results, s, wide);
    }
}

/// @notice ProgramsElem's checks and its data-shaped programs (STACK, PAD), and the mixed-width
///         result layout (the programs themselves: ProgramVectorsElem.t.sol).
contract ProgramsElemTest is Test {
    ProgramsElemCalls internal h = new ProgramsElemCalls();

    function _op(uint16 kind, uint256 inputs, uint256 numel, int64[] memory attrs)
        internal
        pure
        returns (StepOp memory o)
    {
        o.kind = kind;
        o.refKinds = new uint8[](inputs);
        o.refIndices = new uint32[](inputs);
        o.dims = new uint32[](1);
        o.dims[0] = uint32(numel);
        o.attrs = attrs;
    }

    function _attr(int64 a) internal pure returns (int64[] memory x) {
        x = new int64[](1);
        x[0] = a;
    }

    /// @dev AdamW takes p, m, v, g and 8 scalar slots: 4 inputs are refused.
    function test_length_adamwFourInputs_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Programs.BadArity.selector, 0, ProgramsElem.ADAMW_P, 4, 12));
        h.length(_op(ProgramsElem.ADAMW_P, 4, 8, new int64[](0)));
    }

    /// @dev CLIP_COEF needs its clipBits64 attr.
    function test_length_clipWithoutAttr_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Programs.BadArity.selector, 0, ProgramsElem.CLIP_COEF, 0, 1));
        h.length(_op(ProgramsElem.CLIP_COEF, 1, 1, new int64[](0)));
    }

    /// @dev PAD's n is not negative.
    function test_length_padNegative_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Programs.BadAttr.selector, 0, 0));
        h.length(_op(ProgramsElem.PAD, 1, 8, _attr(-1)));
    }

    /// @dev STACK has one input per output element.
    function test_length_stackShortOfInputs_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Programs.BadArity.selector, 0, ProgramsElem.STACK, 2, 3));
        h.length(_op(ProgramsElem.STACK, 2, 3, new int64[](0)));
    }

    /// @dev STACK's element e is MOV of slot e's only element.
    function test_step_stackReadsSlotE_succeeds() public view {
        StepOp memory op = _op(ProgramsElem.STACK, 3, 3, new int64[](0));
        (Programs.Opcode code, Programs.Operand[3] memory o) = h.step(op, 2, 0);
        assertEq(uint256(code), uint256(Programs.Opcode.Mov));
        assertEq(uint256(o[0].src), uint256(Programs.Src.In));
        assertEq(o[0].slot, 2);
        assertEq(o[0].value, 0);
    }

    /// @dev PAD moves X0[e] below n and +0 past it.
    function test_step_padPastN_succeeds() public view {
        StepOp memory op = _op(ProgramsElem.PAD, 1, 8, _attr(5));
        (, Programs.Operand[3] memory o) = h.step(op, 4, 0);
        assertEq(uint256(o[0].src), uint256(Programs.Src.In));
        assertEq(o[0].value, 4);
        (, o) = h.step(op, 5, 0);
        assertEq(uint256(o[0].src), uint256(Programs.Src.Const));
        assertEq(o[0].value, 0);
    }

    /// @dev The clip coefficient's opcodes are kinds.py's 32..37, and its divisor is the attr.
    function test_step_clipOpcodes_succeeds() public view {
        StepOp memory op = _op(ProgramsElem.CLIP_COEF, 1, 1, _attr(int64(0x3FE0000000000000)));
        assertEq(h.length(op), 6);
        for (uint256 s; s < 6; ++s) {
            (Programs.Opcode code,) = h.step(op, 0, s);
            assertEq(uint256(code), 32 + s);
        }
        (, Programs.Operand[3] memory o) = h.step(op, 0, 3);
        assertEq(uint256(o[0].src), uint256(Programs.Src.Const));
        assertEq(o[0].value, 0x3FE0000000000000);
    }

    /// @dev Results of the first `wide` steps are 8 bytes, the others 4.
    function test_resultAt_mixedWidths_succeeds() public view {
        bytes memory r = abi.encodePacked(uint64(0x1111111122222222), uint64(0x3333333344444444), uint32(0x55555555));
        assertEq(h.resultAt(r, 0, 2), 0x1111111122222222);
        assertEq(h.resultAt(r, 1, 2), 0x3333333344444444);
        assertEq(h.resultAt(r, 2, 2), 0x55555555);
        assertEq(h.resultAt(r, 1, 0), 0x22222222);
    }
}
