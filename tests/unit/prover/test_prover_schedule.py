"""Data schedule and LR schedule: pure functions of (seed, taskId, step, manifest)."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from prover import schedule
from prover.spec import parse_spec


def doc() -> dict[str, Any]:
    return json.loads((Path(__file__).with_name("spec_sample.json")).read_text())


def spec(**changes: object):  # type: ignore[no-untyped-def]
    d = doc()
    d.update(changes)
    return parse_spec(d)


def test_batches_are_pure_and_depend_on_task_seed_step_and_manifest() -> None:
    s = spec()
    assert schedule.batch_indices(s, 1, 5) == schedule.batch_indices(s, 1, 5)
    assert schedule.batch_indices(s, 1, 5) != schedule.batch_indices(s, 2, 5)
    assert schedule.batch_indices(s, 1, 5) != schedule.batch_indices(s, 1, 6)
    assert schedule.batch_indices(spec(seed=6), 1, 5) != schedule.batch_indices(s, 1, 5)
    other = doc()
    other["dataset"]["sampleRoot"] = "0x" + "cd" * 32
    assert schedule.batch_indices(parse_spec(other), 1, 5) != schedule.batch_indices(s, 1, 5)


def test_an_epoch_visits_every_sample_once() -> None:
    s = spec()  # 100 samples, batch 8: 25 steps span two epochs exactly
    seen = [i for t in range(1, 26) for i in schedule.batch_indices(s, 3, t)]
    assert sorted(seen[:100]) == list(range(100))
    assert sorted(seen[100:]) == list(range(100))
    assert seen[:100] != seen[100:]
    assert schedule.cursor_after(s, 25) == 200


def test_cos_pi_matches_libm_closely() -> None:
    for k in range(0, 101):
        x = Fraction(k, 100)
        assert abs(float(schedule.cos_pi(x)) - math.cos(math.pi * k / 100)) < 1e-15


def test_lr_warmup_then_cosine_to_the_floor() -> None:
    s = spec()  # lr 1e-3, warmup 4, total 64, floor 0.1
    assert schedule.lr_at(s, 1) == 0.00025
    assert schedule.lr_at(s, 4) == 0.001
    assert schedule.lr_at(s, 64) == pytest.approx(1e-4, rel=1e-15)
    mid = 4 + 30
    assert schedule.lr_at(s, mid) == pytest.approx(1e-4 + 0.9e-3 * 0.5, rel=1e-15)
    lrs = [schedule.lr_at(s, t) for t in range(4, 65)]
    assert lrs == sorted(lrs, reverse=True)


def test_constant_decay() -> None:
    d = doc()
    d["optimizer"]["decay"] = "constant"
    s = parse_spec(d)
    assert {schedule.lr_at(s, t) for t in range(5, 65)} == {0.001}
