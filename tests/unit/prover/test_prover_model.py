"""Student init from the seed, fixed projections, and the three distillation losses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from prover import model
from prover.spec import parse_spec


def spec(loss: str = "mse_hidden", seed: int = 5):  # type: ignore[no-untyped-def]
    d: dict[str, Any] = json.loads(Path(__file__).with_name("spec_sample.json").read_text())
    d["loss"]["type"], d["seed"] = loss, seed
    return parse_spec(d)


def test_uniform_init_is_exact_bounded_and_seeded() -> None:
    a = model.uniform(1, "w", (64, 64), 0.5)
    assert torch.equal(a, model.uniform(1, "w", (64, 64), 0.5))
    assert not torch.equal(a, model.uniform(2, "w", (64, 64), 0.5))
    assert not torch.equal(a, model.uniform(1, "v", (64, 64), 0.5))
    assert a.abs().max() <= 0.5 and a.dtype == torch.float32
    assert abs(float(a.mean())) < 0.02


def test_student_init_depends_only_on_the_seed() -> None:
    s1 = model.build_student(spec())
    s2 = model.build_student(spec())
    s3 = model.build_student(spec(seed=6))
    for (n, p), (_, q), (_, r) in zip(s1.named_parameters(), s2.named_parameters(),
                                      s3.named_parameters(), strict=True):
        assert torch.equal(p, q), n
        if "LayerNorm" not in n and not n.endswith("bias"):
            assert not torch.equal(p, r), n


@pytest.mark.parametrize("loss", ["mse_hidden", "mse_embedding", "kl_logits"])
def test_losses_vanish_when_the_student_matches_and_grow_otherwise(loss: str) -> None:
    s = spec(loss)
    fixed = model.projections(s, 64)  # same width as the sample student: identity projection
    assert torch.equal(fixed["proj"], torch.eye(64))
    h = torch.randn(2, 5, 64, generator=torch.Generator().manual_seed(0))
    same = model.kd_loss(s, h, h, fixed)
    other = model.kd_loss(s, h, -h + 0.1, fixed)
    assert float(same) == pytest.approx(0.0, abs=1e-5)
    assert float(other) > 0.5
