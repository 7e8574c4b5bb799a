"""Copying another task's published trajectory does not work: leaves bind the task id, and the
data schedule and initial RNG derive from it, so the same spec under another task id trains on
different batches and yields different state hashes and leaves. A node that commits a copied
root is caught at its first step by any replay (shown here with the prover; the on-chain dispute
that follows is the ordinary wrong-leaf case in test_adv_contracts.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from prover import merkle, schedule, segment
from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec

ORIGINAL, COPY = 11, 12


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    spec = preset_spec("tiny", seed=9, totalSteps=16)
    data = default_dataset_dir(spec.seq_len)
    run = segment.run_segment(spec, ORIGINAL, 0, None, default_teacher_dir(), data,
                              tmp_path_factory.mktemp("orig"))
    return {"spec": spec, "data": data, "run": run}


def test_same_spec_other_task_id_has_another_data_schedule(original: dict[str, Any]) -> None:
    spec = original["spec"]
    for step in range(1, spec.segment_steps + 1):
        assert schedule.batch_indices(spec, ORIGINAL, step) != schedule.batch_indices(
            spec, COPY, step
        )


def test_copied_leaves_do_not_verify_under_the_copying_task(original: dict[str, Any]) -> None:
    run = original["run"]
    # the copier's leaves, had it re-labelled the original state hashes with its own task id
    relabelled = merkle.leaves_for(COPY, 0, run.state_hashes)
    assert all(a != b for a, b in zip(relabelled, run.leaves, strict=True))
    assert merkle.trace_root(relabelled) != run.trace_root


def test_copied_trajectory_fails_replay_at_the_first_step(original: dict[str, Any]) -> None:
    spec, run = original["spec"], original["run"]
    # a copier commits the original root (and leaves) for task COPY; a challenger replays COPY
    # for one step and compares with the committed leaf of step 1
    got = segment.replay(spec, COPY, None, 1, default_teacher_dir(), original["data"],
                         expected_leaves=run.leaves[:1])
    assert got.first_mismatch == 1
    # even its state hash differs (other batch), not only the task id inside the leaf
    assert got.state_hashes[0] != run.state_hashes[0]
    # the honest replay of the ORIGINAL task matches (the check is not vacuous)
    same = segment.replay(spec, ORIGINAL, None, 1, default_teacher_dir(), original["data"],
                          expected_leaves=run.leaves[:1])
    assert same.first_mismatch is None and same.leaves[0] == run.leaves[0]


def test_copied_checkpoint_is_refused_as_a_start_state(
    original: dict[str, Any], tmp_path: Path
) -> None:
    """The copier cannot start segment 1 of its task from the original's checkpoint either."""
    from prover.checkpoint import Defect
    from prover.errors import CheckpointError

    with pytest.raises(CheckpointError, match=r"says taskId \d+, expected \d+") as refused:
        segment.run_segment(original["spec"], COPY, 1, original["run"].checkpoint_dir,
                            default_teacher_dir(), original["data"], tmp_path / "seg1")
    assert refused.value.defect is Defect.LABEL
