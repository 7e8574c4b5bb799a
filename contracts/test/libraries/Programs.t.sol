// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {Programs} from "../../src/referee/Programs.sol";
import {StepOp} from "../../src/referee/StepOp.sol";
import {IndexMaps} from "../../src/referee/IndexMaps.sol";

/// @notice Calldata wrappers for the Programs library.
contract ProgramsHarness {
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

    function position(int64[] calldata attrs, uint256 start, uint256 slot, uint256 q) external pure returns (uint256) {
        return IndexMaps.position(attrs, start, slot, q);
    }
}

/// @notice Element programs: the operations and operand references each kind yields.
contract ProgramsTest is Test {
    ProgramsHarness internal h = new ProgramsHarness();

    /// @dev GEMM nb=1, M=2, N=3, K=5 (kind attrs only; the index maps do not change the program).
    function _gemm(bool bias) internal pure returns (StepOp memory o) {
        o.kind = Programs.GEMM;
        o.refKinds = new uint8[](bias ? 3 : 2);
        o.refIndices = new uint32[](bias ? 3 : 2);
        o.dims = new uint32[](2);
        (o.dims[0], o.dims[1]) = (2, 3);
        o.attrs = new int64[](6);
        (o.attrs[0], o.attrs[1], o.attrs[2], o.attrs[3], o.attrs[4], o.attrs[5]) =
        (1, 2, 3, 5, 1, bias ? int64(1) : int64(0));
    }

    function _eq(Programs.Operand memory o, Programs.Src src, uint256 slot, uint256 value) internal pure {
        assertEq(uint256(o.src), uint256(src), "src");
        assertEq(o.slot, slot, "slot");
        assertEq(o.value, value, "value");
    }

    /// @dev The chain has K steps, plus one for the bias.
    function test_length_gemm_succeeds() public view {
        assertEq(h.length(_gemm(false)), 5);
        assertEq(h.length(_gemm(true)), 6);
    }

    /// @dev Step k of out[m, n] is fma(A[m, k], B[k, n], acc) with acc = +0 at k = 0 (logical
    ///      positions: A [nb, M, K], B [nb, K, N]).
    function test_step_gemmChain_succeeds() public view {
        // e = 4: m = 1, n = 1.
        (Programs.Opcode code, Programs.Operand[3] memory o) = h.step(_gemm(true), 4, 0);
        assertEq(uint256(code), uint256(Programs.Opcode.Fma));
        _eq(o[0], Programs.Src.In, 0, 1 * 5 + 0);
        _eq(o[1], Programs.Src.In, 1, 0 * 3 + 1);
        _eq(o[2], Programs.Src.Const, 0, 0);
        (code, o) = h.step(_gemm(true), 4, 3);
        _eq(o[0], Programs.Src.In, 0, 1 * 5 + 3);
        _eq(o[1], Programs.Src.In, 1, 3 * 3 + 1);
        _eq(o[2], Programs.Src.Prev, 0, 2);
    }

    /// @dev Unfused (repcpu): t = MUL(A, B) then acc = ADD(acc, t), from acc = +0.
    function test_step_gemmUnfused_succeeds() public view {
        StepOp memory g = _gemm(false);
        g.attrs[4] = 0;
        assertEq(h.length(g), 10);
        (Programs.Opcode code, Programs.Operand[3] memory o) = h.step(g, 4, 1);
        assertEq(uint256(code), uint256(Programs.Opcode.Add));
        _eq(o[0], Programs.Src.Const, 0, 0);
        _eq(o[1], Programs.Src.Prev, 0, 0);
        (code, o) = h.step(g, 4, 4);
        assertEq(uint256(code), uint256(Programs.Opcode.Mul));
        _eq(o[0], Programs.Src.In, 0, 5 + 2);
        (code, o) = h.step(g, 4, 5);
        _eq(o[0], Programs.Src.Prev, 0, 3);
        _eq(o[1], Programs.Src.Prev, 0, 4);
    }

    /// @dev The bias is added after the whole chain.
    function test_step_gemmBias_succeeds() public view {
        (Programs.Opcode code, Programs.Operand[3] memory o) = h.step(_gemm(true), 5, 5);
        assertEq(h.length(_gemm(true)), 6);
        assertEq(uint256(code), uint256(Programs.Opcode.Add));
        _eq(o[0], Programs.Src.Prev, 0, 4);
        _eq(o[1], Programs.Src.In, 2, 2);
    }

    /// @dev A binary op reads both slots at the output position (broadcasts are index maps).
    function test_step_mul_succeeds() public view {
        StepOp memory o;
        o.kind = Programs.MUL;
        o.refKinds = new uint8[](2);
        o.refIndices = new uint32[](2);
        (Programs.Opcode code, Programs.Operand[3] memory r) = h.step(o, 345, 0);
        assertEq(uint256(code), uint256(Programs.Opcode.Mul));
        _eq(r[0], Programs.Src.In, 0, 345);
        _eq(r[1], Programs.Src.In, 1, 345);
        assertEq(uint256(r[2].src), uint256(Programs.Src.None));
    }

    /// @dev A STRIDED level maps a logical position: here slot 1 is a transposed [3, 2] view of a
    ///      [2, 3] tensor (strides 1, 3), after slot 0's plain [2, 3] entry.
    function test_position_transpose_succeeds() public view {
        int64[] memory a = new int64[](16);
        int64[16] memory x = [int64(2), 2, 3, 0, 2, 3, 2, 1, 0, 0, 2, 3, 2, 1, 3, 0];
        for (uint256 i; i < 16; ++i) {
            a[i] = x[i];
        }
        assertEq(h.position(a, 0, 0, 4), 4);
        // logical (i, j) = (2, 1) of the [3, 2] view is element (1, 2) of the [2, 3] tensor: 5.
        assertEq(h.position(a, 0, 1, 2 * 2 + 1), 5);
    }

    /// @dev A stride-0 level broadcasts one element over the logical shape.
    function test_position_broadcast_succeeds() public view {
        int64[] memory a = new int64[](11);
        int64[11] memory x = [int64(2), 2, 300, 1, 0, 7, 2, 2, 300, 0, 0];
        for (uint256 i; i < 11; ++i) {
            a[i] = x[i];
        }
        assertEq(h.position(a, 0, 0, 345), 7);
    }

    /// @dev GATHER levels (embedding lookups) are not checkable on-chain yet.
    function test_position_gather_reverts() public {
        int64[] memory a = new int64[](6);
        (a[0], a[1], a[2], a[3], a[4], a[5]) = (1, 8, 1, 1, 0, 4);
        vm.expectRevert(abi.encodeWithSelector(IndexMaps.UnsupportedMap.selector, 0));
        h.position(a, 0, 0, 3);
    }

    /// @dev Unary kinds map to their opcodes (GELU is the kernels' own sequence).
    function test_step_gelu_succeeds() public view {
        StepOp memory o;
        o.kind = Programs.GELU;
        o.refKinds = new uint8[](1);
        o.refIndices = new uint32[](1);
        (Programs.Opcode code,) = h.step(o, 7, 0);
        assertEq(uint256(code), uint256(Programs.Opcode.Gelu));
    }

    /// @dev A kind without a program is refused with its number.
    function test_length_unknownKind_reverts() public {
        StepOp memory o;
        o.kind = 999;
        vm.expectRevert(abi.encodeWithSelector(Programs.UnknownKind.selector, uint16(999)));
        h.length(o);
    }

    /// @dev A GEMM with K = 0 has no chain: refused.
    function test_length_gemmZeroK_reverts() public {
        StepOp memory o = _gemm(false);
        o.attrs[3] = 0;
        vm.expectRevert(abi.encodeWithSelector(Programs.BadAttr.selector, uint32(0), uint256(3)));
        h.length(o);
    }

    /// @dev A step past the program is refused.
    function test_step_pastEnd_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Programs.StepOutOfProgram.selector, 5, 5));
        h.step(_gemm(false), 0, 5);
    }

    /// @dev A binary op with one input is refused.
    function test_length_binaryArity_reverts() public {
        StepOp memory o;
        o.kind = Programs.ADD;
        o.refKinds = new uint8[](1);
        o.refIndices = new uint32[](1);
        vm.expectRevert(abi.encodeWithSelector(Programs.BadArity.selector, uint32(0), Programs.ADD, 1, 2));
        h.length(o);
    }
}
