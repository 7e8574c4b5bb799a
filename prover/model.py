"""Teacher, student, fixed projections and the distillation losses.

Every random number here comes from BLAKE3 extendable output keyed by the spec seed and a
name, turned into floats with exact integer-to-float steps (no Box-Muller, no libm), so
initial states are the same bits on every machine.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prover.errors import SpecValidationError, TeacherError

if TYPE_CHECKING:
    import torch

    from prover.spec import TaskSpec

#: Width of the fixed random "logit" head used by the kl_logits loss.
KL_HEAD_DIM = 512
ATTN_IMPL = "eager"


def uniform(seed: int, name: str, shape: tuple[int, ...], bound: float) -> torch.Tensor:
    """U(-bound, bound) float32 from BLAKE3-XOF(seed, name): 24-bit integers, exact scaling."""
    import blake3
    import numpy as np
    import torch

    n = math.prod(shape)
    key = b"veritrain/init/v1\x00" + seed.to_bytes(8, "big") + name.encode()
    raw = blake3.blake3(key).digest(length=4 * n)
    u = (np.frombuffer(raw, dtype="<u4") >> np.uint32(8)).astype(np.float32)  # 0 .. 2^24-1, exact
    x = u * np.float32(2.0 ** -23) - np.float32(1.0)  # exact: [-1, 1)
    x = x * np.float32(bound)  # one rounding
    return torch.from_numpy(x.reshape(shape).copy())


def student_config(spec: TaskSpec) -> Any:
    """The student's transformers config: a BertConfig, or an ElectraConfig (narrow embeddings)."""
    from transformers import BertConfig, ElectraConfig

    cfg = dict(spec.student.config)
    arch = cfg.pop("model_type", "bert")
    return ElectraConfig(**cfg) if arch == "electra" else BertConfig(**cfg)


def new_student(spec: TaskSpec) -> Any:
    """An (uninitialised) student model of the spec's architecture, eager attention."""
    from transformers import BertModel, ElectraModel

    cfg = student_config(spec)
    model = (ElectraModel(cfg) if cfg.model_type == "electra"
             else BertModel(cfg, add_pooling_layer=True))
    model.config._attn_implementation = ATTN_IMPL
    return model


