"""The requester records a task's step-graph roots with it (issue #18): ``create_task`` with
``step_graph=True`` computes them from the spec, teacher and dataset and posts the task with
them in one transaction (the referee settles it); the deployment's default (on) does so for
every spec that can be refereed and leaves the others (v1 specs, stock profiles) to the jury; a
spec without a step graph is refused by name when one is asked for. Real anvil, contracts,
embedded store, torch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.node.conftest import E18

REQUESTER = 1


def _create(p: Any, client: Any, spec: Any, tmp_path: Path, step_graph: bool | None) -> Any:
    from node.requester import TaskTerms, create_task
    from prover.presets import default_dataset_dir, default_teacher_dir

    terms = TaskTerms(64 * E18, spec.total_steps, spec.segment_steps)
    return create_task(p, client, spec, terms, default_teacher_dir(),
                       default_dataset_dir(spec.seq_len), tmp_path / "cache",
                       step_graph=step_graph)


def test_step_graph_is_recorded_with_the_task(protocol: Any, client: Any,
                                              tiny2_published: Any, tmp_path: Path) -> None:
    from prover.presets import default_dataset_dir, default_teacher_dir
    from prover.trace.roots import task_roots

    p = protocol(REQUESTER)
    spec = tiny2_published.spec
    created = _create(p, client, spec, tmp_path, step_graph=True)
    assert created.roots is not None and p.is_refereed(created.task_id)
    on_chain = p.step_graph(created.task_id)
    assert {k: (bytes(v) if isinstance(v, bytes) else int(v)) for k, v in on_chain.items()} == \
        created.roots.as_struct()
    # what a node recomputes for this task id is what was recorded
    again = task_roots(spec, created.task_id, default_teacher_dir(),
                       default_dataset_dir(spec.seq_len))
    again.check(created.task_id, on_chain)
    assert created.roots.n_ops >= 2 and created.roots.total_steps == spec.total_steps


def test_default_is_the_referee_for_a_spec_that_can_have_a_graph(
        protocol: Any, client: Any, tiny2_published: Any, tmp_path: Path) -> None:
    p = protocol(REQUESTER)
    assert p.addresses.stepGraphByDefault is True
    created = _create(p, client, tiny2_published.spec, tmp_path, step_graph=None)
    assert created.roots is not None and p.is_refereed(created.task_id)
    assert p.adjudicator_of(created.task_id) == p.addresses.referee


def test_a_v1_spec_stays_with_the_jury_and_cannot_ask_for_the_referee(
        protocol: Any, client: Any, tmp_path: Path) -> None:
    from node.errors import StepGraphUnavailableError
    from prover.presets import preset_spec

    p = protocol(REQUESTER)
    spec = preset_spec("tiny", schedule="keccak-v1")
    created = _create(p, client, spec, tmp_path, step_graph=None)
    assert created.roots is None and not p.is_refereed(created.task_id)
    assert p.adjudicator_of(created.task_id) == p.addresses.adjudicator
    before = p.task_count()
    with pytest.raises(StepGraphUnavailableError, match="keccak-v1") as err:
        _create(p, client, spec, tmp_path, step_graph=True)
    assert err.value.reason == "schedule" and p.task_count() == before


def test_profile_without_step_graph_is_refused(protocol: Any, client: Any,
                                               tmp_path: Path) -> None:
    from node.errors import StepGraphUnavailableError
    from prover.presets import preset_spec

    p = protocol(REQUESTER)
    spec = preset_spec("tiny", profile_name="stock-avx2-1")
    before = p.task_count()
    with pytest.raises(StepGraphUnavailableError, match="stock-avx2-1") as err:
        _create(p, client, spec, tmp_path, step_graph=True)
    assert err.value.reason == "profile" and p.task_count() == before
