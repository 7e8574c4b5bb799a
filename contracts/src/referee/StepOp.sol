// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice One op of a step graph as the referee reads it (docs/referee.md "Step graph").
struct StepOp {
    /// @dev Position in the graph (the leaf index under graphRoot and opRoot).
    uint32 index;
    /// @dev Op kind (Programs.sol constants = prover/trace/kinds.py OpKind).
    uint16 kind;
    /// @dev Input references: kind (StepOps.REF_*) and index, one pair per input slot.
    uint8[] refKinds;
    uint32[] refIndices;
    /// @dev Output shape.
    uint32[] dims;
    /// @dev The kind's attrs, then per input slot its logical shape and index map (IndexMaps).
    int64[] attrs;
}

/// @title StepOps
/// @notice The op leaf encoding: sha256(abi.encodePacked(uint32 index, uint16 kind, uint8 nInputs,
///         (uint8 refKind, uint32 refIndex)[nInputs], uint8 rank, uint32 dims[rank], uint16 nAttrs,
///         int64 attrs[nAttrs])); graphRoot is the sha256 tree over the op leaves.
library StepOps {
    /// @dev Input reference kinds.
    uint8 internal constant REF_STATE = 0;
    uint8 internal constant REF_BATCH = 1;
    uint8 internal constant REF_TEACHER = 2;
    uint8 internal constant REF_SCALAR = 3;
    uint8 internal constant REF_OP = 4;
    /// @dev Every element is the float32 whose bits are the ref index.
    uint8 internal constant REF_CONST = 5;

    /// @notice The op's input lists differ in length, or a list is longer than its length field.
    error MalformedOp(uint256 index);

    /// @notice The op leaf (sha256 of the packed encoding above).
    function leaf(StepOp calldata op) internal pure returns (bytes32) {
        uint256 n = op.refKinds.length;
        if (n != op.refIndices.length || n > 255 || op.dims.length > 255 || op.attrs.length > 65535) {
            revert MalformedOp(op.index);
        }
        bytes memory b = abi.encodePacked(op.index, op.kind, uint8(n));
        for (uint256 i; i < n; ++i) {
            b = bytes.concat(b, abi.encodePacked(op.refKinds[i], op.refIndices[i]));
        }
        b = bytes.concat(b, abi.encodePacked(uint8(op.dims.length)));
        for (uint256 i; i < op.dims.length; ++i) {
            b = bytes.concat(b, abi.encodePacked(op.dims[i]));
        }
        b = bytes.concat(b, abi.encodePacked(uint16(op.attrs.length)));
        for (uint256 i; i < op.attrs.length; ++i) {
            b = bytes.concat(b, abi.encodePacked(op.attrs[i]));
        }
        return sha256(b);
    }

    /// @notice keccak of the op's ABI encoding: what the game stores to recognise the op later.
    function id(StepOp calldata op) internal pure returns (bytes32) {
        return keccak256(abi.encode(op));
    }
}
