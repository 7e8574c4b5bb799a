"""The step graph's enums (docs/referee.md "Step graph", "Element programs"): op kinds, input
reference kinds, index-map levels and the element programs' opcodes.

Every value here is part of the encoding (``opLeaf``) and of ``contracts/src/referee/Programs.sol``:
never renumber, only append. Each op kind's documentation below is its element program: the
exact scalar steps, in order, that produce output element ``e`` (notation below).

Notation of the programs
------------------------
* ``e`` is the output element's position in the op's output, row-major over the output shape.
  For a kind whose output is ``[rows, n]`` (or ``[..., n]``), ``r = e // n`` and ``j = e % n``.
* ``X[k]`` names an input slot of the op (slot 0 first, in the op's ``inputs`` order). ``X[i]``
  for a multi-dimensional index means the element at row-major position ``i`` of the slot's
  *logical* shape (given per kind), read through the slot's index map (see :class:`MapLevel`).
* ``C(v)`` is a constant operand ``Const(bits of float32 v)``; ``S(j)`` an operand that reads the
  per-step scalar table through an input slot of kind ``SCALAR``: it is an ``In`` operand.
* Every step is one binary32 operation with one rounding (round to nearest even, SSE semantics,
  ``docs/referee.md`` "Semantics"). ``FMA(a, b, c)`` is ``a * b + c`` rounded once. ``MAX(a, b)``
  is ``a > b ? a : b`` (maxss). Sums written ``s = 0; s = ADD(s, x_k) for k ascending`` start
  from ``+0`` and add in ascending ``k``; the first step is ``ADD(C(0), x_0)``.
* Kind attributes (``attrs``) come first, in the order listed; the index maps of the input slots
  follow them (``MapLevel``).
"""

from __future__ import annotations

from enum import IntEnum


class RefKind(IntEnum):
    """Where an op input comes from (``refKind`` in ``opLeaf``; ``refIndex`` as said)."""

    #: ``State(j)``: the j-th tensor of the state before the step (state v2 canonical order:
    #: parameters by sorted name, then optimizer tensors ``<param>/<key>`` sorted).
    STATE = 0
    #: ``Batch(j)``: j = 0 the batch's ``input_ids`` ``[B, L]`` (int ids held exactly in
    #: float32, ids < 2^24), j = 1 its attention mask (all ones; v1 samples are unpadded),
    #: j = 2 the position ids ``0 .. L-1`` (float32).
    BATCH = 1
    #: ``Teacher(j)``: the j-th teacher tensor (teacher parameters by sorted name), then the
    #: spec's fixed tensors (``fixed/proj``, ``fixed/head``) after them; teacherRoot covers all.
    TEACHER = 2
    #: ``Scalar(j)``: entry j of the step's per-step scalar table (one float32 each).
    SCALAR = 3
    #: ``Op(i)``: the output of op i (i < this op's index).
    OP = 4
    #: ``Const(bits)``: a tensor of any shape whose every element is the float32 ``bits``
    #: (``refIndex`` holds the bits): ``ones_like`` seeds, zero fills, the step-1 moments.
    CONST = 5


class MapLevel(IntEnum):
    """One level of an input slot's index map (pure data movement folded into the consumer).

    A slot's map is encoded in the op's attrs as ``nLevels`` then each level. The position
    ``q`` of the logical element the program asks for (row-major in the slot's logical shape)
    goes through the levels in order; the last level's result is the element's position in the
    referenced tensor (row-major, flat):
    """

    #: ``STRIDED, offset, rank, sizes[rank], strides[rank]``: unravel ``q`` row-major over
    #: ``sizes`` to ``(i_0..)`` and return ``offset + sum(i_k * strides_k)`` (reshape,
    #: transpose, slice, select, expand with stride 0, permute, and copies of them).
    STRIDED = 0
    #: ``GATHER, idsSlot, rowLen``: ``p, c = divmod(q, rowLen)``; return
    #: ``int(X[idsSlot][p]) * rowLen + c``: an embedding lookup, the ids read from another input
    #: slot (the batch's ``input_ids``) through that slot's own map.
    GATHER = 1


