"""Element programs (docs/referee.md "Element programs"): for op i and output element e, the
exact binary32 steps the kernel performs, as ``(opcode, operands)``; each kind's program is
documented in ``prover.trace.kinds``. The Solidity twin is ``contracts/src/referee/Programs.sol``.

Operands are tuples: ``(PREV, s)`` the result of step s, ``(IN, slot, position)`` an element of
an input slot (position row-major in the slot's logical shape; the slot's index map leads to the
referenced tensor), ``(CONST, bits)`` a float32 literal (64-bit bits for the ``*_F64`` steps).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from prover.trace.commit import TraceError
from prover.trace.graph import Op
from prover.trace.kinds import Opcode, OpKind

PREV, IN, CONST = 0, 1, 2
Operand = tuple[int, ...]
Step = tuple[Opcode, tuple[Operand, ...]]
#: Reads slot ``slot``'s element at ``position`` of an op (EMBED_BWD needs the ids' values).
SlotReader = Callable[[Op, int, int], float | np.floating[Any]]

LANES = 16
ZERO: Operand = (CONST, 0)
NEG_INF: Operand = (CONST, 0xFF800000)


def c32(v: float) -> Operand:
    return (CONST, int(np.array([v], dtype=np.float32).view(np.uint32)[0]))


def c64(v: float) -> Operand:
    return (CONST, int(np.array([v], dtype=np.float64).view(np.uint64)[0]))


class _P:
    """A program under construction; every method appends one step and returns its operand."""

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def __call__(self, code: Opcode, *args: Operand) -> Operand:
        self.steps.append((code, args))
        return (PREV, len(self.steps) - 1)

    def ascending_sum(self, terms: list[Operand]) -> Operand:
        """``s = 0; s = ADD(s, t)`` for every term in order."""
        s = ZERO
        for t in terms:
            s = self(Opcode.ADD, s, t)
        return s


def _x(slot: int, pos: int) -> Operand:
    return (IN, slot, pos)


def program(op: Op, e: int, read: SlotReader | None = None) -> list[Step]:
    """The element program of output element ``e`` of ``op``."""
    if not 0 <= e < op.numel:
        raise TraceError(f"element {e} is out of range (op {op.index} has {op.numel})")
    build = _BUILDERS.get(op.kind)
    if build is None:
        raise TraceError(f"no element program for op kind {op.kind.name}")
    p = _P()
    build(p, op, e, read)
    return p.steps


def program_length(op: Op) -> int:
    """Steps of the op's longest element program (without building it for EMBED_BWD)."""
    a = op.kattrs
    k = op.kind
    if k is OpKind.GEMM:
        return a[3] * (1 if a[4] else 2) + a[5]
    if k is OpKind.EMBED_BWD:
        return a[2]
    if k in (OpKind.FSUM, OpKind.FSUM_SQ):
        return min(a[1], a[2]) + LANES - 1
    return len(program(op, 0))


def _gemm(p: _P, op: Op, e: int, read: SlotReader | None) -> None:
    _, m_, n_, k_, fused, has_bias = op.kattrs
    b, rem = divmod(e, m_ * n_)
    m, n = divmod(rem, n_)
    a0, b0 = b * m_ * k_ + m * k_, b * k_ * n_ + n
    acc = ZERO
    for k in range(k_):
        if fused:
            acc = p(Opcode.FMA, _x(0, a0 + k), _x(1, b0 + k * n_), acc)
        else:
            t = p(Opcode.MUL, _x(0, a0 + k), _x(1, b0 + k * n_))
            acc = p(Opcode.ADD, acc, t)
    if has_bias:
        p(Opcode.ADD, acc, _x(2, n))


def _sum(p: _P, op: Op, e: int, read: SlotReader | None) -> None:
    n = op.kattrs[1]
    p.ascending_sum([_x(0, e * n + k) for k in range(n)])


def _fsum(p: _P, op: Op, e: int, read: SlotReader | None) -> None:
    _, n, blk, nblocks = op.kattrs
    r, b = divmod(e, nblocks)
    j0 = b * blk
    m = min(n, j0 + blk) - j0
    lanes: list[Operand] = []
    for lane in range(LANES):
        acc = ZERO
        for j in range(lane, m, LANES):
            x = _x(0, r * n + j0 + j)
            acc = p(Opcode.FMA, x, x, acc) if op.kind is OpKind.FSUM_SQ else p(Opcode.ADD, acc, x)
        lanes.append(acc)
    s = lanes[0]
    for t in lanes[1:]:
        s = p(Opcode.ADD, s, t)


def _row_max_exp(p: _P, r0: int, n: int) -> tuple[Operand, list[Operand], Operand]:
    """softmax rows: (m, exps, sum)."""
    m = NEG_INF
    for j in range(n):
        m = p(Opcode.MAX, _x(0, r0 + j), m)
    m = p(Opcode.NINF_TO_ZERO, m)
    exps = [p(Opcode.EXP, p(Opcode.SUB, _x(0, r0 + j), m)) for j in range(n)]
    return m, exps, p.ascending_sum(exps)