def load_teacher(teacher_dir: str | Path) -> Any:
    """The teacher BertModel from a local HF directory, eval mode, frozen."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    from prover.teacher import validate_teacher_dir

    d = Path(teacher_dir)
    validate_teacher_dir(d)
    try:
        model = AutoModel.from_pretrained(str(d), attn_implementation=ATTN_IMPL,
                                          dtype=torch.float32)
    except Exception as exc:  # transformers raises many kinds here
        raise TeacherError(f"cannot load teacher from {d}: {exc}") from None
    if type(model).__name__ != "BertModel":
        raise TeacherError(f"teacher in {d} is a {type(model).__name__}, v1 specs need a BertModel")
    model.eval()
    model.requires_grad_(False)
    return model


def build_student(spec: TaskSpec, teacher: Any | None = None) -> Any:
    """The initial student (state 0) the spec describes."""
    import torch

    model = new_student(spec)
    std = float(spec.student.config.get("initializer_range", 0.02))
    bound = float(round(std * math.sqrt(3.0), 12))
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("bias"):
                p.zero_()
            elif "LayerNorm" in name:
                p.fill_(1.0)
            else:
                p.copy_(uniform(spec.seed, "student." + name, tuple(p.shape), bound))
        if spec.student.init.method == "teacher":
            _copy_teacher_layers(spec, model, teacher)
            if model.config.model_type == "electra":
                from prover.teacher_init import init_narrow_embeddings

                init_narrow_embeddings(spec, model, teacher)
    model.train()
    return model


def _copy_teacher_layers(spec: TaskSpec, student: Any, teacher: Any) -> None:
    if teacher is None:
        raise TeacherError("student.init.method 'teacher' needs the teacher model")
    sc, tc = student.config, teacher.config
    for key in ("hidden_size", "intermediate_size", "num_attention_heads", "vocab_size"):
        # an electra student's embeddings are narrower by design: teacher_init fills them
        if getattr(sc, key) != getattr(tc, key):
            raise SpecValidationError("student.init.method 'teacher' needs "
                                      f"student.config.{key} == teacher's ({getattr(tc, key)}), "
                                      f"got {getattr(sc, key)}")
    layers = spec.student.init.layers or list(range(sc.num_hidden_layers))
    if len(layers) != sc.num_hidden_layers or any(not 0 <= i < tc.num_hidden_layers
                                                  for i in layers):
        raise SpecValidationError(f"student.init.layers must list {sc.num_hidden_layers} teacher "
                                  f"layer indices below {tc.num_hidden_layers}, got {layers}")
    sd, td = student.state_dict(), teacher.state_dict()
    for name, t in sd.items():
        if name.startswith("embeddings.") and sc.model_type == "electra":
            continue
        if name.startswith("encoder.layer."):
            idx = int(name.split(".")[2])
            src = name.replace(f"encoder.layer.{idx}.", f"encoder.layer.{layers[idx]}.", 1)
        else:
            src = name
        if src in td:
            s = td[src]
            rows_only = s.shape != t.shape and s.dim() and s.shape[1:] == t.shape[1:]
            t.copy_(s[: t.shape[0]] if rows_only else s)


def projections(spec: TaskSpec, teacher_hidden: int) -> dict[str, torch.Tensor]:
    """Fixed (not trained) maps: student->teacher width, and the kl_logits head."""
    import torch

    s_hidden = int(spec.student.config["hidden_size"])
    out: dict[str, torch.Tensor] = {}
    if s_hidden == teacher_hidden:
        out["proj"] = torch.eye(s_hidden)
    else:
        out["proj"] = uniform(spec.seed, "proj", (s_hidden, teacher_hidden),
                              math.sqrt(3.0 / s_hidden))
    if spec.loss.type == "kl_logits":
        out["head"] = uniform(spec.seed, "kl_head", (teacher_hidden, KL_HEAD_DIM),
                              math.sqrt(3.0 / teacher_hidden))
    return out


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine along the last dim with rsqrt (no vector-math sqrt)."""
    import torch

    eps = 1e-12
    return (a * b).sum(-1) * torch.rsqrt((a * a).sum(-1).clamp_min(eps)) \
        * torch.rsqrt((b * b).sum(-1).clamp_min(eps))


def kd_loss(spec: TaskSpec, h_s: torch.Tensor, h_t: torch.Tensor,
            fixed: dict[str, torch.Tensor]) -> torch.Tensor:
    """Distillation loss between student and teacher last hidden states [B, L, *]."""
    import torch.nn.functional as F

    from prover import profile

    if profile.get(spec.profile.name).fixed_train_ops:
        from prover.kernels.training import kd_loss as fixed_kd_loss

        return fixed_kd_loss(spec, h_s, h_t, fixed)

    x = h_s @ fixed["proj"]
    kind, alpha = spec.loss.type, spec.loss.alpha
    if kind == "mse_embedding":  # sentence embeddings: mean pooling (samples are unpadded)
        x, h_t = x.mean(1), h_t.mean(1)
    cos_term = (1.0 - _cos(x, h_t)).mean()
    if kind == "kl_logits":
        temp = spec.loss.temperature
        z_s = (x @ fixed["head"]) / temp
        z_t = (h_t @ fixed["head"]) / temp
        logp_s = F.log_softmax(z_s, dim=-1)
        logp_t = F.log_softmax(z_t, dim=-1)
        main = (logp_t.exp() * (logp_t - logp_s)).sum(-1).mean() * (temp * temp)
    else:
        main = F.mse_loss(x, h_t)
    return main + alpha * cos_term
