// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {StepOp} from "./StepOp.sol";
import {Programs} from "./Programs.sol";
import {Float32} from "../libraries/Float32.sol";

/// @title ProgramsRows
/// @notice Element programs of the row kinds (prover/trace/kinds.py 2..14: the ascending and
///         blocked sums, softmax and log-softmax with their backwards, layer norm and its
///         backward), twins of prover/trace/programs.py step for step. Programs are computed, not
///         stored: `step(op, e, s)` yields step s of element e's program in O(1), so a row of
///         thousands of steps is never built in memory. Programs.sol dispatches here.
///         Notation (kinds.py): a row kind's output element e is (r, j) = divmod(e, n) of a
///         [rows, n] output (LN_MEAN/LN_RSTD/SUM: e = r; LN_BWD_DW/DB: e = j); an ascending sum
///         over k is `s = ADD(C(0), t_0); s = ADD(s, t_k)`.
library ProgramsRows {
    /// @dev kinds.py OpKind numbers (append only, never renumber).
    uint16 internal constant SUM = 2;
    uint16 internal constant FSUM = 3;
    uint16 internal constant FSUM_SQ = 4;
    uint16 internal constant SOFTMAX = 5;
    uint16 internal constant SOFTMAX_BWD = 6;
    uint16 internal constant LOGSOFTMAX = 7;
    uint16 internal constant LOGSOFTMAX_BWD = 8;
    uint16 internal constant LN_MEAN = 9;
    uint16 internal constant LN_RSTD = 10;
    uint16 internal constant LN_OUT = 11;
    uint16 internal constant LN_BWD_DX = 12;
    uint16 internal constant LN_BWD_DW = 13;
    uint16 internal constant LN_BWD_DB = 14;

    /// @dev The blocked sums' lanes (programs.py LANES, rk_fsum's 16 accumulators).
    uint256 internal constant LANES = 16;
    uint32 internal constant NEG_INF = 0xFF800000;
    uint32 internal constant ONE = 0x3F800000;
    /// @dev Rows and row lengths stay below 2^32, so that every position fits its uint64.
    uint256 private constant MAX_DIM = 1 << 32;

    /// @notice Whether `kind` is one of this library's kinds.
    function covers(uint16 kind) internal pure returns (bool) {
        return kind >= SUM && kind <= LN_BWD_DB;
    }

    /// @notice How many attrs the kind has before the input slots' index maps (graph.KIND_ATTRS).
    function kindAttrs(uint16 kind) internal pure returns (uint256) {
        if (kind == FSUM || kind == FSUM_SQ) return 4;
        if (kind == LN_RSTD || kind == LN_OUT || kind == LN_BWD_DX) return 3;
        return 2;
    }

    /// @notice Steps of element e's program (only FSUM's last block depends on e); checks the
    ///         attrs and the number of input slots.
    function length(StepOp calldata op, uint256 e) internal pure returns (uint256) {
        uint16 kind = op.kind;
        _check(op, kind);
        (uint256 rows, uint256 n) = (uint64(op.attrs[0]), uint64(op.attrs[1]));
        if (kind == SUM) return n;
        if (kind == FSUM || kind == FSUM_SQ) return _blockLen(op.attrs, e) + LANES - 1;
        if (kind == SOFTMAX) return 4 * n + 2;
        if (kind == LOGSOFTMAX) return 4 * n + 4;
        if (kind == SOFTMAX_BWD) return 2 * n + 2;
        if (kind == LOGSOFTMAX_BWD) return n + 3;
        if (kind == LN_MEAN) return n + 1;
        if (kind == LN_RSTD) return 3 * n + 4;
        if (kind == LN_OUT) return 4;
        if (kind == LN_BWD_DX) return 6 * n + 9;
        if (kind == LN_BWD_DW) return 4 * rows;
        return rows; // LN_BWD_DB
    }

    /// @notice Step `s` of element `e`'s program; `s` is below `length(op, e)` (Programs.step
    ///         checks it).
    function step(StepOp calldata op, uint256 e, uint256 s)
        internal
        pure
        returns (Programs.Opcode, Programs.Operand[3] memory)
    {
        uint16 kind = op.kind;
        (uint256 rows, uint256 n) = (uint64(op.attrs[0]), uint64(op.attrs[1]));
        if (kind == SUM) return _two(Programs.Opcode.Add, _acc(s, s), _in(0, e * n + s));
        if (kind == FSUM || kind == FSUM_SQ) return _fsum(op.attrs, kind == FSUM_SQ, e, s);
        if (kind == SOFTMAX || kind == LOGSOFTMAX) return _softmax(kind == SOFTMAX, n, e, s);
        if (kind == SOFTMAX_BWD) return _softmaxBwd(n, e, s);
        if (kind == LOGSOFTMAX_BWD) return _logSoftmaxBwd(n, e, s);
        if (kind == LN_MEAN) {
            if (s < n) return _two(Programs.Opcode.Add, _acc(s, s), _in(0, e * n + s));
            return _two(Programs.Opcode.Div, _prev(n - 1), _count(n));
        }
        if (kind == LN_RSTD) return _lnRstd(op.attrs, n, e, s);
        if (kind == LN_OUT) return _lnOut(n, e, s);
        if (kind == LN_BWD_DX) return _lnDx(n, e, s);
        if (kind == LN_BWD_DW) return _lnDw(rows, n, e, s);
        return _two(Programs.Opcode.Add, _acc(s, s), _in(0, s * n + e)); // LN_BWD_DB
    }

    // ------------------------------------------------------------------ sums

    /// @dev Block b of row r (e = r * nBlocks + b) sums m = min(n, (b+1)*blockLen) - b*blockLen
    ///      elements: 16 lanes, lane l adding X[r, b*blockLen + l + 16t] for t ascending (lane 0's
    ///      steps first, then lane 1's, ...), then `s = ADD(lane_0, lane_1); s = ADD(s, lane_l)`.
    function _fsum(int64[] calldata a, bool square, uint256 e, uint256 s)
        private
        pure
        returns (Programs.Opcode, Programs.Operand[3] memory o)
    {
        uint256 m = _blockLen(a, e);
        if (s < m) {
            (uint256 lane, uint256 t) = _lanePos(m, s);
            Programs.Operand memory x = _in(0, _blockStart(a, e) + lane + LANES * t);
            Programs.Operand memory acc = t == 0 ? _const(0) : _prev(s - 1);
            if (!square) return _two(Programs.Opcode.Add, acc, x);
            (o[0], o[1], o[2]) = (x, x, acc);
            return (Programs.Opcode.Fma, o);
        }
        uint256 k = s - m;
        return _two(Programs.Opcode.Add, k == 0 ? _laneSum(m, 0) : _prev(s - 1), _laneSum(m, k + 1));
    }

    /// @dev Position of the first element of element e's block: X[r, b * blockLen].
    function _blockStart(int64[] calldata a, uint256 e) private pure returns (uint256) {
        uint256 nb = uint64(a[3]);
        return (e / nb) * uint64(a[1]) + (e % nb) * uint64(a[2]);
    }

    /// @dev Elements in the block of element e.
    function _blockLen(int64[] calldata a, uint256 e) private pure returns (uint256) {
        (uint256 n, uint256 blk, uint256 nb) = (uint64(a[1]), uint64(a[2]), uint64(a[3]));
        uint256 j0 = (e % nb) * blk;
        return (n < j0 + blk ? n : j0 + blk) - j0;
    }

    /// @dev Lane and index within the lane of step s < m: lanes l < m % 16 hold m / 16 + 1
    ///      elements, the others m / 16.
    function _lanePos(uint256 m, uint256 s) private pure returns (uint256, uint256) {
        (uint256 q, uint256 rem) = (m / LANES, m % LANES);
        uint256 big = rem * (q + 1);
        if (s < big) return (s / (q + 1), s % (q + 1));
        return (rem + (s - big) / q, (s - big) % q);
    }

    /// @dev Lane l's total: its last step, or +0 for a lane with no element.
    function _laneSum(uint256 m, uint256 l) private pure returns (Programs.Operand memory) {
        (uint256 q, uint256 rem) = (m / LANES, m % LANES);
        uint256 count = q + (l < rem ? 1 : 0);
        if (count == 0) return _const(0);
        return _prev(l * q + (l < rem ? l : rem) + count - 1);
    }

    // ------------------------------------------------------------------ softmax rows

    /// @dev Row max (n steps from -inf, then NINF_TO_ZERO at n), t_j = SUB(x_j, m) and EXP at
    ///      n+1+2j, n+2+2j, the ascending sum of the exps at 3n+1.., then SOFTMAX:
    ///      DIV(exp_j, sum); LOGSOFTMAX: l = LOG(sum), SUB(SUB(x_j, m), l).
    function _softmax(bool plain, uint256 n, uint256 e, uint256 s)
        private
        pure
        returns (Programs.Opcode, Programs.Operand[3] memory)
    {
        uint256 r0 = (e / n) * n;
        if (s < n) return _two(Programs.Opcode.Max, _in(0, r0 + s), s == 0 ? _const(NEG_INF) : _prev(s - 1));
        if (s == n) return _one(Programs.Opcode.NinfToZero, _prev(n - 1));
        if (s <= 3 * n) {
            uint256 t = s - n - 1;
            if (t % 2 == 1) return _one(Programs.Opcode.Exp, _prev(s - 1));
            return _two(Programs.Opcode.Sub, _in(0, r0 + t / 2), _prev(n));
        }
        if (s <= 4 * n) {
            uint256 k = s - 3 * n - 1;
            return _two(Programs.Opcode.Add, _acc(k, s), _prev(n + 2 + 2 * k));
        }
        if (plain) return _two(Programs.Opcode.Div, _prev(n + 2 + 2 * (e - r0)), _prev(4 * n));
        if (s == 4 * n + 1) return _one(Programs.Opcode.Log, _prev(4 * n));
        if (s == 4 * n + 2) return _two(Programs.Opcode.Sub, _in(0, e), _prev(n));
        return _two(Programs.Opcode.Sub, _prev(4 * n + 2), _prev(4 * n + 1));
    }

    /// @dev Slots y, dy: p_j = MUL(dy_j, y_j) for every j, their ascending sum, then
    ///      MUL(y_e, SUB(dy_e, sum)).
    function _softmaxBwd(uint256 n, uint256 e, uint256 s)
        private
        pure
        returns (Programs.Opcode, Programs.Operand[3] memory)
    {
        uint256 r0 = (e / n) * n;
        if (s < n) return _two(Programs.Opcode.Mul, _in(1, r0 + s), _in(0, r0 + s));
        if (s < 2 * n) return _two(Programs.Opcode.Add, _acc(s - n, s), _prev(s - n));
        if (s == 2 * n) return _two(Programs.Opcode.Sub, _in(1, e), _prev(2 * n - 1));
        return _two(Programs.Opcode.Mul, _in(0, e), _prev(2 * n));
    }

    /// @dev Slots y, dy: the ascending sum of dy's row, then SUB(dy_e, MUL(EXP(y_e), sum)).
    function _logSoftmaxBwd(uint256 n, uint256 e, uint256 s)
        private
        pure
        returns (Programs.Opcode, Programs.Operand[3] memory)
    {
        if (s < n) return _two(Programs.Opcode.Add, _acc(s, s), _in(1, (e / n) * n + s));
        if (s == n) return _one(Programs.Opcode.Exp, _in(0, e));
        if (s == n + 1) return _two(Programs.Opcode.Mul, _prev(n), _prev(n - 1));
        return _two(Programs.Opcode.Sub, _in(1, e), _prev(n + 1));
    }

    // ------------------------------------------------------------------ layer norm

    /// @dev Slots x, mean: d_j = SUB(x_j, mean_r), q_j = MUL(d_j, d_j) at 2j, 2j+1, the
    ///      ascending sum of the q_j at 2n.., then DIV(v, C(n)), ADD(., C(eps)), SQRT, DIV(C(1), .).
    function _lnRstd(int64[] calldata a, uint256 n, uint256 e, uint256 s)
        private
        pure
        returns (Programs.Opcode, Programs.Operand[3] memory)
    {
        if (s < 2 * n) {
            if (s % 2 == 1) return _two(Programs.Opcode.Mul, _prev(s - 1), _prev(s - 1));
            return _two(Programs.Opcode.Sub, _in(0, e * n + s / 2), _in(1, e));
        }
        if (s < 3 * n) return _two(Programs.Opcode.Add, _acc(s - 2 * n, s), _prev(2 * (s - 2 * n) + 1));
        if (s == 3 * n) return _two(Programs.Opcode.Div, _prev(s - 1), _count(n));
        if (s == 3 * n + 1) return _two(Programs.Opcode.Add, _prev(s - 1), _const(uint32(uint64(a[2]))));
        if (s == 3 * n + 2) return _one(Programs.Opcode.Sqrt, _prev(s - 1));
        return _two(Programs.Opcode.Div, _const(ONE), _prev(s - 1));
    }

    /// @dev Slots x, mean, rstd, w, b: ADD(MUL(MUL(SUB(x_e, mean_r), rstd_r), w_j), b_j).
    function _lnOut(uint256 n, uint256 e, uint256 s)
        private
        pure
        returns (Programs.Opcode, Programs.Operand[3] memory)
    {
        (uint256 r, uint256 j) = (e / n, e % n);
        if (s == 0) return _two(Programs.Opcode.Sub, _in(0, e), _in(1, r));
        if (s == 1) return _two(Programs.Opcode.Mul, _prev(0), _in(2, r));
        if (s == 2) return _two(Programs.Opcode.Mul, _prev(1), _in(3, j));
        return _two(Programs.Opcode.Add, _prev(2), _in(4, j));
    }

    /// @dev Slots x, w, mean, rstd, dy. Six steps per j ascending: g = MUL(dy_j, w_j),
    ///      d = SUB(x_j, mean_r), h = MUL(d, rstd_r), s1 = ADD(s1, g), p = MUL(g, h),
    ///      s2 = ADD(s2, p); then m1 = DIV(s1, C(n)), m2 = DIV(s2, C(n)); g, d, h of the element's
    ///      j again; SUB(g, m1), MUL(h, m2), their SUB, and MUL(., rstd_r).
    function _lnDx(uint256 n, uint256 e, uint256 s)
        private
        pure
        returns (Programs.Opcode, Programs.Operand[3] memory)
    {
        (uint256 r, uint256 jj) = (e / n, e % n);
        uint256 rn = r * n;
        if (s < 6 * n) {
            (uint256 j, uint256 t) = (s / 6, s % 6);
            if (t < 3) return _gh(rn, r, j, t, s);
            if (t == 4) return _two(Programs.Opcode.Mul, _prev(s - 4), _prev(s - 2));
            // s1 (t = 3) adds g (s - 3), s2 (t = 5) adds p (s - 1); each from its own last step.
            Programs.Operand memory acc = j == 0 ? _const(0) : _prev(s - 6);
            return _two(Programs.Opcode.Add, acc, _prev(t == 3 ? s - 3 : s - 1));
        }
        uint256 k = s - 6 * n;
        if (k < 2) return _two(Programs.Opcode.Div, _prev(6 * n - 3 + 2 * k), _count(n));
        if (k < 5) return _gh(rn, r, jj, k - 2, s);
        if (k == 5) return _two(Programs.Opcode.Sub, _prev(s - 3), _prev(6 * n));
        if (k == 6) return _two(Programs.Opcode.Mul, _prev(s - 2), _prev(6 * n + 1));
        if (k == 7) return _two(Programs.Opcode.Sub, _prev(s - 2), _prev(s - 1));
        return _two(Programs.Opcode.Mul, _prev(s - 1), _in(3, r));
    }

    /// @dev Step t of g_h(j) at program step s: g = MUL(dy_j, w_j), d = SUB(x_j, mean_r),
    ///      h = MUL(d, rstd_r).
    function _gh(uint256 rn, uint256 r, uint256 j, uint256 t, uint256 s)
        private
        pure
        returns (Programs.Opcode, Programs.Operand[3] memory)
    {
        if (t == 0) return _two(Programs.Opcode.Mul, _in(4, rn + j), _in(1, j));
        if (t == 1) return _two(Programs.Opcode.Sub, _in(0, rn + j), _in(2, r));
        return _two(Programs.Opcode.Mul, _prev(s - 1), _in(3, r));
    }

    /// @dev Slots x, mean, rstd, dy; e = column j. Per row i: d = SUB(x_ij, mean_i),
    ///      h = MUL(d, rstd_i), p = MUL(dy_ij, h) at 3i..3i+2; then the ascending sum of the p.
    function _lnDw(uint256 rows, uint256 n, uint256 e, uint256 s)
        private
        pure
        returns (Programs.Opcode, Programs.Operand[3] memory)
    {
        if (s < 3 * rows) {
            (uint256 i, uint256 t) = (s / 3, s % 3);
            if (t == 0) return _two(Programs.Opcode.Sub, _in(0, i * n + e), _in(1, i));
            if (t == 1) return _two(Programs.Opcode.Mul, _prev(s - 1), _in(2, i));
            return _two(Programs.Opcode.Mul, _in(3, i * n + e), _prev(s - 1));
        }
        uint256 k = s - 3 * rows;
        return _two(Programs.Opcode.Add, _acc(k, s), _prev(3 * k + 2));
    }

    // ------------------------------------------------------------------ checks and operands

    /// @dev The kind's attrs are present and in range, and it has its number of input slots.
    function _check(StepOp calldata op, uint16 kind) private pure {
        uint256 na = kindAttrs(kind);
        if (op.attrs.length < na) revert Programs.BadArity(op.index, kind, op.attrs.length, na);
        for (uint256 i; i < 2; ++i) {
            // rows and n: positive, below 2^32.
            if (op.attrs[i] <= 0 || uint64(op.attrs[i]) >= MAX_DIM) revert Programs.BadAttr(op.index, i);
        }
        if (kind == FSUM || kind == FSUM_SQ) {
            // blockLen positive, and nBlocks the blocks n needs (rk_fsum's split).
            (int64 blk, int64 nb) = (op.attrs[2], op.attrs[3]);
            if (blk <= 0 || uint64(blk) >= MAX_DIM) revert Programs.BadAttr(op.index, 2);
            if (nb != (op.attrs[1] + blk - 1) / blk) revert Programs.BadAttr(op.index, 3);
        } else if (kind == LN_RSTD) {
            // epsBits: a binary32 bit pattern.
            if (op.attrs[2] < 0 || uint64(op.attrs[2]) >= MAX_DIM) revert Programs.BadAttr(op.index, 2);
        } else if (kind == LN_OUT || kind == LN_BWD_DX) {
            // hasWeight: layer norms without a weight are not traced (prover/trace/taps.py).
            if (op.attrs[2] != 1) revert Programs.BadAttr(op.index, 2);
        }
        uint256 got = op.refKinds.length;
        uint256 need = _inputs(kind);
        if (got != need) revert Programs.BadArity(op.index, kind, got, need);
    }

    function _inputs(uint16 kind) private pure returns (uint256) {
        if (kind == LN_OUT || kind == LN_BWD_DX) return 5;
        if (kind == LN_BWD_DW) return 4;
        if (kind == SOFTMAX_BWD || kind == LOGSOFTMAX_BWD || kind == LN_RSTD) return 2;
        return 1;
    }

    /// @dev The accumulator of an ascending sum at its term k (program step s): +0 first.
    function _acc(uint256 k, uint256 s) private pure returns (Programs.Operand memory) {
        return k == 0 ? _const(0) : _prev(s - 1);
    }

    /// @dev C(float(n)): the row length as a binary32 literal (exact below 2^24).
    function _count(uint256 n) private pure returns (Programs.Operand memory) {
        return _const(Float32.fromInt(int64(int256(n))));
    }

    function _prev(uint256 s) private pure returns (Programs.Operand memory) {
        return Programs.Operand(Programs.Src.Prev, 0, uint64(s));
    }

    function _in(uint32 slot, uint256 q) private pure returns (Programs.Operand memory) {
        return Programs.Operand(Programs.Src.In, slot, uint64(q));
    }

    function _const(uint32 bits) private pure returns (Programs.Operand memory) {
        return Programs.Operand(Programs.Src.Const, 0, bits);
    }

    function _one(Programs.Opcode code, Programs.Operand memory a)
        private
        pure
        returns (Programs.Opcode, Programs.Operand[3] memory o)
    {
        o[0] = a;
        return (code, o);
    }

    function _two(Programs.Opcode code, Programs.Operand memory a, Programs.Operand memory b)
        private
        pure
        returns (Programs.Opcode, Programs.Operand[3] memory o)
    {
        (o[0], o[1]) = (a, b);
        return (code, o);
    }
}
