"""Reproducible CPU kernels (profiles "repfma-1", "repcpu-1", "repcpu-2"): fixed-order GEMM,
softmax, layer norm, GELU and sums in plain C, loaded with ctypes, wrapped in autograd
functions, and ``enable(model)`` to route a BERT-style model through them. Two families from
one source: ``repfma`` (GEMM steps are IEEE fused multiply-adds) and ``repkern`` (no FMA); each
gives the same bits on every x86 CPU, SIMD build and thread count.

Public API::

    from prover import kernels
    kernels.enable(model)            # in place; linear, layer norm, GELU, self-attention
    kernels.linear(x, w, b); kernels.matmul(a, b); kernels.softmax(x)
    kernels.layer_norm(x, w, b, eps); kernels.gelu(x); kernels.sum_last(x)
    kernels.log_softmax(x)           # fixed exp and log
    kernels.kd_loss(spec, h_s, h_t, fixed); kernels.clip_grad_norm_(grads, clip)
    kernels.adamw_step(optimizer)    # AdamW update on torch.optim.AdamW's own state
    kernels.active_isa()             # "sse" | "avx2" | "avx512" (VERITRAIN_KERNELS_ISA)
    kernels.use_family(Family.REPFMA)  # which family later calls use (the profile sets it)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Lazy: `python -m prover.kernels.build` and `rawcheck` must not import torch.
_EXPORTS = {
    "ENV_ISA": "_lib", "ENV_THREADS": "_lib", "active_isa": "_lib", "cpu_level": "_lib",
    "threads": "_lib", "gelu": "functions", "layer_norm": "functions", "linear": "functions",
    "matmul": "functions", "softmax": "functions", "log_softmax": "functions",
    "sum_last": "functions", "enable": "patch",
    "is_enabled": "patch", "kd_loss": "training", "clip_grad_norm_": "training",
    "adamw_step": "training", "use_family": "_lib", "Family": "family",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"prover.kernels.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'prover.kernels' has no attribute {name!r}")
