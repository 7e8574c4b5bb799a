"""Segment runs and replays on the tiny preset with the real teacher and corpus.

pytest runs under the default determinism profile (tests/conftest.py re-executes it), so the
in-process runs here are the real, guarded ones; the CLI runs start from an unpinned env.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from prover import checkpoint, merkle, profile, segment
from prover.dataset import build_manifest
from prover.presets import default_teacher_dir, default_text_files, preset_spec
from prover.train import BaseStepHooks, Trainer

TASK = 3


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("prover")
    data = root / "data"
    build_manifest(default_text_files(), default_teacher_dir(), 32, data)
    spec = preset_spec("tiny", seed=11, dataset_dir=data)
    spec_file = root / "spec.json"
    spec_file.write_bytes(spec.canonical_bytes())
    run = segment.run_segment(spec, TASK, 0, None, default_teacher_dir(), data, root / "seg0")
    return {"root": root, "data": data, "spec": spec, "spec_file": spec_file, "run": run}


def cli(args: list[str], env_extra: dict[str, str] | None = None,
        pinned: bool = False) -> subprocess.CompletedProcess[str]:
    """The veritrain CLI in a fresh process, by default WITHOUT the profile's variables."""
    pins = set(profile.env_for("stock-avx2-1", 1)) | {profile.REEXEC_GUARD}
    e = {k: v for k, v in os.environ.items() if pinned or k not in pins}
    e.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "veritrain.cli.main", *args], env=e,
                          capture_output=True, text=True, timeout=300)


def test_segment_result_is_consistent(env: dict[str, Any]) -> None:
    run, spec = env["run"], env["spec"]
    assert run.steps == list(range(1, spec.segment_steps + 1))
    assert run.leaves == merkle.leaves_for(TASK, 0, run.state_hashes)
    assert run.trace_root == merkle.trace_root(run.leaves)
    assert run.end_state_hash == run.state_hashes[-1]
    assert len(set(run.state_hashes)) == len(run.state_hashes)
    assert all(l == l for l in run.losses) and run.losses[-1] < run.losses[0]  # noqa: E741
    doc = merkle.read_leaves_file(run.leaves_file)
    assert doc["stateHashes"] == [merkle.hex32(h) for h in run.state_hashes]
    assert json.loads((run.checkpoint_dir / "state.json").read_text())["stateHash"] == \
        merkle.hex32(run.end_state_hash)


def test_replay_in_a_separate_process_reproduces_every_leaf(env: dict[str, Any]) -> None:
    """Started without the pins: the CLI re-executes itself under the profile."""
    run = env["run"]
    r = cli(["replay", "--spec", str(env["spec_file"]), "--upto", "8", "--task-id", str(TASK),
             "--dataset", str(env["data"]), "--leaves", str(run.leaves_file)])
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["stateHashes"] == [merkle.hex32(h) for h in run.state_hashes]
    assert out["leaves"] == [merkle.hex32(x) for x in run.leaves]
    assert out["firstMismatch"] is None


def test_cli_refuses_a_mismatched_profile_after_a_reexec(env: dict[str, Any]) -> None:
    stock = preset_spec("tiny", seed=11, dataset_dir=env["data"], profile_name="stock-avx2-1")
    spec_file = env["root"] / "spec-stock.json"
    spec_file.write_bytes(stock.canonical_bytes())
    r = cli(["replay", "--spec", str(spec_file), "--upto", "1", "--dataset", str(env["data"])],
            env_extra={profile.REEXEC_GUARD: "1"})
    assert r.returncode == 3
    assert "error: determinism profile stock-avx2-1 needs ATEN_CPU_CAPABILITY=avx2, this process " \
           "has ATEN_CPU_CAPABILITY=<unset>" in " ".join(r.stderr.split())


def test_resume_from_checkpoint_equals_a_continuous_run(env: dict[str, Any]) -> None:
    spec, data, run = env["spec"], env["data"], env["run"]
    straight = segment.replay(spec, TASK, None, 12, default_teacher_dir(), data)
    assert straight.state_hashes[:8] == run.state_hashes
    resumed = segment.replay(spec, TASK, run.checkpoint_dir, 12, default_teacher_dir(), data)
    assert resumed.start_step == 8 and resumed.steps == [9, 10, 11, 12]
    assert resumed.state_hashes == straight.state_hashes[8:]


def test_other_task_id_gives_another_trajectory(env: dict[str, Any]) -> None:
    r = segment.replay(env["spec"], TASK + 1, None, 1, default_teacher_dir(), env["data"])
    assert r.state_hashes[0] != env["run"].state_hashes[0]


