"""NaN inputs give the same NaN bits in every build, family and thread count, and those bits are
what the C source's operation order gives under x86 SSE rules (the first NaN operand of an
instruction, quieted; an invalid operation on numbers gives 0xFFC00000), the rules the referee
replays (contracts/src/libraries/Float32Math.sol). A vectorizing compiler may swap the operands
of a commutative add or multiply, so without the kernels' explicit NaN selects the avx2 and
avx512 builds returned other NaNs (erf: the sign of x instead of +; GELU: erf's NaN instead of
v's)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from prover.kernels import _lib, ops
from prover.kernels.family import Family

_LEVELS = ["sse", "avx2", "avx512"]
RUNNABLE = _LEVELS[: _LEVELS.index(_lib.cpu_level(Family.REPFMA)) + 1]
SETTINGS = [(isa, t) for isa in RUNNABLE for t in (1, 3)]
QUIET, SIGN, ABS = np.uint32(0x00400000), np.uint32(0x80000000), np.uint32(0x7FFFFFFF)
DEFAULT_NAN = 0xFFC00000
N = 5003  # not a multiple of any vector width or block: scalar tails run too


def _nans(rng: np.random.Generator, n: int) -> np.ndarray:
    """NaN bit patterns: both signs, quiet and signalling, random payloads (never inf)."""
    sign = rng.integers(0, 2, n).astype(np.uint32) << 31
    return sign | np.uint32(0x7F800000) | rng.integers(1, 1 << 23, n).astype(np.uint32)


def _inputs() -> tuple[np.ndarray, np.ndarray]:
    """x: NaNs, infinities, zeros, ordinary numbers and 40% NaNs; dy: a third NaNs."""
    rng = np.random.default_rng(16)
    x = rng.standard_normal(N).astype(np.float32).view(np.uint32)
    x[:8] = [0x7F800000, 0xFF800000, 0, 0x80000000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001]
    pick = rng.random(N) < 0.4
    x[pick] = _nans(rng, int(pick.sum()))
    dy = (rng.standard_normal(N).astype(np.float32) * 3).view(np.uint32)
    pick = rng.random(N) < 0.33
    dy[pick] = _nans(rng, int(pick.sum()))
    return x, dy


def _is_nan(u: np.ndarray) -> np.ndarray:
    return (u & ABS) > 0x7F800000


def _t(u: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(u.copy().view(np.float32))


def _bits(t: torch.Tensor) -> np.ndarray:
    return t.numpy().view(np.uint32).copy()


def _run_all(x: np.ndarray, dy: np.ndarray) -> dict[str, np.ndarray]:
    tx, tdy = _t(x), _t(dy)
    return {"exp": _bits(ops.exp(tx)), "log": _bits(ops.log(tx)), "erf": _bits(ops.erf(tx)),
            "gelu": _bits(ops.gelu(tx)), "gelu_backward": _bits(ops.gelu_backward(tx, tdy)),
            "softmax": _bits(ops.softmax(tx.reshape(-1, 1)).reshape(-1)),
            "log_softmax": _bits(ops.log_softmax(tx.reshape(-1, 1)).reshape(-1))}


def _sse_rule(name: str, x: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(where x or dy is a NaN, the bits the source order gives there under SSE rules)."""
    nx, ndy = _is_nan(x), _is_nan(dy)
    if name in ("exp", "log"):  # `return x != x ? x : y`: a select, not an operation
        return nx, x
    if name == "erf":  # 0.3275911f * ax comes first: the quieted |x|
        return nx, (x & ABS) | QUIET
    if name == "gelu":  # (0.5f * v) * (...): v's NaN, quieted
        return nx, x | QUIET
    if name == "gelu_backward":  # dy * (cdf + v * pdf): dy's NaN, else cdf's (|x| quieted)
        return nx | ndy, np.where(ndy, dy | QUIET, (x & ABS) | QUIET)
    # one-element rows: softmax y = exp(x - m) / s; log-softmax (x - m) - log(s): x's NaN
    # (max() skips NaNs, so m = 0), quieted
    return nx, x | QUIET


@pytest.mark.parametrize(("isa", "threads"), SETTINGS)
def test_nan_inputs_follow_sse_source_order_succeeds(force, each_family, isa, threads):
    force(isa, threads)
    x, dy = _inputs()
    for name, got in _run_all(x, dy).items():
        where, want = _sse_rule(name, x, dy)
        bad = np.nonzero(where & (got != want))[0]
        assert bad.size == 0, (f"{name} ({each_family.value} {isa}, {threads} threads): x="
                               f"{x[bad[0]]:#010x} dy={dy[bad[0]]:#010x} gives {got[bad[0]]:#010x}"
                               f", SSE source order gives {want[bad[0]]:#010x}")


