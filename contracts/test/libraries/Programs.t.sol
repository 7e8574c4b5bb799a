// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {Programs} from "../../src/referee/Programs.sol";
import {StepOp} from "../../src/referee/StepOp.sol";

/// @notice Calldata wrappers for the Programs library.
contract ProgramsHarness {
    function length(StepOp calldata op) external pure returns (uint256) {
        return Programs.length(op);
    }

    function step(StepOp calldata op, uint256 e, uint256 s)
        external
        pure
        returns (Programs.Opcode code, Programs.Operand[3] memory o)
    {
        return Programs.step(op, e, s);
    }
}

/// @notice Element programs: the operations and operand references each kind yields.
contract ProgramsTest is Test {
    ProgramsHarness internal h = new ProgramsHarness();

    /// @dev GEMM [M=2, N=3, K=5], A transposed (sam=1, sak=2), B row-major, with a bias.
    function _gemm(bool bias) internal pure returns (StepOp memory o) {
        o.kind = Programs.GEMM;
        o.refKinds = new uint8[](bias ? 3 : 2);
        o.refIndices = new uint32[](bias ? 3 : 2);
        o.dims = new uint32[](2);
        (o.dims[0], o.dims[1]) = (2, 3);
        o.attrs = new int64[](7);
        (o.attrs[0], o.attrs[1], o.attrs[2], o.attrs[3], o.attrs[4], o.attrs[5], o.attrs[6]) = (2, 3, 5, 1, 2, 3, 1);
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

    /// @dev Step k of out[m, n] is fma(A[m, k], B[k, n], acc) with acc = +0 at k = 0.
    function test_step_gemmChain_succeeds() public view {
        // e = 4: m = 1, n = 1.
        (Programs.Opcode code, Programs.Operand[3] memory o) = h.step(_gemm(true), 4, 0);
        assertEq(uint256(code), uint256(Programs.Opcode.Fma));
        _eq(o[0], Programs.Src.In, 0, 1 * 1 + 0 * 2);
        _eq(o[1], Programs.Src.In, 1, 0 * 3 + 1 * 1);
        _eq(o[2], Programs.Src.Const, 0, 0);
        (code, o) = h.step(_gemm(true), 4, 3);
        _eq(o[0], Programs.Src.In, 0, 1 + 3 * 2);
        _eq(o[1], Programs.Src.In, 1, 3 * 3 + 1);
        _eq(o[2], Programs.Src.Prev, 0, 2);
    }

    /// @dev The bias is added after the whole chain.
    function test_step_gemmBias_succeeds() public view {
        (Programs.Opcode code, Programs.Operand[3] memory o) = h.step(_gemm(true), 5, 5);
        assertEq(uint256(code), uint256(Programs.Opcode.Add));
        _eq(o[0], Programs.Src.Prev, 0, 4);
        _eq(o[1], Programs.Src.In, 2, 2);
    }

    /// @dev A broadcast binary op reads input j at e mod n_j.
    function test_step_broadcastMul_succeeds() public view {
        StepOp memory o;
        o.kind = Programs.MUL;
        o.refKinds = new uint8[](2);
        o.refIndices = new uint32[](2);
        o.attrs = new int64[](2);
        (o.attrs[0], o.attrs[1]) = (0, 300);
        (Programs.Opcode code, Programs.Operand[3] memory r) = h.step(o, 345, 0);
        assertEq(uint256(code), uint256(Programs.Opcode.Mul));
        _eq(r[0], Programs.Src.In, 0, 345);
        _eq(r[1], Programs.Src.In, 1, 45);
        assertEq(uint256(r[2].src), uint256(Programs.Src.None));
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
        o.attrs[2] = 0;
        vm.expectRevert(abi.encodeWithSelector(Programs.BadAttr.selector, uint32(0), uint256(2)));
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