class OneUlp(BaseStepHooks):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_after_update(self, t: int, student: Any, optimizer: Any) -> None:
        if t == self.step:
            with torch.no_grad():
                w = student.encoder.layer[0].attention.self.query.weight
                w[0, 0] = torch.nextafter(w[0, 0], torch.tensor(float("inf")))


class SwapBatch(BaseStepHooks):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_batch(self, t: int, ids: torch.Tensor) -> torch.Tensor | None:
        return ids.roll(1, dims=1) if t == self.step else None


class OtherLr(BaseStepHooks):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_before_update(self, t: int, student: Any, optimizer: Any) -> None:
        if t == self.step:
            for g in optimizer.param_groups:
                g["lr"] = g["lr"] * 1.01


@pytest.mark.parametrize(("hooks", "step"), [(OneUlp(5), 5), (SwapBatch(3), 3), (OtherLr(6), 6)],
                         ids=["one-ulp-weight", "swapped-batch", "different-lr"])
def test_a_fault_changes_the_leaf_exactly_at_its_step(
    env: dict[str, Any], hooks: Any, step: int
) -> None:
    run = env["run"]
    r = segment.replay(env["spec"], TASK, None, 8, default_teacher_dir(), env["data"],
                       expected_leaves=run.leaves, hooks=hooks)
    assert r.first_mismatch == step
    assert r.leaves[: step - 1] == run.leaves[: step - 1]
    assert r.leaves[step - 1] != run.leaves[step - 1]


def test_checkpoint_loads_with_automodel_and_embeddings_match(
    env: dict[str, Any], tmp_path: Path
) -> None:
    from transformers import AutoModel

    spec = env["spec"]
    trainer = Trainer(spec, TASK, default_teacher_dir(), env["data"])
    for _ in range(3):
        trainer.step()
    h = trainer.state_hash()
    d = checkpoint.save(tmp_path / "ck", spec, TASK, trainer.student, trainer.optimizer,
                        trainer.step_no, trainer.rng, trainer.cursor, h)
    loaded = AutoModel.from_pretrained(str(d), attn_implementation="eager").eval()
    profile.enable_kernels(spec, loaded)  # a kernels profile computes through the same kernels
    mine = dict(trainer.student.state_dict())
    theirs = dict(loaded.state_dict())
    assert set(mine) == set(theirs)
    assert all(torch.equal(mine[k], theirs[k]) for k in mine)
    ids = trainer.manifest.input_ids[:4]
    trainer.student.eval()
    with torch.no_grad():
        a = trainer.student(input_ids=ids).last_hidden_state
        b = loaded(input_ids=ids).last_hidden_state
    assert torch.equal(a, b)
    # the exact training state comes back: same hash, and the next step agrees
    trainer.student.train()
    again = Trainer(spec, TASK, default_teacher_dir(), env["data"], d)
    assert checkpoint.verify(d, again) == h
    trainer.step()
    again.step()
    assert again.state_hash() == trainer.state_hash()


def test_trace_cli_root_and_proof(env: dict[str, Any]) -> None:
    run = env["run"]
    r = cli(["trace", "root", "--task-id", str(TASK), "--segment-start", "0",
             "--hashes", str(run.leaves_file)], pinned=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["root"] == merkle.hex32(run.trace_root)
    r = cli(["trace", "prove", "--task-id", str(TASK), "--segment-start", "0",
             "--hashes", str(run.leaves_file), "--step", "6"], pinned=True)
    out = json.loads(r.stdout)
    assert out["index"] == 5 and out["leaf"] == merkle.hex32(run.leaves[5])
    assert merkle.verify(run.trace_root, out["leaf"], out["index"], out["proof"])


def test_a_kernels_profile_routes_student_and_teacher_through_prover_kernels(
    env: dict[str, Any],
) -> None:
    from prover.errors import KernelsUnavailableError

    spec = preset_spec("tiny", seed=11, dataset_dir=env["data"], profile_name="repcpu-1")
    try:
        trainer = Trainer(spec, TASK, default_teacher_dir(), env["data"])
    except KernelsUnavailableError as exc:
        pytest.skip(f"prover.kernels is not usable here: {exc}")
    from prover.kernels import is_enabled

    assert is_enabled(trainer.student) and is_enabled(trainer.teacher)
    loss, _ = trainer.step()
    assert loss == loss and len(trainer.state_hash()) == 32
