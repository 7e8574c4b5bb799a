"""The repfma family against an independent exact reference: every fma is the correctly
rounded binary32 result of the exact a*b + c (Python fractions, rounded to nearest-even by
integer arithmetic), every GEMM element is the documented sequence ``acc = fma(a[k], b[k], acc)``
for k ascending then ``+ bias``, every blocked sum the documented 16-lane order; and each holds
for every build (hardware FMA in avx2/avx512, the software fma in sse) and thread count."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np
import pytest
import torch

from prover.kernels import _lib, ops
from prover.kernels.family import Family

_LEVELS = ["sse", "avx2", "avx512"]
RUNNABLE = _LEVELS[: _LEVELS.index(_lib.cpu_level(Family.REPFMA)) + 1]
SETTINGS = [(isa, t) for isa in RUNNABLE for t in (1, 2, 3)]


@pytest.fixture(autouse=True)
def repfma():
    _lib.use_family(Family.REPFMA)
    yield
    _lib.use_family(Family.REPCPU)


def round_binary32(v: Fraction, zero_negative: bool = False) -> float:
    """The binary32 value nearest to ``v`` (ties to even; overflow to inf), as a Python float."""
    if v == 0:
        return -0.0 if zero_negative else 0.0
    sign = -1.0 if v < 0 else 1.0
    v = abs(v)
    e = v.numerator.bit_length() - v.denominator.bit_length()  # 2^e <= v < 2^(e+2)
    if v >= Fraction(2) ** (e + 1):
        e += 1
    elif v < Fraction(2) ** e:
        e -= 1
    quantum = Fraction(2) ** (max(e, -126) - 23)  # spacing of binary32 around v
    n = round(v / quantum)  # Fraction.__round__: ties to even
    r = n * quantum
    if r >= Fraction(2) ** 128:
        return sign * math.inf
    return sign * float(r)


def exact_fma(a: float, b: float, c: float) -> float:
    """fma(a, b, c) of finite binary32 values, computed exactly then rounded once."""
    p = Fraction(a) * Fraction(b)
    neg_zero = math.copysign(1.0, a) * math.copysign(1.0, b) < 0 and math.copysign(1.0, c) < 0
    return round_binary32(p + Fraction(c), zero_negative=neg_zero and p == 0 and c == 0)


def _f32(values: list[float]) -> np.ndarray:
    return np.array(values, dtype=np.float32)


def _fma_cases(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random operands, cancellations, subnormals, overflow, signed zeros, and sums that sit
    just beside a binary32 rounding midpoint (where rounding twice through double goes wrong)."""
    rng = random.Random(seed)
    a, b, c = [], [], []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            x, y, z = (rng.uniform(-4, 4) for _ in range(3))
        elif kind == 1:  # wide exponents, subnormal and huge products
            x, y, z = (rng.uniform(-1, 1) * 2.0 ** rng.randint(-140, 120) for _ in range(3))
        elif kind == 2:  # c = -round(a*b): the result is a*b's rounding error
            x, y = rng.uniform(-2, 2), rng.uniform(-2, 2)
            z = -float(np.float32(np.float32(x) * np.float32(y)))
        elif kind == 3:  # a*b just below or above half an ulp of c
            z = float(np.float32(rng.uniform(1, 2) * 2.0 ** rng.randint(-20, 20)))
            half_ulp = float(np.spacing(np.float32(z))) / 2
            k = rng.randint(1, 1 << 10)
            x, y = half_ulp * (1 + k * 2.0 ** -23), (1 - k * 2.0 ** -23) * rng.choice([1, -1])
        else:
            x, y, z = rng.choice([(0.0, -1.0, -0.0), (-0.0, 0.0, -0.0), (0.0, 0.0, -0.0),
                                  (3e38, 2.0, -3e38), (1e-45, 0.5, 0.0), (1e-30, 1e-30, 0.0)])
        a.append(x), b.append(y), c.append(z)
    return _f32(a), _f32(b), _f32(c)


@pytest.mark.parametrize("software", [False, True])
def test_fma_buf_equals_the_exact_rounding_succeeds(force, software):
    a, b, c = _fma_cases(3000, seed=11)
    want = _f32([exact_fma(float(x), float(y), float(z)) for x, y, z in zip(a, b, c, strict=True)])
    for isa in RUNNABLE:
        force(isa, 1)
        got = torch.empty(len(a))
        ta, tb, tc = (torch.from_numpy(t) for t in (a, b, c))
        _lib.load().rk_fma_buf(len(a), ta.data_ptr(), tb.data_ptr(), tc.data_ptr(),
                               got.data_ptr(), int(software))
        assert got.numpy().tobytes() == want.tobytes(), (isa, software)