class Opcode(IntEnum):
    """Element program opcodes (binary32 unless said). Operands are ``Prev(s)``, ``In(slot,
    position)`` or ``Const(bits)``; EXP/LOG/ERF/GELU are the kernels' own sequences
    (``Float32Math``), one step each."""

    ADD = 1
    SUB = 2
    MUL = 3
    DIV = 4
    SQRT = 5
    #: ``FMA(a, b, c)`` = a * b + c, one rounding.
    FMA = 6
    #: ``a > b ? a : b``.
    MAX = 7
    #: ``a < b ? a : b``.
    MIN = 8
    NEG = 9
    EXP = 10
    LOG = 11
    ERF = 12
    #: the kernels' GELU element ``(0.5 * v) * (1 + erf(v * 0.70710678))``.
    GELU = 13
    #: ``a == -inf ? +0 : a`` (the row kernels' "every x is -inf" guard).
    NINF_TO_ZERO = 14
    #: ``a >= b ? c : +0`` (the clamp_min backward: gradient where ``x >= min``, else zero).
    SEL_GE = 15
    #: ``a`` itself (bits unchanged): copies, stacks, an empty sum (``MOV(C(0))``).
    MOV = 16
    #: binary64 steps of the clip coefficient (``CLIP_COEF`` only): ``TO_F64`` widens a binary32
    #: exactly; ``*_F64`` are IEEE binary64 with one rounding; ``TO_F32`` rounds to binary32.
    #: Their results are 8 bytes (the program's other results 4).
    TO_F64 = 32
    SQRT_F64 = 33
    ADD_F64 = 34
    DIV_F64 = 35
    #: ``b < a ? b : a`` (Python's ``min(a, b)``).
    MIN_F64 = 36
    TO_F32 = 37


class OpKind(IntEnum):
    """What an op computes; the member's doc (:func:`program_doc`) is its element program."""

    GEMM = 1
    SUM = 2
    FSUM = 3
    FSUM_SQ = 4
    SOFTMAX = 5
    SOFTMAX_BWD = 6
    LOGSOFTMAX = 7
    LOGSOFTMAX_BWD = 8
    LN_MEAN = 9
    LN_RSTD = 10
    LN_OUT = 11
    LN_BWD_DX = 12
    LN_BWD_DW = 13
    LN_BWD_DB = 14
    GELU = 15
    GELU_BWD = 16
    EXP = 17
    LOG = 18
    ADD = 19
    SUB = 20
    MUL = 21
    DIV = 22
    NEG = 23
    RSQRT = 24
    MAX = 25
    CUBE = 26
    CLAMP_MIN_BWD = 27
    EMBED_BWD = 28
    CLIP_COEF = 29
    ADAMW_P = 30
    ADAMW_M = 31
    ADAMW_V = 32
    COPY = 33
    STACK = 34
    PAD = 35


