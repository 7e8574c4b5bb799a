// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {Programs} from "../../src/referee/Programs.sol";
import {ProgramsRows} from "../../src/referee/ProgramsRows.sol";
import {StepOp} from "../../src/referee/StepOp.sol";

/// @notice Calldata wrappers for Programs (which dispatches the row kinds to ProgramsRows).
contract ProgramsRowsHarness {
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

    function kindAttrs(uint16 kind) external pure returns (uint256) {
        return Programs.kindAttrs(kind);
    }
}

/// @notice The row kinds' lengths, lane layout and attr checks (the step-by-step agreement with
///         the Python reference is ProgramVectors.t.sol's).
contract ProgramsRowsTest is Test {
    ProgramsRowsHarness internal h = new ProgramsRowsHarness();

    /// @dev A row op of `kind` with kind attrs `a` and `inputs` input slots (no index maps).
    function _op(uint16 kind, int64[] memory a, uint256 inputs) internal pure returns (StepOp memory o) {
        o.kind = kind;
        o.refKinds = new uint8[](inputs);
        o.refIndices = new uint32[](inputs);
        o.dims = new uint32[](1);
        o.attrs = a;
    }

    function _a(int64 x, int64 y) internal pure returns (int64[] memory a) {
        a = new int64[](2);
        (a[0], a[1]) = (x, y);
    }

    function _a4(int64 x, int64 y, int64 z, int64 w) internal pure returns (int64[] memory a) {
        a = new int64[](4);
        (a[0], a[1], a[2], a[3]) = (x, y, z, w);
    }

    function _eq(Programs.Operand memory o, Programs.Src src, uint256 slot, uint256 value) internal pure {
        assertEq(uint256(o.src), uint256(src), "src");
        assertEq(o.slot, slot, "slot");
        assertEq(o.value, value, "value");
    }

    /// @dev The index maps start after graph.KIND_ATTRS of each kind.
    function test_kindAttrs_rowKinds_succeeds() public view {
        uint256[13] memory want = [uint256(2), 4, 4, 2, 2, 2, 2, 2, 3, 3, 3, 2, 2];
        for (uint16 k; k < 13; ++k) {
            assertEq(h.kindAttrs(ProgramsRows.SUM + k), want[k]);
        }
    }

    /// @dev Softmax 4n + 2, log-softmax 4n + 4, their backwards 2n + 2 and n + 3.
    function test_length_softmaxRows_succeeds() public view {
        assertEq(h.length(_op(ProgramsRows.SOFTMAX, _a(3, 128), 1), 5), 514);
        assertEq(h.length(_op(ProgramsRows.LOGSOFTMAX, _a(3, 128), 1), 5), 516);
        assertEq(h.length(_op(ProgramsRows.SOFTMAX_BWD, _a(3, 128), 2), 5), 258);
        assertEq(h.length(_op(ProgramsRows.LOGSOFTMAX_BWD, _a(3, 128), 2), 5), 131);
    }

    /// @dev n = 4096 + 37 in blocks of 4096: block 0 has 4096 + 15 steps, block 1 37 + 15.
    function test_length_fsumShortLastBlock_succeeds() public view {
        StepOp memory o = _op(ProgramsRows.FSUM, _a4(2, 4133, 4096, 2), 1);
        assertEq(h.length(o, 2), 4111);
        assertEq(h.length(o, 3), 52);
    }

    /// @dev 7 elements: lanes 0..6 hold one each (steps 0..6); lanes 7..15 are empty (+0).
    function test_step_fsumEmptyLanes_succeeds() public view {
        StepOp memory o = _op(ProgramsRows.FSUM_SQ, _a4(2, 7, 4096, 1), 1);
        (Programs.Opcode code, Programs.Operand[3] memory x) = h.step(o, 1, 3);
        assertEq(uint256(code), uint256(Programs.Opcode.Fma));
        _eq(x[0], Programs.Src.In, 0, 7 + 3);
        _eq(x[1], Programs.Src.In, 0, 7 + 3);
        _eq(x[2], Programs.Src.Const, 0, 0);
        // The lane sums: s = ADD(lane_0, lane_1) at step 7, ADD(s, lane_7 = +0) at step 13.
        (code, x) = h.step(o, 1, 7);
        assertEq(uint256(code), uint256(Programs.Opcode.Add));
        _eq(x[0], Programs.Src.Prev, 0, 0);
        _eq(x[1], Programs.Src.Prev, 0, 1);
        (, x) = h.step(o, 1, 13);
        _eq(x[0], Programs.Src.Prev, 0, 12);
        _eq(x[1], Programs.Src.Const, 0, 0);
    }

    /// @dev 37 elements: lanes 0..4 hold 3 (steps 0..14), lanes 5..15 hold 2; lane 5's second
    ///      element is X[21] at step 16, and lane 15's sum is step 36.
    function test_step_fsumUnevenLanes_succeeds() public view {
        StepOp memory o = _op(ProgramsRows.FSUM, _a4(1, 37, 4096, 1), 1);
        (Programs.Opcode code, Programs.Operand[3] memory x) = h.step(o, 0, 16);
        assertEq(uint256(code), uint256(Programs.Opcode.Add));
        _eq(x[0], Programs.Src.Prev, 0, 15);
        _eq(x[1], Programs.Src.In, 0, 21);
        (, x) = h.step(o, 0, 37 + 14);
        _eq(x[0], Programs.Src.Prev, 0, 37 + 13);
        _eq(x[1], Programs.Src.Prev, 0, 36);
    }

    /// @dev A softmax row starts its max from -inf and guards an all -inf row.
    function test_step_softmaxMax_succeeds() public view {
        StepOp memory o = _op(ProgramsRows.SOFTMAX, _a(2, 4), 1);
        (Programs.Opcode code, Programs.Operand[3] memory x) = h.step(o, 6, 0);
        assertEq(uint256(code), uint256(Programs.Opcode.Max));
        _eq(x[0], Programs.Src.In, 0, 4);
        _eq(x[1], Programs.Src.Const, 0, 0xFF800000);
        (code, x) = h.step(o, 6, 4);
        assertEq(uint256(code), uint256(Programs.Opcode.NinfToZero));
        _eq(x[0], Programs.Src.Prev, 0, 3);
        // y = DIV(exp_j, sum): j = 2 of row 1, exp_2 at n + 2 + 2j = 10, sum at 4n = 16.
        (code, x) = h.step(o, 6, 17);
        assertEq(uint256(code), uint256(Programs.Opcode.Div));
        _eq(x[0], Programs.Src.Prev, 0, 10);
        _eq(x[1], Programs.Src.Prev, 0, 16);
    }

    /// @dev nBlocks must be the blocks n needs.
    function test_length_fsumBlockCount_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Programs.BadAttr.selector, 0, 3));
        h.length(_op(ProgramsRows.FSUM, _a4(2, 4133, 4096, 1), 1), 0);
    }

    /// @dev A row length of zero has no program.
    function test_length_zeroRowLength_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Programs.BadAttr.selector, 0, 1));
        h.length(_op(ProgramsRows.LN_MEAN, _a(2, 0), 1), 0);
    }

    /// @dev A layer-norm output without a weight is not traced, so it has no program.
    function test_length_layerNormWithoutWeight_reverts() public {
        int64[] memory a = new int64[](3);
        (a[0], a[1], a[2]) = (2, 8, 0);
        vm.expectRevert(abi.encodeWithSelector(Programs.BadAttr.selector, 0, 2));
        h.length(_op(ProgramsRows.LN_OUT, a, 5), 0);
    }

    /// @dev LN_BWD_DW reads x, mean, rstd and dy: three slots is an arity error.
    function test_length_layerNormDwArity_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(Programs.BadArity.selector, 0, ProgramsRows.LN_BWD_DW, 3, 4)
        );
        h.length(_op(ProgramsRows.LN_BWD_DW, _a(2, 8), 3), 0);
    }

    /// @dev Missing kind attrs are an arity error, not an out-of-bounds read.
    function test_length_missingAttrs_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Programs.BadArity.selector, 0, ProgramsRows.FSUM, 2, 4));
        h.length(_op(ProgramsRows.FSUM, _a(2, 8), 1), 0);
    }

    /// @dev A step past the program's end reverts (LN_BWD_DB over 5 rows has 5 steps).
    function test_step_pastEnd_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Programs.StepOutOfProgram.selector, 5, 5));
        h.step(_op(ProgramsRows.LN_BWD_DB, _a(5, 8), 1), 0, 5);
    }
}
