"""GEMMs large enough to be cut into many output tiles (M and N several tiles wide, with the
tiles of equal size the threads share, K over a K block) are still every element's documented
sequence ``acc = fma(a[k], b[k], acc)``, k ascending, then ``+ bias``, in every build and at
threads 1, 2 and 3. The reference steps all elements at once through the library's software
fma (``rk_fma_buf`` with ``sw``), which test_kernels_fma checks against exact rationals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from prover.kernels import _lib, ops
from prover.kernels.family import Family

_LEVELS = ["sse", "avx2", "avx512"]
RUNNABLE = _LEVELS[: _LEVELS.index(_lib.cpu_level(Family.REPFMA)) + 1]


@pytest.fixture(autouse=True)
def repfma():
    _lib.use_family(Family.REPFMA)
    yield
    _lib.use_family(Family.REPCPU)


def _fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Elementwise fma, correctly rounded (the software path of the sse build)."""
    a, b, c = (np.ascontiguousarray(x, dtype=np.float32) for x in (a, b, c))
    out = np.empty_like(c)
    _lib.load("sse").rk_fma_buf(c.size, a.ctypes.data, b.ctypes.data, c.ctypes.data,
                                out.ctypes.data, 1)
    return out


def _reference(a: np.ndarray, b: np.ndarray, bias: np.ndarray) -> np.ndarray:
    m, k = a.shape
    n = b.shape[1]
    acc = np.zeros((m, n), dtype=np.float32)
    for kk in range(k):
        acc = _fma(np.repeat(a[:, kk:kk + 1], n, 1), np.repeat(b[kk:kk + 1, :], m, 0), acc)
    return acc + bias  # one rounded float32 add per element


@pytest.mark.parametrize(("m", "k", "n"), [(401, 300, 555), (130, 70, 384), (1, 40, 1000)])
def test_tiled_gemm_is_the_documented_fma_sequence_succeeds(force, m, k, n):
    # 401 x 555: several row and column tiles of every build, none a whole multiple of a
    # register tile; N = 384: the two equal column tiles of the BERT projections; 1 x 1000: one
    # row (the bias-gradient GEMM's shape)
    gen = torch.Generator().manual_seed(m * n + k)
    a = torch.randn(m, k, generator=gen)
    w = torch.randn(n, k, generator=gen)  # read transposed, as linear layers do
    bias = torch.randn(n, generator=gen)
    want = _reference(a.numpy(), w.t().numpy(), bias.numpy())
    for isa in RUNNABLE:
        for threads in (1, 2, 3):
            force(isa, threads)
            got = ops.gemm(a, w.t(), bias).numpy()
            assert got.tobytes() == want.tobytes(), (isa, threads)
