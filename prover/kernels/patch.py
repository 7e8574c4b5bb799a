"""Routing a Hugging Face BERT-style model through the fixed-order kernels.

``enable(model)`` changes the class of every ``nn.Linear``, ``nn.LayerNorm`` and erf-GELU
activation in place to a subclass whose ``forward`` calls the kernels (parameters, names and
``state_dict`` stay exactly as they were), and switches the model's attention to "repcpu":
eager attention whose two matmuls and softmax are the kernels'. It is idempotent.
"""

from __future__ import annotations

import torch
from torch import nn

from prover.kernels import functions as F

ATTN_NAME = "repcpu"


class RepLinear(nn.Linear):
    """``nn.Linear`` through the fixed-order GEMM."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)


class RepLayerNorm(nn.LayerNorm):
    """``nn.LayerNorm`` (last dim only) through the fixed-order kernel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.normalized_shape) != 1:
            return super().forward(x)
        return F.layer_norm(x, self.weight, self.bias, self.eps)


def _gelu_modules() -> tuple[type, ...]:
    try:
        from transformers.activations import GELUActivation
    except ImportError:
        return (nn.GELU,)
    return (nn.GELU, GELUActivation)


def _rep_gelu_forward(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x)


def repcpu_attention(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                     attention_mask: torch.Tensor | None, scaling: float | None = None,
                     dropout: float = 0.0, **kwargs: object) -> tuple[torch.Tensor, torch.Tensor]:
    """transformers' eager attention with the kernels' matmul and softmax (same signature)."""
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    scores = F.matmul(query, key.transpose(2, 3)) * scaling  # elementwise: exact everywhere
    if attention_mask is not None:
        scores = scores + attention_mask
    weights = F.softmax(scores)
    weights = nn.functional.dropout(weights, p=dropout, training=module.training)
    out = F.matmul(weights, value)
    return out.transpose(1, 2).contiguous(), weights


def _register_attention() -> None:
    from transformers.masking_utils import AttentionMaskInterface, eager_mask
    from transformers.modeling_utils import AttentionInterface

    AttentionInterface.register(ATTN_NAME, repcpu_attention)
    AttentionMaskInterface.register(ATTN_NAME, eager_mask)


def enable(model: nn.Module) -> nn.Module:
    """Route ``model``'s linear layers, layer norms, GELUs and self-attention through the
    reproducible kernels, in place; returns the model. Safe to call twice."""
    gelus = _gelu_modules()
    for mod in model.modules():
        if type(mod) is nn.Linear:
            mod.__class__ = RepLinear
        elif type(mod) is nn.LayerNorm:
            mod.__class__ = RepLayerNorm
        elif type(mod) in gelus and _is_erf_gelu(mod):
            mod.__class__ = type(
                f"Rep{type(mod).__name__}", (type(mod),), {"forward": _rep_gelu_forward}
            )
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "_attn_implementation"):
        _register_attention()
        setter = getattr(model, "set_attn_implementation", None)
        if callable(setter):
            setter(ATTN_NAME)
        else:
            config._attn_implementation = ATTN_NAME
    return model


def _is_erf_gelu(mod: nn.Module) -> bool:
    if isinstance(mod, nn.GELU):
        return mod.approximate == "none"
    act = getattr(mod, "act", None)
    return act is nn.functional.gelu


def is_enabled(model: nn.Module) -> bool:
    """True when every linear layer of ``model`` goes through the kernels."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    attn = getattr(getattr(model, "config", None), "_attn_implementation", ATTN_NAME)
    return all(isinstance(m, RepLinear) for m in linears) and attn == ATTN_NAME


