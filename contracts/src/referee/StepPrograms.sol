// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {StepOp} from "./StepOp.sol";
import {Programs} from "./Programs.sol";

/// @title StepPrograms
/// @notice The element programs of every op kind (prover/trace/programs.py's twins: GEMM, the
///         row kinds, the elementwise, AdamW and clip kinds) and the scalar operations they run
///         (Float32, and Float64 for the binary64 steps). A stateless contract of its own,
///         deployed before StepEvaluator (which takes its address): together the programs and
///         the operand bindings do not fit one contract under the 24 KiB limit (EIP-170).
contract StepPrograms {
    /// @notice Number of scalar steps of element `e`'s program of `op` (Programs.length: checks
    ///         the kind's attrs and arity, reverts for an unknown kind).
    function programLength(StepOp calldata op, uint256 e) external pure returns (uint256) {
        return Programs.length(op, e);
    }

    /// @notice Step `s` of element `e`'s program: the operation and up to three operands.
    function step(StepOp calldata op, uint256 e, uint256 s)
        external
        pure
        returns (Programs.Opcode code, Programs.Operand[3] memory operands)
    {
        return Programs.step(op, e, s);
    }

    /// @notice One scalar operation on its operands' bits (binary64 steps on 64-bit patterns,
    ///         every other on binary32 bits in the low 32).
    function runStep(Programs.Opcode code, uint64 a, uint64 b, uint64 c) external pure returns (uint64) {
        return Programs.runStep(code, a, b, c);
    }
}
