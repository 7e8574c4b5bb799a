"""NaN inputs give the same NaN bits in every build, family and thread count, and those bits are
what the C source's operation order gives under x86 SSE rules (the first NaN operand of an
instruction, quieted; an invalid operation on numbers gives 0xFFC00000), the rules the referee
replays (contracts/src/libraries/Float32Math.sol). A vectorizing compiler may swap the operands
of a commutative add or multiply, so without the kernels' explicit NaN selects the avx2 and
avx512 builds returned other NaNs (erf: the sign of x instead of +; GELU: erf's NaN instead of
v's)."""

from __future__ import annotations

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
