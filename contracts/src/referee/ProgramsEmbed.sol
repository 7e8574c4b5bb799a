// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {StepOp} from "./StepOp.sol";
import {Programs} from "./Programs.sol";

/// @title ProgramsEmbed
/// @notice The embedding gradient's element program (EMBED_BWD, prover/trace/kinds.py), whose
///         terms depend on the data (docs/referee.md "EMBED_BWD: positions posted with the
///         program"). attrs: V, H, nPos, paddingIdx (-1: none), then the slots' maps; slot 0 the
///         ids [nPos], slot 1 the gradient rows [nPos, H]; output [V, H]. Element e = (v, c):
///         acc = ADD(acc, grad[p, c]) from acc = +0 over every position p with ids[p] == v,
///         ascending; no such position (or v == paddingIdx): MOV(+0).
///
///         The node posts, with the program's results, the positions it summed: `results` =
///         r_0 .. r_{n-1} then p_0 .. p_{m-1}, 4 bytes big-endian each, n = max(m, 1) (so 4
///         bytes when m = 0, else 8m). Step s < n is checked as any step; "step" n + q
///         (q < nPos) checks position q: whether the ids put it in the sum (opened from the
///         batch) against whether the node listed it, in a list that must be strictly increasing,
///         below nPos, and empty for the padding row.
library ProgramsEmbed {
    uint16 internal constant EMBED_BWD = 28;
    uint256 internal constant KIND_ATTRS = 4;

    /// @notice The results of an EMBED_BWD program are not r_0..r_{n-1} ++ p_0..p_{m-1}.
    error BadEmbedResults(uint256 length);

    /// @notice Checks the op's arity and attrs (V, H, nPos positive, paddingIdx >= -1).
    function check(StepOp calldata op) internal pure {
        if (op.refKinds.length != 2) revert Programs.BadArity(op.index, op.kind, op.refKinds.length, 2);
        if (op.attrs.length < KIND_ATTRS) revert Programs.BadArity(op.index, op.kind, op.attrs.length, KIND_ATTRS);
        for (uint256 i; i < 3; ++i) {
            if (op.attrs[i] <= 0) revert Programs.BadAttr(op.index, i);
        }
        if (op.attrs[3] < -1) revert Programs.BadAttr(op.index, 3);
    }

    /// @notice (m positions, n = max(m, 1) results) of a posted EMBED_BWD program.
    function counts(bytes calldata results) internal pure returns (uint256 m, uint256 n) {
        uint256 len = results.length;
        if (len == 4) return (0, 1);
        if (len == 0 || len % 8 != 0) revert BadEmbedResults(len);
        m = len / 8;
        n = m;
    }

    /// @notice Position i of the node's list.
    function positionAt(bytes calldata results, uint256 n, uint256 i) internal pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := shr(224, calldataload(add(results.offset, shl(2, add(n, i)))))
        }
    }

    /// @notice Step s < n of element e: ADD(acc, grad[p_s, c]) (acc = +0 at s = 0), or MOV(+0).
    function step(StepOp calldata op, uint256 e, uint256 s, bytes calldata results)
        internal
        pure
        returns (Programs.Opcode, Programs.Operand[3] memory o)
    {
        (uint256 m, uint256 n) = counts(results);
        if (s >= n) revert Programs.StepOutOfProgram(s, n);
        if (m == 0) {
            o[0] = Programs.Operand(Programs.Src.Const, 0, 0);
            return (Programs.Opcode.Mov, o);
        }
        uint256 h = uint64(op.attrs[1]);
        o[0] = s == 0 ? Programs.Operand(Programs.Src.Const, 0, 0) : Programs.Operand(Programs.Src.Prev, 0, uint64(s - 1));
        o[1] = Programs.Operand(Programs.Src.In, 1, uint64(positionAt(results, n, s) * h + e % h));
        return (Programs.Opcode.Add, o);
    }

    /// @notice Whether the node's list is well formed for element e (strictly increasing, every
    ///         position below nPos, empty for the padding row) and whether it lists position q.
    function listed(StepOp calldata op, uint256 e, uint256 q, bytes calldata results)
        internal
        pure
        returns (bool wellFormed, bool has)
    {
        (uint256 m, uint256 n) = counts(results);
        uint256 nPos = uint64(op.attrs[2]);
        if (m != 0 && isPadding(op, e)) return (false, false);
        uint256 prev;
        for (uint256 i; i < m; ++i) {
            uint256 p = positionAt(results, n, i);
            if (p >= nPos || (i != 0 && p <= prev)) return (false, false);
            if (p == q) has = true;
            prev = p;
        }
        wellFormed = true;
    }

    /// @notice Whether element e is in the padding row (whose gradient stays +0).
    function isPadding(StepOp calldata op, uint256 e) internal pure returns (bool) {
        int64 pad = op.attrs[3];
        return pad >= 0 && e / uint64(op.attrs[1]) == uint64(pad);
    }
}