def test_fma_buf_passes_infinities_and_nans_through_succeeds(force):
    inf, nan = math.inf, math.nan
    a, b, c = (torch.tensor(v, dtype=torch.float32) for v in
               ([inf, 0.0, 1.0, nan, 3e38], [1.0, inf, 1.0, 1.0, 3e38], [1.0, 1.0, -inf, 0.0, 0.0]))
    for software in (0, 1):
        got = torch.empty(5)
        _lib.load().rk_fma_buf(5, a.data_ptr(), b.data_ptr(), c.data_ptr(), got.data_ptr(),
                               software)
        assert got[0] == inf and math.isnan(got[1]) and got[2] == -inf and math.isnan(got[3])
        assert got[4] == inf


def _gemm_reference(a: np.ndarray, b: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    m, k = a.shape
    n = b.shape[1]
    out = np.empty((m, n), dtype=np.float32)
    for i in range(m):
        for j in range(n):
            acc = 0.0
            for kk in range(k):
                acc = exact_fma(float(a[i, kk]), float(b[kk, j]), acc)
            out[i, j] = np.float32(acc) + bias[j] if bias is not None else acc
    return out


@pytest.mark.parametrize(("m", "k", "n"), [(3, 5, 2), (13, 300, 35)])
def test_gemm_is_the_documented_fma_sequence_succeeds(force, m, k, n):
    # 13 rows and 35 columns straddle every build's register tile; k = 300 a K block
    gen = torch.Generator().manual_seed(m + k + n)
    a = torch.randn(m, k, generator=gen)
    w = torch.randn(n, k, generator=gen)  # read transposed, as linear layers do
    bias = torch.randn(n, generator=gen)
    want = _gemm_reference(a.numpy(), w.t().numpy(), bias.numpy())
    plain = _gemm_reference(a.numpy(), w.t().numpy(), None)
    for isa, threads in SETTINGS:
        force(isa, threads)
        assert ops.gemm(a, w.t(), bias).numpy().tobytes() == want.tobytes(), (isa, threads)
        assert ops.gemm(a, w.t()).numpy().tobytes() == plain.tobytes(), (isa, threads)


@pytest.mark.parametrize(("k", "n"), [(5, 2), (300, 301)])
def test_gemm_one_row_is_the_documented_fma_sequence_succeeds(force, k, n):
    # one row times a row-major matrix (the bias gradients' sum_rows): the vector path, whose
    # column units and tail (n = 301: 18 avx512 vectors and 13 columns) must not change a bit
    gen = torch.Generator().manual_seed(k + n)
    a = torch.randn(1, k, generator=gen)
    b = torch.randn(k, n, generator=gen)
    bias = torch.randn(n, generator=gen)
    want = _gemm_reference(a.numpy(), b.numpy(), bias.numpy())
    plain = _gemm_reference(a.numpy(), b.numpy(), None)
    for isa, threads in SETTINGS:
        force(isa, threads)
        assert ops.gemm(a, b, bias).numpy().tobytes() == want.tobytes(), (isa, threads)
        assert ops.gemm(a, b).numpy().tobytes() == plain.tobytes(), (isa, threads)


def _fsum_reference(x: np.ndarray, square: bool) -> np.float32:
    """The blocked 16-lane order of rk_fsum, one float32 operation at a time."""
    block, lanes = 4096, 16
    if x.size > block:
        parts = [_fsum_reference(x[i:i + block], square) for i in range(0, x.size, block)]
        return _fsum_reference(np.array(parts, dtype=np.float32), False)
    s = [np.float32(0.0)] * lanes
    for j, v in enumerate(x):
        s[j % lanes] = np.float32(exact_fma(float(v), float(v), float(s[j % lanes]))) if square \
            else np.float32(s[j % lanes] + v)
    r = s[0]
    for v in s[1:]:
        r = np.float32(r + v)
    return r


@pytest.mark.parametrize("n", [1, 15, 17, 4096, 4097, 9000])
def test_fsum_is_the_documented_blocked_order_succeeds(force, n):
    gen = torch.Generator().manual_seed(n)
    x = torch.randn(2, n, generator=gen) * 3
    want = [np.array([_fsum_reference(r, sq) for r in x.numpy()], dtype=np.float32)
            for sq in (False, True)]
    for isa, threads in SETTINGS:
        force(isa, threads)
        for sq, w in zip((False, True), want, strict=True):
            assert ops.fsum(x, square=sq).numpy().tobytes() == w.tobytes(), (isa, threads, sq)
    torch.testing.assert_close(ops.fsum(x), x.double().sum(-1).float(), rtol=1e-5, atol=1e-4)


def test_gemm_rounds_once_per_step_where_repkern_rounds_twice_succeeds():
    # acc = -1, then acc + (1 + 2^-12)^2 = 2^-11 + 2^-24 exactly: one rounding (fma) keeps
    # the 2^-24; rounding the product first (repkern) loses it (1 + 2^-11 + 2^-24 is a tie)
    a = torch.tensor([[-1.0, 1.0 + 2.0 ** -12]])
    b = torch.tensor([[1.0], [1.0 + 2.0 ** -12]])
    assert ops.gemm(a, b).item() == 2.0 ** -11 + 2.0 ** -24
    _lib.use_family(Family.REPCPU)
    assert ops.gemm(a, b).item() == 2.0 ** -11
