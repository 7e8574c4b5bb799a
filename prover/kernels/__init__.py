"""Reproducible CPU kernels (profile "repcpu-1"): fixed-order GEMM, softmax, layer norm and
GELU in plain C, loaded with ctypes, wrapped in autograd functions, and ``enable(model)`` to
route a BERT-style model through them. Same bits on every x86 CPU, SIMD build and thread count.

Public API::

    from prover import kernels
    kernels.enable(model)            # in place; linear, layer norm, GELU, self-attention
    kernels.linear(x, w, b); kernels.matmul(a, b); kernels.softmax(x)
    kernels.layer_norm(x, w, b, eps); kernels.gelu(x); kernels.sum_last(x)
    kernels.active_isa()             # "sse" | "avx2" | "avx512" (VERITRAIN_KERNELS_ISA)
"""

from __future__ import annotations

from prover.kernels._lib import ENV_ISA, ENV_THREADS, active_isa, cpu_level, threads
from prover.kernels.functions import gelu, layer_norm, linear, matmul, softmax, sum_last
from prover.kernels.patch import enable, is_enabled

__all__ = ["ENV_ISA", "ENV_THREADS", "active_isa", "cpu_level", "enable", "gelu", "is_enabled",
           "layer_norm", "linear", "matmul", "softmax", "sum_last", "threads"]
