"""Autograd functions over the fixed-order kernels: linear, batched matmul, softmax,
layer norm and GELU. Forward and every backward product go through ``ops``, so the whole
graph of a routed layer has one fixed reduction order, whatever the CPU or thread count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from prover.kernels import _lib, ops
from prover.kernels.family import Family


def _f32(t: torch.Tensor) -> torch.Tensor:
    return t if t.dtype == torch.float32 else t.float()


class LinearFn(torch.autograd.Function):
    """``y = x @ w.T + b`` with w ``[N, K]``; grads: dx = dy @ w, dw = dy.T @ x,
    db = sum_rows dy."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor,
                bias: torch.Tensor | None) -> torch.Tensor:
        k = x.shape[-1]
        x2 = x.reshape(-1, k)
        ctx.save_for_backward(x2, weight)
        ctx.has_bias = bias is not None
        ctx.in_shape = x.shape
        y = ops.gemm(x2, weight.t(), bias)
        return y.reshape(*x.shape[:-1], weight.shape[0])

    @staticmethod
    def backward(ctx: Any, dy: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x2, weight = ctx.saved_tensors
        dy2 = _f32(dy).reshape(-1, weight.shape[0])
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dx = ops.gemm(dy2, weight).reshape(ctx.in_shape)
        if ctx.needs_input_grad[1]:
            dw = ops.gemm(dy2.t(), x2)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            db = ops.sum_rows(dy2)
        return dx, dw, db


class MatmulFn(torch.autograd.Function):
    """``a @ b`` for equal batch dims (attention scores and context); grads by the same GEMM."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        return ops.gemm(a, b)

    @staticmethod
    def backward(ctx: Any, dy: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        a, b = ctx.saved_tensors
        dy = _f32(dy)
        da = ops.gemm(dy, b.transpose(-1, -2)) if ctx.needs_input_grad[0] else None
        db = ops.gemm(a.transpose(-1, -2), dy) if ctx.needs_input_grad[1] else None
        return da, db


def _from_output(fwd: Callable[[torch.Tensor], torch.Tensor],
                 bwd: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 doc: str) -> type[torch.autograd.Function]:
    """An autograd function of one tensor whose backward needs only its output ``y = fwd(x)``:
    ``dx = bwd(y, dy)`` (softmax and log-softmax)."""

    class _Fn(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
            y = fwd(x)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx: Any, dy: torch.Tensor) -> torch.Tensor:
            (y,) = ctx.saved_tensors
            return bwd(y, _f32(dy))

    _Fn.__doc__ = doc
    return _Fn


# the kernels are looked up at call time (a step trace taps them: prover.trace.taps)
SoftmaxFn = _from_output(lambda x: ops.softmax(x), lambda y, dy: ops.softmax_backward(y, dy),
                         "Softmax over the last dim with a fixed-polynomial exp and ascending "
                         "sums.")


class LayerNormFn(torch.autograd.Function):
    """LayerNorm over the last dim; mean, variance and both weight grads in ascending order."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None,
                eps: float) -> torch.Tensor:
        y, mean, rstd = ops.layer_norm(x, weight, bias, eps)
        ctx.save_for_backward(x, weight, mean, rstd)
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    def backward(ctx: Any, dy: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight, mean, rstd = ctx.saved_tensors
        dx, dw, db = ops.layer_norm_backward(x, weight, mean, rstd, _f32(dy))
        return dx, dw, db if ctx.has_bias else None, None


class GeluFn(torch.autograd.Function):
    """GELU (erf form) with a fixed polynomial erf."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return ops.gelu(x)

    @staticmethod
    def backward(ctx: Any, dy: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return ops.gelu_backward(x, _f32(dy))


class SumLastFn(torch.autograd.Function):
    """Sum over the last dim in a fixed order (for losses); its grad is an exact broadcast.

    repkern family: ascending (a ones-GEMM); repfma family: the blocked-sum kernel.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.shape = x.shape
        if _lib.family() is Family.REPFMA:
            return ops.fsum(x)
        return ops.sum_last(x)

    @staticmethod
    def backward(ctx: Any, dy: torch.Tensor) -> torch.Tensor:
        return dy.unsqueeze(-1).expand(ctx.shape).contiguous()


LogSoftmaxFn = _from_output(lambda x: ops.log_softmax(x),
                            lambda y, dy: ops.log_softmax_backward(y, dy),
                            "Log-softmax over the last dim with fixed-polynomial exp and log and "
                            "ascending sums.")


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Fixed-order ``torch.nn.functional.linear``."""
    return LinearFn.apply(x, weight, bias)


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Fixed-order ``a @ b`` for 2-4 dim tensors with equal batch dims."""
    return MatmulFn.apply(a, b)


def softmax(x: torch.Tensor) -> torch.Tensor:
    """Fixed-order softmax over the last dim."""
    return SoftmaxFn.apply(x)


def layer_norm(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None,
               eps: float = 1e-5) -> torch.Tensor:
    """Fixed-order LayerNorm over the last dim."""
    return LayerNormFn.apply(x, weight, bias, eps)


def gelu(x: torch.Tensor) -> torch.Tensor:
    """Fixed-polynomial GELU (erf form)."""
    return GeluFn.apply(x)


def sum_last(x: torch.Tensor) -> torch.Tensor:
    """Ascending-order sum over the last dim, with autograd."""
    return SumLastFn.apply(x)


def log_softmax(x: torch.Tensor) -> torch.Tensor:
    """Fixed-order log-softmax over the last dim, with autograd."""
    return LogSoftmaxFn.apply(x)
