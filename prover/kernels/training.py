"""The rest of the KD step on fixed-order kernels (profile "repcpu-2"): losses, gradient
clipping and the AdamW update.

Under ``repcpu-1`` these ran on stock torch (ATen reductions whose order follows the SIMD width
and thread split, Sleef/MKL ``log_softmax``/``exp``, fused AdamW with ``std::pow`` from glibc),
which is why that profile still pins ATen's ISA, MKL, glibc and threads. Here every reduction is
an ascending sum (``sum_last``), ``exp``/``log`` are the kernels' polynomials, and the scalars
(bias corrections, clip coefficient) are computed in Python doubles by correctly rounded
operations only (multiply, divide, ``math.sqrt``). What remains on stock torch is elementwise
IEEE arithmetic (add, sub, mul, div, clamp), exact on every CPU.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from prover.kernels import _lib, ops
from prover.kernels import functions as F
from prover.kernels.errors import KernelInputError
from prover.kernels.family import Family

if TYPE_CHECKING:
    from prover.spec import TaskSpec


#: Blocked sums: ascending within blocks of this many elements, then over the block sums.
SUM_BLOCK = 1024


def fixed_sum(x: torch.Tensor) -> torch.Tensor:
    """Sum of every element in a fixed blocked order, with autograd.

    The flattened tensor is zero-padded to whole blocks of :data:`SUM_BLOCK`; each block is
    summed ascending, then the block sums the same way until one block is left. The order
    depends only on the element count; the rounding error grows with the block size plus the
    block count instead of with the element count (one plain ascending float32 sum over the
    ~800k terms of a loss drifted 6e-5 relative from torch's pairwise sum). Under the repfma
    family it is one call of the blocked-sum kernel (``ops.fsum``: its own fixed blocking).
    """
    flat = x.reshape(-1)
    if _lib.family() is Family.REPFMA:  # rk_fsum blocks and sums the blocks itself
        return F.sum_last(flat)
    while flat.numel() > SUM_BLOCK:
        pad = -flat.numel() % SUM_BLOCK
        if pad:
            flat = torch.nn.functional.pad(flat, (0, pad))
        flat = F.sum_last(flat.reshape(-1, SUM_BLOCK))
    return F.sum_last(flat.reshape(1, -1))[0]


def mean_all(x: torch.Tensor) -> torch.Tensor:
    """Mean of every element: :func:`fixed_sum`, then ``/ numel``."""
    return fixed_sum(x) / x.numel()


def mean_dim1(x: torch.Tensor) -> torch.Tensor:
    """``x.mean(1)`` for ``[B, L, H]``: ascending sum over L, then ``/ L``."""
    return F.sum_last(x.transpose(1, 2)) / x.shape[1]


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine along the last dim (ascending dot products, ``rsqrt`` is elementwise 1/sqrt)."""
    eps = 1e-12
    return F.sum_last(a * b) * torch.rsqrt(F.sum_last(a * a).clamp_min(eps)) \
        * torch.rsqrt(F.sum_last(b * b).clamp_min(eps))


def kd_loss(spec: TaskSpec, h_s: torch.Tensor, h_t: torch.Tensor,
            fixed: dict[str, torch.Tensor]) -> torch.Tensor:
    """prover.model.kd_loss with every product and reduction on the fixed-order kernels."""
    x = F.linear(h_s, fixed["proj"].t())  # h_s @ proj
    kind, alpha = spec.loss.type, spec.loss.alpha
    if kind == "mse_embedding":  # mean pooling (samples are unpadded)
        x, h_t = mean_dim1(x), mean_dim1(h_t)
    cos_term = mean_all(1.0 - cosine(x, h_t))
    if kind == "kl_logits":
        temp = spec.loss.temperature
        head = fixed["head"]
        z_s = F.linear(x, head.t()) / temp
        with torch.no_grad():
            logp_t = ops.log_softmax(F.linear(h_t, head.t()) / temp)
            p_t = ops.exp(logp_t)
        logp_s = F.log_softmax(z_s)
        main = mean_all(F.sum_last(p_t * (logp_t - logp_s))) * (temp * temp)
    else:
        d = x - h_t
        main = mean_all(d * d)
    return main + alpha * cos_term


def clip_grad_norm_(grads: list[torch.Tensor], clip: float) -> float:
    """Scale ``grads`` in place so their global L2 norm is at most ``clip``; returns the norm.

    Squares summed by :func:`fixed_sum` within each gradient (repfma: ``ops.fsum`` with
    ``square``, each square an ``fma`` into its lane), then over the gradients in list order;
    ``coef = min(clip / (sqrt(total) + 1e-6), 1)`` in double (``math.sqrt`` is correctly
    rounded), applied as one float32 multiply per element.
    """
    with torch.no_grad():
        if _lib.family() is Family.REPFMA:  # squares fused into the blocked-sum kernel
            parts = torch.stack([ops.fsum(g.reshape(-1), square=True) for g in grads])
        else:
            parts = torch.stack([fixed_sum(g * g) for g in grads])
        total = float(fixed_sum(parts))
        norm = math.sqrt(total)
        coef = min(clip / (norm + 1e-6), 1.0)
        # skip only a coefficient of 1 (g * 1 is g): a NaN one (a NaN gradient) scales too, as
        # the step graph's clip multiply says (docs/referee.md "NaN payloads")
        if not coef >= 1.0:
            for g in grads:
                g.mul_(coef)
    return norm


def _powi(base: float, n: int) -> float:
    """``base ** n`` by binary exponentiation in doubles (no libm pow, same bits everywhere)."""
    result, b = 1.0, base
    while n:
        if n & 1:
            result *= b
        b *= b
        n >>= 1
    return result


def adamw_step(optimizer: Any) -> None:
    """One AdamW update of a ``torch.optim.AdamW``'s parameters on its own state dict.

    State keys, dtypes and layout are those of torch's AdamW (``step`` a float32 scalar
    tensor, ``exp_avg``, ``exp_avg_sq``), so checkpoints and state hashes read it unchanged.
    Parameters without a gradient are skipped, as torch does.
    """
    with torch.no_grad():
        for group in optimizer.param_groups:
            if group.get("amsgrad") or group.get("maximize"):
                raise KernelInputError("the kernels' AdamW supports neither amsgrad nor maximize")
            lr, wd, eps = float(group["lr"]), float(group["weight_decay"]), float(group["eps"])
            beta1, beta2 = (float(b) for b in group["betas"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = optimizer.state[p]
                if not st:
                    st["step"] = torch.zeros((), dtype=torch.float32)
                    st["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    st["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                st["step"] += 1
                t = int(st["step"].item())
                bc1 = 1.0 - _powi(beta1, t)
                bc2 = 1.0 - _powi(beta2, t)
                ops.adamw_(p.data, st["exp_avg"], st["exp_avg_sq"], p.grad.contiguous(),
                           decay=1.0 - lr * wd, beta1=beta1, beta2=beta2, step_size=lr / bc1,
                           bc2_sqrt=math.sqrt(bc2), eps=eps)
