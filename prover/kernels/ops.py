"""Raw fixed-order operations on float32 CPU tensors (no autograd; see ``functions``).

Each op allocates a contiguous output and hands raw pointers and element strides to the C
library, so any input layout (transposed, expanded with stride 0, sliced) is read in place.
"""

from __future__ import annotations

import torch

from prover.kernels import _lib
from prover.kernels.errors import KernelInputError


def _batch2(t: torch.Tensor, name: str) -> tuple[int, int, int, int]:
    """(nb1, nb2, stride1, stride2) for the up to two leading batch dims of a >=2-D tensor."""
    if t.dim() == 2:
        return 1, 1, 0, 0
    if t.dim() == 3:
        return 1, t.shape[0], 0, t.stride(0)
    if t.dim() == 4:
        return t.shape[0], t.shape[1], t.stride(0), t.stride(1)
    raise KernelInputError(f"{name} must have 2 to 4 dims, got {t.dim()}", name=name)


def gemm(a: torch.Tensor, b: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``a @ b (+ bias)`` for a ``[..., M, K]`` and b ``[..., K, N]`` with equal batch dims.

    Every output element is ``((0 + a0*b0) + a1*b1) + ...`` in ascending k, then ``+ bias``.
    """
    _lib.check(a, "a")
    _lib.check(b, "b")
    if a.shape[:-2] != b.shape[:-2] or a.shape[-1] != b.shape[-2]:
        raise KernelInputError(f"cannot multiply {tuple(a.shape)} by {tuple(b.shape)}")
    m, k = a.shape[-2], a.shape[-1]
    n = b.shape[-1]
    nb1, nb2, sa1, sa2 = _batch2(a, "a")
    _, _, sb1, sb2 = _batch2(b, "b")
    if bias is not None:
        _lib.check(bias, "bias")
        bias = bias.contiguous()
        if bias.shape != (n,):
            raise KernelInputError(f"bias must have shape ({n},), got {tuple(bias.shape)}",
                                   name="bias")
    out = a.new_empty((*a.shape[:-2], m, n))  # float32 on the CPU, as checked
    _lib.load().rk_gemm(nb1, nb2, m, n, k,
                        a.data_ptr(), sa1, sa2, a.stride(-2), a.stride(-1),
                        b.data_ptr(), sb1, sb2, b.stride(-2), b.stride(-1),
                        _lib.ptr(bias), out.data_ptr(), _lib.threads())
    return out


def sum_rows(x: torch.Tensor) -> torch.Tensor:
    """Column sums of a 2-D ``x`` (``[M, N] -> [N]``), rows added in ascending order."""
    ones = torch.ones(1, dtype=torch.float32).expand(1, x.shape[0])
    return gemm(ones, x)[0]


def sum_last(x: torch.Tensor) -> torch.Tensor:
    """Sums over the last dim (``[..., K] -> [...]``), elements added in ascending order."""
    flat = x.reshape(-1, x.shape[-1])
    ones = torch.ones(1, dtype=torch.float32).expand(x.shape[-1], 1)
    return gemm(flat, ones).reshape(x.shape[:-1])


def fsum(x: torch.Tensor, square: bool = False) -> torch.Tensor:
    """Sums over the last dim (``[..., K] -> [...]``) by the blocked-sum kernel ``rk_fsum``:
    16 fixed lanes per block of 4096, the lanes then the blocks added in ascending order
    (of squares, each ``fma(x, x, lane)``, with ``square``). Used by the repfma family."""
    x = _rows(x, "x")
    n = x.shape[-1] if x.dim() else 1
    out = torch.empty(x.shape[:-1], dtype=torch.float32)
    _lib.load().rk_fsum(out.numel(), n, x.data_ptr(), out.data_ptr(), int(square),
                        _lib.threads())
    return out


def _rows(x: torch.Tensor, name: str) -> torch.Tensor:
    _lib.check(x, name)
    return x.contiguous()


def _rowwise(kernel: str, x: torch.Tensor) -> torch.Tensor:
    """Run the row kernel ``kernel(rows, n, x, y, threads)`` over the last dim of ``x``."""
    x = _rows(x, "x")
    y = torch.empty_like(x)
    n = x.shape[-1] if x.dim() else 1
    getattr(_lib.load(), kernel)(x.numel() // max(n, 1), n, x.data_ptr(), y.data_ptr(),
                                 _lib.threads())
    return y


def _rowwise_backward(kernel: str, y: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """Run the row kernel ``kernel(rows, n, y, dy, dx, threads)`` over the last dim."""
    y, dy = _rows(y, "y"), _rows(dy, "dy")
    dx = torch.empty_like(y)
    n = y.shape[-1]
    getattr(_lib.load(), kernel)(y.numel() // max(n, 1), n, y.data_ptr(), dy.data_ptr(),
                                 dx.data_ptr(), _lib.threads())
    return dx


def softmax(x: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim: exact max, fixed-polynomial exp, ascending sum, division."""
    return _rowwise("rk_softmax", x)


def softmax_backward(y: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """Gradient of :func:`softmax` given its output ``y``."""
    return _rowwise_backward("rk_softmax_backward", y, dy)


def layer_norm(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None,
               eps: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """LayerNorm over the last dim; returns (y, mean, rstd) with one mean/rstd per row."""
    x = _rows(x, "x")
    n = x.shape[-1]
    rows = x.numel() // max(n, 1)
    if weight is not None:
        weight = _rows(weight, "weight")
        bias = _rows(bias, "bias") if bias is not None else torch.zeros_like(weight)
    y = torch.empty_like(x)
    mean = torch.empty(rows, dtype=torch.float32)
    rstd = torch.empty(rows, dtype=torch.float32)
    _lib.load().rk_layernorm(rows, n, x.data_ptr(), _lib.ptr(weight), _lib.ptr(bias), eps,
                             y.data_ptr(), mean.data_ptr(), rstd.data_ptr(), _lib.threads())
    return y, mean, rstd


def layer_norm_backward(x: torch.Tensor, weight: torch.Tensor | None, mean: torch.Tensor,
                        rstd: torch.Tensor, dy: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """(dx, dweight, dbias) of :func:`layer_norm`; dweight/dbias are None without a weight."""
    x, dy = _rows(x, "x"), _rows(dy, "dy")
    n = x.shape[-1]
    rows = x.numel() // max(n, 1)
    dx = torch.empty_like(x)
    dw = db = None
    if weight is not None:
        weight = _rows(weight, "weight")
        dw = torch.empty(n, dtype=torch.float32)
        db = torch.empty(n, dtype=torch.float32)
    _lib.load().rk_layernorm_backward(rows, n, x.data_ptr(), _lib.ptr(weight), mean.data_ptr(),
                                      rstd.data_ptr(), dy.data_ptr(), dx.data_ptr(),
                                      _lib.ptr(dw), _lib.ptr(db), _lib.threads())
    return dx, dw, db


def gelu(x: torch.Tensor) -> torch.Tensor:
    """GELU, erf form, with a fixed polynomial erf (|error| < 2e-7)."""
    x = _rows(x, "x")
    y = torch.empty_like(x)
    _lib.load().rk_gelu(x.numel(), x.data_ptr(), y.data_ptr(), _lib.threads())
    return y


def gelu_backward(x: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """Gradient of :func:`gelu`."""
    x, dy = _rows(x, "x"), _rows(dy, "dy")
    dx = torch.empty_like(x)
    _lib.load().rk_gelu_backward(x.numel(), x.data_ptr(), dy.data_ptr(), dx.data_ptr(),
                                 _lib.threads())
    return dx


def exp(x: torch.Tensor) -> torch.Tensor:
    """exp with the kernels' fixed polynomial (same bits on every CPU)."""
    x = _rows(x, "x")
    y = torch.empty_like(x)
    _lib.load().rk_exp_buf(x.numel(), x.data_ptr(), y.data_ptr())
    return y


def erf(x: torch.Tensor) -> torch.Tensor:
    """erf with the kernels' fixed polynomial (same bits on every CPU)."""
    x = _rows(x, "x")
    y = torch.empty_like(x)
    _lib.load().rk_erf_buf(x.numel(), x.data_ptr(), y.data_ptr())
    return y


def log(x: torch.Tensor) -> torch.Tensor:
    """Natural log with the kernels' fixed polynomial (same bits on every CPU)."""
    x = _rows(x, "x")
    y = torch.empty_like(x)
    _lib.load().rk_log_buf(x.numel(), x.data_ptr(), y.data_ptr())
    return y


def log_softmax(x: torch.Tensor) -> torch.Tensor:
    """Log-softmax over the last dim: exact max, fixed exp, ascending sum, fixed log."""
    return _rowwise("rk_logsoftmax", x)


def log_softmax_backward(y: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """Gradient of :func:`log_softmax` given its output ``y``: ``dy - exp(y) * sum(dy)``."""
    return _rowwise_backward("rk_logsoftmax_backward", y, dy)


def adamw_(p: torch.Tensor, m: torch.Tensor, v: torch.Tensor, g: torch.Tensor, *, decay: float,
           beta1: float, beta2: float, step_size: float, bc2_sqrt: float, eps: float) -> None:
    """In place, per element: ``p *= decay; m = m*b1 + g*(1-b1); v = v*b2 + g*g*(1-b2);
    p -= step_size * m / (sqrt(v)/bc2_sqrt + eps)`` (all float32, that order)."""
    for t, name in ((p, "param"), (m, "exp_avg"), (v, "exp_avg_sq"), (g, "grad")):
        _lib.check(t, name)
        if not t.is_contiguous() or t.shape != p.shape:
            raise KernelInputError(f"{name} must be contiguous with the parameter's shape "
                                   f"{tuple(p.shape)}", name=name)
    _lib.load().rk_adamw(p.numel(), p.data_ptr(), m.data_ptr(), v.data_ptr(), g.data_ptr(),
                         decay, beta1, 1.0 - beta1, beta2, 1.0 - beta2, step_size, bc2_sqrt, eps,
                         _lib.threads())