def test_nan_bits_agree_across_builds_and_threads_succeeds(force, each_family):
    """Every output, NaN or not (the default NaNs of invalid operations too), in every build."""
    x, dy = _inputs()
    force("sse", 1)
    want = _run_all(x, dy)
    assert (want["gelu"][1] == DEFAULT_NAN)  # GELU(-inf) = -inf * 0: an invalid operation
    for isa, threads in SETTINGS:
        force(isa, threads)
        for name, got in _run_all(x, dy).items():
            assert np.array_equal(got, want[name]), f"{name}: {isa} {threads} threads vs sse"


def _adamw(p: np.ndarray, m: np.ndarray, v: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
    tp, tm, tv = _t(p), _t(m), _t(v)
    ops.adamw_(tp, tm, tv, _t(g), decay=0.999, beta1=0.9, beta2=0.999, step_size=1e-3,
               bc2_sqrt=0.03, eps=1e-8)
    return [_bits(tp), _bits(tm), _bits(tv)]


def test_adamw_nan_bits_follow_sse_source_order_in_every_build_succeeds(force, each_family):
    """p, m, v take their own NaN first, else the gradient's; p then m's, then v's."""
    rng = np.random.default_rng(17)
    p, m, v, g = (rng.standard_normal(N).astype(np.float32).view(np.uint32) for _ in range(4))
    v &= ABS  # second moments are never negative
    for arr in (p, m, v, g):
        pick = rng.random(N) < 0.2
        arr[pick] = _nans(rng, int(pick.sum()))
    q = {name: arr | QUIET for name, arr in (("p", p), ("m", m), ("v", v), ("g", g))}
    want_m = np.where(_is_nan(m), q["m"], q["g"])
    want_v = np.where(_is_nan(v), q["v"], q["g"])
    nm, nv = _is_nan(m) | _is_nan(g), _is_nan(v) | _is_nan(g)
    want_p = np.where(_is_nan(p), q["p"], np.where(nm, want_m, want_v))
    force("sse", 1)
    first = _adamw(p, m, v, g)
    for isa, threads in SETTINGS:
        force(isa, threads)
        got = _adamw(p, m, v, g)
        for name, out, ref, where, want in (("p", got[0], first[0], _is_nan(p) | nm | nv, want_p),
                                            ("m", got[1], first[1], nm, want_m),
                                            ("v", got[2], first[2], nv, want_v)):
            assert np.array_equal(out, ref), f"adamw {name}: {isa} {threads} threads vs sse"
            bad = np.nonzero(where & (out != want))[0]
            assert bad.size == 0, f"adamw {name} ({isa}, {threads}): index {bad[0]}"


def _nan_or(bits: int, other: int) -> int:
    """`x op y` under SSE rules when x (bits) or y (other) is a NaN: the first NaN, quieted."""
    for u in (bits, other):
        if (u & 0x7FFFFFFF) > 0x7F800000:
            return u | 0x00400000
    raise ValueError("no NaN operand")


def _f(u: int) -> np.float32:
    return np.array([u], dtype=np.uint32).view(np.float32)[0]


def _u(x: float) -> int:
    v = np.float32(x)
    return DEFAULT_NAN if np.isnan(v) else int(np.array([v]).view(np.uint32)[0])


def _gemm_element(a: np.ndarray, b: np.ndarray, bias: int | None, fma: bool) -> int:
    """One element's source order under SSE rules: repfma fma(a, b, acc) (a's NaN, b's, acc's),
    repkern acc + a * b (acc's, a's, b's); then acc + bias. Numbers in float64 (no overflow with
    these inputs): only which NaN comes out matters here."""
    nan = lambda u: (u & 0x7FFFFFFF) > 0x7F800000  # noqa: E731
    acc = 0
    with np.errstate(all="ignore"):
        for x, y in zip(a.tolist(), b.tolist(), strict=True):
            if fma:
                if nan(x) or nan(y):
                    acc = _nan_or(x, y)
                elif not nan(acc):
                    acc = _u(np.float64(_f(x)) * np.float64(_f(y)) + np.float64(_f(acc)))
            else:
                p = _nan_or(x, y) if nan(x) or nan(y) else _u(_f(x) * _f(y))
                acc = _nan_or(acc, p) if nan(acc) or nan(p) else _u(_f(acc) + _f(p))
        if bias is not None:
            acc = _nan_or(acc, bias) if nan(acc) or nan(bias) else _u(_f(acc) + _f(bias))
    return acc


@pytest.mark.parametrize(("m", "k", "n"), [(29, 70, 41), (1, 70, 301)])
def test_gemm_nan_bits_follow_sse_source_order_in_every_build_succeeds(force, each_family, m, k,
                                                                         n):
    """NaNs and infinities planted in A, B and the bias (so invalid operations occur too); one
    row (m = 1, B row-major) runs the vector-times-matrix path."""
    rng = np.random.default_rng(18 + m)
    a, b = (rng.standard_normal(s).astype(np.float32).view(np.uint32) for s in ((m, k), (k, n)))
    bias = rng.standard_normal(n).astype(np.float32).view(np.uint32)
    for arr, frac in ((a, 0.01), (b, 0.01), (bias, 0.1)):
        pick = rng.random(arr.shape) < frac
        arr[pick] = _nans(rng, int(pick.sum()))
        pick = rng.random(arr.shape) < frac / 2
        arr[pick] = np.where(rng.random(int(pick.sum())) < 0.5, 0x7F800000, 0xFF800000)
    b[3, :] = 0  # inf * 0 where a row of A has an infinity: invalid operations
    fma = each_family is Family.REPFMA
    force("sse", 1)
    first = _bits(ops.gemm(_t(a), _t(b), _t(bias)))
    where = np.argwhere(_is_nan(first))
    assert len(where) > 20
    for i, j in where:
        want = _gemm_element(a[i], b[:, j], int(bias[j]), fma)
        assert first[i, j] == want, (i, j, hex(int(first[i, j])), hex(want))
    for isa, threads in SETTINGS:
        force(isa, threads)
        got = _bits(ops.gemm(_t(a), _t(b), _t(bias)))
        assert np.array_equal(got, first), f"gemm: {isa} {threads} threads vs sse"


def _block_sum(xs: list[int], square: bool, fma: bool) -> int:
    """The documented 16-lane block sum, NaN rules explicit (see _gemm_element)."""
    nan = lambda u: (u & 0x7FFFFFFF) > 0x7F800000  # noqa: E731
    lanes = [0] * 16
    with np.errstate(all="ignore"):
        for j, e in enumerate(xs):
            s = lanes[j % 16]
            if square and fma:  # fma(e, e, s): e's NaN, else s's
                lanes[j % 16] = (_nan_or(e, s) if nan(e) or nan(s)
                                 else _u(np.float64(_f(e)) ** 2 + np.float64(_f(s))))
            else:
                q = (_nan_or(e, e) if nan(e) else _u(_f(e) * _f(e))) if square else e
                lanes[j % 16] = _nan_or(s, q) if nan(s) or nan(q) else _u(_f(s) + _f(q))
        r = lanes[0]
        for s in lanes[1:]:
            r = _nan_or(r, s) if nan(r) or nan(s) else _u(_f(r) + _f(s))
    return r


@pytest.mark.parametrize("square", [False, True])
def test_fsum_nan_bits_follow_sse_source_order_in_every_build_succeeds(force, each_family, square):
    """Rows of 5000 (two blocks of 4096: the block sums are summed again) and of 37."""
    rng = np.random.default_rng(19)
    fma = each_family is Family.REPFMA
    for rows, n in ((6, 5000), (40, 37)):
        x = rng.standard_normal((rows, n)).astype(np.float32).view(np.uint32)
        pick = rng.random(x.shape) < 3.0 / n
        x[pick] = _nans(rng, int(pick.sum()))
        force("sse", 1)
        first = _bits(ops.fsum(_t(x), square=square))
        for i in np.nonzero(_is_nan(first))[0]:
            blocks = [x[i, j:j + 4096].tolist() for j in range(0, n, 4096)]
            sums = [_block_sum(b, square, fma) for b in blocks]
            want = sums[0] if len(sums) == 1 else _block_sum(sums, False, fma)
            assert first[i] == want, (rows, n, i, hex(int(first[i])), hex(want))
        assert _is_nan(first).sum() >= rows // 3
        for isa, threads in SETTINGS:
            force(isa, threads)
            got = _bits(ops.fsum(_t(x), square=square))
            assert np.array_equal(got, first), f"fsum: {isa} {threads} threads vs sse"


def _row_backward(y: list[int], dy: list[int], log: bool) -> list[int]:
    """softmax / log-softmax backward of one row in source order, NaN rules explicit."""
    nan = lambda u: (u & 0x7FFFFFFF) > 0x7F800000  # noqa: E731

    def op(x: int, z: int, fn: Callable[[np.float32, np.float32], np.float32]) -> int:
        return _nan_or(x, z) if nan(x) or nan(z) else _u(fn(_f(x), _f(z)))

    with np.errstate(all="ignore"):
        s = 0
        for a, b in zip(y, dy, strict=True):
            s = op(s, b if log else op(b, a, np.multiply), np.add)
        if log:  # dy - exp(y) * s, with exp(NaN y) = y itself
            return [op(b, op(a, s, lambda p, q: np.float32(np.exp(p)) * q), np.subtract)
                    for a, b in zip(y, dy, strict=True)]
        return [op(a, op(b, s, np.subtract), np.multiply) for a, b in zip(y, dy, strict=True)]


@pytest.mark.parametrize("log", [False, True])
def test_row_backward_nan_bits_follow_sse_source_order_in_every_build_succeeds(force,
                                                                               each_family, log):
    rng = np.random.default_rng(20 + log)
    rows, n = 24, 131
    y = (rng.random((rows, n)).astype(np.float32) * (-3 if log else 0.1)).view(np.uint32)
    dy = rng.standard_normal((rows, n)).astype(np.float32).view(np.uint32)
    for arr in (y, dy):
        pick = rng.random(arr.shape) < 1.0 / n
        arr[pick] = _nans(rng, int(pick.sum()))
    fn = ops.log_softmax_backward if log else ops.softmax_backward
    force("sse", 1)
    first = _bits(fn(_t(y), _t(dy)))
    nan_rows = np.nonzero(_is_nan(first).any(axis=1))[0]
    assert len(nan_rows) >= rows // 3
    for i in nan_rows:  # the NaN elements (numbers: exp here is numpy's, not the kernels')
        want = np.array(_row_backward(y[i].tolist(), dy[i].tolist(), log), dtype=np.uint32)
        where = _is_nan(first[i])
        assert np.array_equal(first[i][where], want[where]), i
    for isa, threads in SETTINGS:
        force(isa, threads)
        assert np.array_equal(_bits(fn(_t(y), _t(dy))), first), f"{isa} {threads} threads"


def _op(x: int, z: int, fn: Callable[[np.float32, np.float32], np.float32]) -> int:
    """``fn(x, z)`` on bit patterns, SSE NaN rule first (numbers in numpy float32)."""
    if _is_nan(np.uint32(x)) or _is_nan(np.uint32(z)):
        return _nan_or(x, z)
    with np.errstate(all="ignore"):
        return _u(fn(_f(x), _f(z)))


def _ln_backward_row(x: list[int], dy: list[int], w: list[int], mu: int, rs: int) -> list[int]:
    """dx of one layer-norm row in source order, NaN rules explicit."""
    nf = _u(float(len(x)))
    g = [_op(d, c, np.multiply) for d, c in zip(dy, w, strict=True)]
    h = [_op(_op(v, mu, np.subtract), rs, np.multiply) for v in x]
    s1 = s2 = 0
    for gj, hj in zip(g, h, strict=True):
        s1 = _op(s1, gj, np.add)
        s2 = _op(s2, _op(gj, hj, np.multiply), np.add)
    m1, m2 = _op(s1, nf, np.divide), _op(s2, nf, np.divide)
    return [_op(_op(_op(gj, m1, np.subtract), _op(hj, m2, np.multiply), np.subtract), rs,
                np.multiply) for gj, hj in zip(g, h, strict=True)]


def test_layer_norm_backward_nan_bits_follow_sse_source_order_in_every_build_succeeds(
        force, each_family):
    rng = np.random.default_rng(22)
    rows, n = 20, 77
    x, dy = (rng.standard_normal((rows, n)).astype(np.float32).view(np.uint32) for _ in "ab")
    w = rng.standard_normal(n).astype(np.float32).view(np.uint32)
    for arr in (x, dy, w):
        pick = rng.random(arr.shape) < 0.5 / n
        arr[pick] = _nans(rng, int(pick.sum()))
    force("sse", 1)
    _, mean, rstd = ops.layer_norm(_t(x), _t(w), torch.zeros(n), 1e-5)
    mu, rs = _bits(mean), _bits(rstd)

    def run() -> list[np.ndarray]:
        dx, dw, db = ops.layer_norm_backward(_t(x), _t(w), _t(mu), _t(rs), _t(dy))
        return [_bits(dx), _bits(dw), _bits(db)]

    first = run()
    nan_rows = np.nonzero(_is_nan(first[0]).any(axis=1))[0]
    assert len(nan_rows) >= 3 and _is_nan(first[1]).any()
    for i in nan_rows:
        want = np.array(_ln_backward_row(x[i].tolist(), dy[i].tolist(), w.tolist(), int(mu[i]),
                                         int(rs[i])), dtype=np.uint32)
        where = _is_nan(first[0][i])
        assert np.array_equal(first[0][i][where], want[where]), i
    for isa, threads in SETTINGS:
        force(isa, threads)
        for name, got, ref in zip(("dx", "dw", "db"), run(), first, strict=True):
            assert np.array_equal(got, ref), f"layer norm {name}: {isa} {threads} threads"