def _softmax(p: _P, op: Op, e: int, read: SlotReader | None) -> None:
    n = op.kattrs[1]
    r, j = divmod(e, n)
    m, exps, s = _row_max_exp(p, r * n, n)
    if op.kind is OpKind.SOFTMAX:
        p(Opcode.DIV, exps[j], s)
    else:
        lg = p(Opcode.LOG, s)
        p(Opcode.SUB, p(Opcode.SUB, _x(0, e), m), lg)


def _softmax_bwd(p: _P, op: Op, e: int, read: SlotReader | None) -> None:
    n = op.kattrs[1]
    r0 = (e // n) * n
    if op.kind is OpKind.SOFTMAX_BWD:
        s = p.ascending_sum([p(Opcode.MUL, _x(1, r0 + j), _x(0, r0 + j)) for j in range(n)])
        p(Opcode.MUL, _x(0, e), p(Opcode.SUB, _x(1, e), s))
    else:
        s = p.ascending_sum([_x(1, r0 + j) for j in range(n)])
        p(Opcode.SUB, _x(1, e), p(Opcode.MUL, p(Opcode.EXP, _x(0, e)), s))


def _ln(p: _P, op: Op, e: int, read: SlotReader | None) -> None:
    n = op.kattrs[1]
    k = op.kind
    if k is OpKind.LN_MEAN:
        p(Opcode.DIV, p.ascending_sum([_x(0, e * n + j) for j in range(n)]), c32(n))
    elif k is OpKind.LN_RSTD:
        sq = []
        for j in range(n):
            d = p(Opcode.SUB, _x(0, e * n + j), _x(1, e))
            sq.append(p(Opcode.MUL, d, d))
        v = p(Opcode.DIV, p.ascending_sum(sq), c32(n))
        v = p(Opcode.ADD, v, (CONST, op.kattrs[2]))
        p(Opcode.DIV, c32(1.0), p(Opcode.SQRT, v))
    elif k is OpKind.LN_OUT:
        r, j = divmod(e, n)
        h = p(Opcode.MUL, p(Opcode.SUB, _x(0, e), _x(1, r)), _x(2, r))
        p(Opcode.ADD, p(Opcode.MUL, h, _x(3, j)), _x(4, j))
    elif k is OpKind.LN_BWD_DX:
        _ln_dx(p, n, e)
    elif k is OpKind.LN_BWD_DW:
        rows = op.kattrs[0]
        terms = []
        for i in range(rows):
            h = p(Opcode.MUL, p(Opcode.SUB, _x(0, i * n + e), _x(1, i)), _x(2, i))
            terms.append(p(Opcode.MUL, _x(3, i * n + e), h))
        p.ascending_sum(terms)
    else:  # LN_BWD_DB
        p.ascending_sum([_x(0, i * n + e) for i in range(op.kattrs[0])])


def _ln_dx(p: _P, n: int, e: int) -> None:
    """slots x, w, mean, rstd, dy."""
    r, jj = divmod(e, n)

    def g_h(j: int) -> tuple[Operand, Operand]:
        g = p(Opcode.MUL, _x(4, r * n + j), _x(1, j))
        h = p(Opcode.MUL, p(Opcode.SUB, _x(0, r * n + j), _x(2, r)), _x(3, r))
        return g, h

    s1, s2 = ZERO, ZERO
    for j in range(n):
        g, h = g_h(j)
        s1 = p(Opcode.ADD, s1, g)
        s2 = p(Opcode.ADD, s2, p(Opcode.MUL, g, h))
    m1 = p(Opcode.DIV, s1, c32(n))
    m2 = p(Opcode.DIV, s2, c32(n))
    g, h = g_h(jj)
    c = p(Opcode.SUB, p(Opcode.SUB, g, m1), p(Opcode.MUL, h, m2))
    p(Opcode.MUL, c, _x(3, r))


def _gelu_bwd(p: _P, op: Op, e: int, read: SlotReader | None) -> None:
    v = _x(0, e)
    f = p(Opcode.ERF, p(Opcode.MUL, v, c32(0.70710678118654752)))
    cdf = p(Opcode.MUL, c32(0.5), p(Opcode.ADD, c32(1.0), f))
    z = p(Opcode.MUL, c32(-0.5), p(Opcode.MUL, v, v))
    pdf = p(Opcode.MUL, p(Opcode.EXP, z), c32(0.39894228040143268))
    w = p(Opcode.ADD, cdf, p(Opcode.MUL, v, pdf))
    p(Opcode.MUL, _x(1, e), w)


_UNARY = {OpKind.GELU: Opcode.GELU, OpKind.EXP: Opcode.EXP, OpKind.LOG: Opcode.LOG,
          OpKind.NEG: Opcode.NEG, OpKind.COPY: Opcode.MOV}
_BINARY = {OpKind.ADD: Opcode.ADD, OpKind.SUB: Opcode.SUB, OpKind.MUL: Opcode.MUL,
           OpKind.DIV: Opcode.DIV}


def _elementwise(p: _P, op: Op, e: int, read: SlotReader | None) -> None:
    k = op.kind
    if k in _UNARY:
        p(_UNARY[k], _x(0, e))
    elif k in _BINARY:
        p(_BINARY[k], _x(0, e), _x(1, e))
    elif k is OpKind.MAX:
        # clamp_min(x, bound) as ATen gives it: maxss(bound, x) returns x when x is a NaN
        # (unquieted) or equal to the bound, which MAX(x, bound) would not
        p(Opcode.MAX, _x(1, e), _x(0, e))
    elif k is OpKind.RSQRT:
        p(Opcode.DIV, c32(1.0), p(Opcode.SQRT, _x(0, e)))
    elif k is OpKind.CUBE:
        p(Opcode.MUL, p(Opcode.MUL, _x(0, e), _x(0, e)), _x(0, e))
    elif k is OpKind.CLAMP_MIN_BWD:
        p(Opcode.SEL_GE, _x(0, e), _x(1, e), _x(2, e))
    elif k is OpKind.STACK:
        p(Opcode.MOV, _x(e, 0))
    elif k is OpKind.PAD:
        p(Opcode.MOV, _x(0, e) if e < op.kattrs[0] else ZERO)


def _embed_bwd(p: _P, op: Op, e: int, read: SlotReader | None) -> None:
    if read is None:
        raise TraceError("an EMBED_BWD program needs the ids (a slot reader)")
    _, h, npos, pad = op.kattrs
    v, c = divmod(e, h)
    terms = [] if v == pad else [_x(1, q * h + c) for q in range(npos) if int(read(op, 0, q)) == v]
    if not terms:
        p(Opcode.MOV, ZERO)
    else:
        p.ascending_sum(terms)


def _clip_coef(p: _P, op: Op, e: int, read: SlotReader | None) -> None:
    t = p(Opcode.TO_F64, _x(0, 0))
    d = p(Opcode.ADD_F64, p(Opcode.SQRT_F64, t), c64(1e-6))
    clip = (CONST, op.kattrs[0] & 0xFFFFFFFFFFFFFFFF)
    m = p(Opcode.MIN_F64, p(Opcode.DIV_F64, clip, d), c64(1.0))
    p(Opcode.TO_F32, m)


def _adamw(p: _P, op: Op, e: int, read: SlotReader | None) -> None:
    s = {name: _x(4 + i, 0) for i, name in enumerate(
        ("decay", "b1", "omb1", "b2", "omb2", "step", "bc2", "eps"))}
    pv, mv, vv, g = _x(0, e), _x(1, e), _x(2, e), _x(3, e)
    if op.kind is OpKind.ADAMW_V:
        p(Opcode.ADD, p(Opcode.MUL, vv, s["b2"]), p(Opcode.MUL, p(Opcode.MUL, g, g), s["omb2"]))
        return
    p1 = p(Opcode.MUL, pv, s["decay"]) if op.kind is OpKind.ADAMW_P else ZERO
    m1 = p(Opcode.ADD, p(Opcode.MUL, mv, s["b1"]), p(Opcode.MUL, g, s["omb1"]))
    if op.kind is OpKind.ADAMW_M:
        return
    v1 = p(Opcode.ADD, p(Opcode.MUL, vv, s["b2"]), p(Opcode.MUL, p(Opcode.MUL, g, g), s["omb2"]))
    den = p(Opcode.ADD, p(Opcode.DIV, p(Opcode.SQRT, v1), s["bc2"]), s["eps"])
    p(Opcode.SUB, p1, p(Opcode.MUL, s["step"], p(Opcode.DIV, m1, den)))


_BUILDERS: dict[OpKind, Callable[[_P, Op, int, SlotReader | None], None]] = {
    OpKind.GEMM: _gemm, OpKind.SUM: _sum, OpKind.FSUM: _fsum, OpKind.FSUM_SQ: _fsum,
    OpKind.SOFTMAX: _softmax, OpKind.LOGSOFTMAX: _softmax, OpKind.SOFTMAX_BWD: _softmax_bwd,
    OpKind.LOGSOFTMAX_BWD: _softmax_bwd, OpKind.GELU_BWD: _gelu_bwd,
    OpKind.EMBED_BWD: _embed_bwd, OpKind.CLIP_COEF: _clip_coef,
    **{k: _ln for k in (OpKind.LN_MEAN, OpKind.LN_RSTD, OpKind.LN_OUT, OpKind.LN_BWD_DX,
                        OpKind.LN_BWD_DW, OpKind.LN_BWD_DB)},
    **{k: _adamw for k in (OpKind.ADAMW_P, OpKind.ADAMW_M, OpKind.ADAMW_V)},
    **{k: _elementwise for k in (*_UNARY, *_BINARY, OpKind.MAX, OpKind.RSQRT, OpKind.CUBE,
                                 OpKind.CLAMP_MIN_BWD, OpKind.STACK, OpKind.PAD)},
}