_DOCS: dict[OpKind, str] = {
    OpKind.GEMM: """GEMM, ``out[b, m, n] = sum_k A[b, m, k] * B[b, k, n] (+ bias[n])``.
    attrs: ``nb, M, N, K, fused, hasBias``. Slots: A ``[nb, M, K]``, B ``[nb, K, N]``, bias
    ``[N]`` (when hasBias). ``b, m, n`` unravel e over ``[nb, M, N]``.
    fused = 1 (repfma): ``acc = FMA(A[b,m,0], B[b,0,n], C(0)); acc = FMA(A[b,m,k], B[b,k,n], acc)``
    for k = 1..K-1. fused = 0 (repcpu): ``t = MUL(A[b,m,k], B[b,k,n]); acc = ADD(acc, t)`` for k
    ascending from ``acc = C(0)``. Then with a bias: ``acc = ADD(acc, bias[n])``. K steps (2K).""",
    OpKind.SUM: """Ascending sum over the last logical axis (the kernels' ones-GEMMs:
    ``sum_rows``, ``sum_last``): attrs ``rows, n``. Slot 0 ``[rows, n]``.
    ``s = ADD(C(0), X[r, 0]); s = ADD(s, X[r, k])`` for k = 1..n-1 (fma(x, 1, s) and
    s + x * 1 round the same). n steps.""",
    OpKind.FSUM: """One block of the repfma blocked sum (``rk_fsum``), plain:
    attrs ``rows, n, blockLen, nBlocks``; slot 0 ``[rows, n]``; output ``[rows, nBlocks]``,
    element ``(r, b)`` sums ``X[r, b*blockLen .. min(n, (b+1)*blockLen))`` (length m):
    16 lanes: ``lane_l = 0; lane_l = ADD(lane_l, X[r, j])`` for j = l, l+16, ... < m ascending;
    then ``s = ADD(lane_0, lane_1); s = ADD(s, lane_l)`` for l = 2..15 (lanes with no element
    are +0 and are still added). A sum over more than blockLen (4096) elements is two or more
    FSUM ops: the blocks, then FSUM over the block sums.""",
    OpKind.FSUM_SQ: """As FSUM over squares: ``lane_l = FMA(X[r, j], X[r, j], lane_l)``; the
    lanes are then added as in FSUM (plain). Only the first level is squared.""",
    OpKind.SOFTMAX: """Softmax over rows of n (``rk_softmax``): attrs ``rows, n``.
    ``m = MAX(X[r,0], C(-inf)); m = MAX(X[r,j], m)`` j ascending; ``m = NINF_TO_ZERO(m)``;
    ``t_j = SUB(X[r,j], m); x_j = EXP(t_j)`` for every j; ``s = ADD(C(0), x_0); s = ADD(s, x_j)``
    ascending; ``y = DIV(x_j', s)`` for the element's j'. About 4n steps.""",
    OpKind.SOFTMAX_BWD: """Softmax backward (``rk_softmax_backward``): attrs ``rows, n``;
    slots y, dy ``[rows, n]``. ``p_j = MUL(dy[r,j], y[r,j])`` for every j first (steps
    0..n-1), then ``s = ADD(s, p_j)`` j ascending from 0; ``d = SUB(dy[r,j'], s);
    out = MUL(y[r,j'], d)``. 2n + 2 steps.""",
    OpKind.LOGSOFTMAX: """Log-softmax (``rk_logsoftmax``): as SOFTMAX up to s; then
    ``l = LOG(s); t = SUB(X[r,j'], m); out = SUB(t, l)``.""",
    OpKind.LOGSOFTMAX_BWD: """Log-softmax backward: slots y, dy. ``s = ADD(s, dy[r,j])``
    ascending from 0; ``x = EXP(y[r,j']); p = MUL(x, s); out = SUB(dy[r,j'], p)``.""",
    OpKind.LN_MEAN: """Layer-norm mean (``rk_layernorm``): attrs ``rows, n``; slot x.
    ``s = ADD(s, x[r,j])`` ascending from 0; ``out = DIV(s, C(float(n)))``. Output ``[rows]``.""",
    OpKind.LN_RSTD: """Layer-norm 1/std: attrs ``rows, n, epsBits``; slots x, mean.
    ``d_j = SUB(x[r,j], mean[r]); q_j = MUL(d_j, d_j)`` for every j first (steps 2j, 2j+1),
    then ``v = ADD(v, q_j)`` ascending from 0; ``a = DIV(v, C(n)); b = ADD(a, C(eps));
    c = SQRT(b); out = DIV(C(1), c)``. 3n + 4 steps.""",
    OpKind.LN_OUT: """Layer-norm output: attrs ``rows, n, hasWeight``; slots x, mean, rstd
    (``[rows]``), weight, bias ``[n]``. ``d = SUB(x[r,j], mean[r]); h = MUL(d, rstd[r]);
    t = MUL(h, w[j]); out = ADD(t, b[j])`` (hasWeight is 1: layer norms without a weight and
    bias are not traced).""",
    OpKind.LN_BWD_DX: """Layer-norm input gradient: attrs ``rows, n, hasWeight``; slots x, w,
    mean, rstd, dy. For j ascending: ``g = MUL(dy[r,j], w[j])`` (hasWeight is 1),
    ``d = SUB(x[r,j], mean[r]); h = MUL(d, rstd[r]); s1 = ADD(s1, g); p = MUL(g, h);
    s2 = ADD(s2, p)``; then ``m1 = DIV(s1, C(n)); m2 = DIV(s2, C(n))``; for the element's j':
    g, h again, ``a = SUB(g, m1); b = MUL(h, m2); c = SUB(a, b); out = MUL(c, rstd[r])``.""",
    OpKind.LN_BWD_DW: """Layer-norm weight gradient: attrs ``rows, n``; slots x, mean, rstd,
    dy; output ``[n]``. For i ascending over rows first: ``d = SUB(x[i,j], mean[i]);
    h = MUL(d, rstd[i]); p_i = MUL(dy[i,j], h)`` (steps 3i..3i+2); then ``acc = ADD(acc, p_i)``
    i ascending from ``acc = 0``. 4 rows steps.""",
    OpKind.LN_BWD_DB: """Layer-norm bias gradient: attrs ``rows, n``; slot dy; output ``[n]``:
    ``acc = ADD(acc, dy[i,j])`` for i ascending from 0.""",
    OpKind.GELU: """``out = GELU(X[e])`` (one step: the kernels' erf-GELU element).""",
    OpKind.GELU_BWD: """GELU backward (``rk_gelu_backward``); slots x, dy. ``v = X[e]``:
    ``a = MUL(v, C(0.70710678)); f = ERF(a); b = ADD(C(1), f); cdf = MUL(C(0.5), b);
    q = MUL(v, v); z = MUL(C(-0.5), q); x = EXP(z); pdf = MUL(x, C(0.39894228));
    u = MUL(v, pdf); w = ADD(cdf, u); out = MUL(dy[e], w)``.""",
    OpKind.EXP: """``out = EXP(X[e])`` (the kernels' exp).""",
    OpKind.LOG: """``out = LOG(X[e])`` (the kernels' log).""",
    OpKind.ADD: """``out = ADD(X0[e], X1[e])``; a scalar operand is a ``Const`` slot or an
    expanded view (stride 0). attrs: none (shapes broadcast through the index maps).""",
    OpKind.SUB: """``out = SUB(X0[e], X1[e])`` (``rsub`` has its slots swapped).""",
    OpKind.MUL: """``out = MUL(X0[e], X1[e])``.""",
    OpKind.DIV: """``out = DIV(X0[e], X1[e])``.""",
    OpKind.NEG: """``out = NEG(X0[e])``.""",
    OpKind.RSQRT: """``torch.rsqrt``: ``a = SQRT(X0[e]); out = DIV(C(1), a)``.""",
    OpKind.MAX: """``clamp_min``: ``out = MAX(X0[e], X1[e])`` (X1 the bound).""",
    OpKind.CUBE: """``pow(x, 3)``: ``a = MUL(X0[e], X0[e]); out = MUL(a, X0[e])``.""",
    OpKind.CLAMP_MIN_BWD: """``where(x >= min, g, 0)``: slots x, min, g:
    ``out = SEL_GE(X0[e], X1[e], X2[e])``.""",
    OpKind.EMBED_BWD: """Embedding gradient (``embedding_dense_backward``): attrs ``V, H,
    nPos, paddingIdx`` (row paddingIdx stays +0; -1: none); slots ids ``[nPos]``, grad
    ``[nPos, H]``; output ``[V, H]``. ``v, c = divmod(e, H)``;
    ``acc = ADD(acc, grad[p, c])`` from ``acc = 0`` for every position p ascending with
    ``ids[p] == v`` (none, or v == paddingIdx: ``MOV(C(0))``). The positions are data: the
    game proves each from the ids.""",
    OpKind.CLIP_COEF: """The clip coefficient as ``clip_grad_norm_`` computes it in binary64:
    attrs ``clipBits64``; slot 0 the total of squares ``[1]``. ``t = TO_F64(X[0]);
    n = SQRT_F64(t); d = ADD_F64(n, C64(1e-6)); q = DIV_F64(C64(clip), d);
    m = MIN_F64(q, C64(1.0)); out = TO_F32(m)``. Output ``[1]``; when out is 1 the gradients
    are used as they are, which is bit-identical to scaling by 1.""",
    OpKind.ADAMW_P: """AdamW parameter (``rk_adamw``): slots p, m, v, g, then scalars decay,
    b1, omb1, b2, omb2, stepSize, bc2Sqrt, eps (``SCALAR`` slots ``[1]``).
    ``p1 = MUL(p, decay); a = MUL(m, b1); b = MUL(g, omb1); m1 = ADD(a, b); c = MUL(v, b2);
    q = MUL(g, g); d = MUL(q, omb2); v1 = ADD(c, d); r = SQRT(v1); f = DIV(r, bc2Sqrt);
    den = ADD(f, eps); u = DIV(m1, den); w = MUL(stepSize, u); out = SUB(p1, w)``.""",
    OpKind.ADAMW_M: """AdamW first moment: slots as ADAMW_P. ``a = MUL(m, b1);
    b = MUL(g, omb1); out = ADD(a, b)``.""",
    OpKind.ADAMW_V: """AdamW second moment: ``c = MUL(v, b2); q = MUL(g, g);
    d = MUL(q, omb2); out = ADD(c, d)``.""",
    OpKind.COPY: """A materialised copy the index maps cannot fold: ``out = MOV(X0[e])``.""",
    OpKind.STACK: """One-element inputs stacked (the clip's per-gradient sums): slot k is a
    one-element tensor; ``out = MOV(X_e[0])``.""",
    OpKind.PAD: """Zero padding at the end (the repcpu blocked sums): attrs ``n``; slot 0
    ``[n]``: ``out = MOV(X0[e])`` for e < n, else ``MOV(C(0))``.""",
}


def program_doc(kind: OpKind) -> str:
    """The element program of ``kind`` in words (the module doc gives the notation)."""
    return _DOCS[kind]


for _k in OpKind:  # every kind documents its program
    if _k not in _DOCS:
        raise RuntimeError(f"op kind {_k.name} has no program doc")
