"""A tiny-preset task under ``stateHash: "tree-v2"`` and ``schedule: "keccak-v2"``: trained,
replayed, judged from its checkpoint and opened element by element, with the real teacher,
corpus and kernels (pytest runs under the default profile, tests/conftest.py)."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file

from prover import checkpoint, merkle, schedule, segment, statehash
from prover.checkpoint import Defect
from prover.errors import CheckpointError
from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec
from prover.trace import stateopen
from prover.train import BaseStepHooks, rng_state

TASK = 21


class BatchLog(BaseStepHooks):
    """Records the batch every step trains on."""

    def __init__(self) -> None:
        self.batches: dict[int, torch.Tensor] = {}

    def on_batch(self, step: int, input_ids: torch.Tensor) -> torch.Tensor | None:
        self.batches[step] = input_ids.clone()
        return None


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("treev2")
    data = default_dataset_dir(32)
    spec = preset_spec("tiny", seed=4, dataset_dir=data, state_hash="tree-v2",
                       schedule="keccak-v2", totalSteps=8, segmentSteps=4)
    log = BatchLog()
    seg0 = segment.run_segment(spec, TASK, 0, None, default_teacher_dir(), data, root / "seg0",
                               hooks=log)
    seg1 = segment.run_segment(spec, TASK, 1, seg0.checkpoint_dir, default_teacher_dir(), data,
                               root / "seg1", hooks=log)
    return {"root": root, "data": data, "spec": spec, "seg0": seg0, "seg1": seg1, "log": log}


def test_the_spec_uses_both_v2_schemes(env: dict[str, Any]) -> None:
    spec = env["spec"]
    assert spec.state_hash == "tree-v2" and spec.schedule == "keccak-v2"
    from prover.dataset import load_manifest

    ids = load_manifest(env["data"]).input_ids
    for t, batch in env["log"].batches.items():  # every step trained on the v2 schedule's rows
        assert torch.equal(batch, ids[schedule.batch_indices(spec, TASK, t)])


def test_replay_from_the_checkpoint_reproduces_every_leaf(env: dict[str, Any]) -> None:
    spec, seg0, seg1 = env["spec"], env["seg0"], env["seg1"]
    r = segment.replay(spec, TASK, seg0.checkpoint_dir, 8, default_teacher_dir(), env["data"],
                       expected_leaves=seg1.leaves, start_state_hash=seg0.end_state_hash)
    assert r.matches and r.state_hashes == seg1.state_hashes and r.leaves == seg1.leaves
    assert seg1.leaves == merkle.leaves_for(TASK, 4, seg1.state_hashes)
    # from the initial state too (the first segment)
    r0 = segment.replay(spec, TASK, None, 4, default_teacher_dir(), env["data"],
                        expected_leaves=seg0.leaves)
    assert r0.matches and r0.state_hashes == seg0.state_hashes


def test_checkpoint_judge_and_element_openings(env: dict[str, Any]) -> None:
    spec, seg1 = env["spec"], env["seg1"]
    held = checkpoint.require_state(seg1.checkpoint_dir, spec, TASK, seg1.end_state_hash, step=8)
    assert held.state_hash == seg1.end_state_hash
    assert held.state_hash == statehash.tree_v2(held.params, held.optim, 8, rng_state(spec, TASK),
                                                schedule.cursor_after(spec, 8))
    moment = next(n for n, _ in held.optim if n.endswith("/exp_avg_sq"))
    name = moment.rpartition("/")[0]
    for tensor, element in [(0, 0), (name, 5), (moment, 3), (len(held.params), 0)]:
        o = stateopen.open_checkpoint_element(seg1.checkpoint_dir, spec, TASK, tensor, element)
        assert o.state_hash == seg1.end_state_hash and stateopen.verify(o)


def test_one_ulp_in_one_weight_changes_exactly_that_commitment(env: dict[str, Any]) -> None:
    spec, seg1 = env["spec"], env["seg1"]
    bad = env["root"] / "bad"
    shutil.copytree(seg1.checkpoint_dir, bad)
    weights = load_file(str(bad / "model.safetensors"))
    name = sorted(weights)[3]
    flat = weights[name].reshape(-1)
    flat.view(torch.int32)[7] += 1  # one ulp
    save_file(weights, str(bad / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(CheckpointError) as exc:
        checkpoint.require_state(bad, spec, TASK, seg1.end_state_hash, step=8)
    assert exc.value.defect is Defect.STATE_HASH
    good = checkpoint.held_state(seg1.checkpoint_dir, spec, TASK)
    moved = checkpoint.held_state(bad, spec, TASK)
    rng, cur = rng_state(spec, TASK), schedule.cursor_after(spec, 8)
    a = statehash.v2_leaves(good.params, good.optim, 8, rng, cur)
    b = statehash.v2_leaves(moved.params, moved.optim, 8, rng, cur)
    assert [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y] == [3]
    o = stateopen.open_checkpoint_element(bad, spec, TASK, name, 7)
    assert stateopen.verify(o) and o.state_hash == moved.state_hash != good.state_hash


def test_v1_task_is_unchanged(env: dict[str, Any]) -> None:
    """The same preset under the v1 schemes trains other batches and hashes (old tasks keep
    theirs); its spec has no schedule field."""
    v1 = preset_spec("tiny", seed=4, dataset_dir=env["data"], totalSteps=8, segmentSteps=4,
                     state_hash="blake3", schedule="keccak-v1")
    assert b"schedule" not in v1.canonical_bytes()
    assert schedule.batch_indices(v1, TASK, 1) != schedule.batch_indices(env["spec"], TASK, 1)
