"""The registered StepGraph's fields from a spec and two recorded steps (roots.step_graph_fields):
refused for specs the referee cannot check, and on a real tiny v2 task every field as the
contract's struct wants it (step 1's graph root of its own, the dataset, the initial state)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from prover.errors import RefereeGraphError
from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec
from prover.trace.roots import final_root, step_graph_fields
from prover.trace.tracer import Recorded, record_trainer_step
from prover.train import Trainer

TASK = 3


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"schedule": "keccak-v1", "state_hash": "blake3"}, "schedule"),  # a v1 spec
    ({"state_hash": "blake3"}, "stateHash"),            # v2 schedule, blake3 state hash
])
def test_step_graph_fields_refuses_v1_specs(overrides: dict[str, Any], reason: str) -> None:
    spec = preset_spec("tiny", **overrides)
    unused = cast(Recorded, None)
    with pytest.raises(RefereeGraphError) as info:
        step_graph_fields(spec, unused, unused)
    assert info.value.reason == reason
    assert "keccak-v2" in str(info.value) or "tree-v2" in str(info.value)


@pytest.mark.heavy
def test_step_graph_fields_of_a_real_v2_task() -> None:
    spec = preset_spec("tiny", state_hash="tree-v2", schedule="keccak-v2")
    tr = Trainer(spec, TASK, default_teacher_dir(), default_dataset_dir(spec.seq_len))
    first, later = record_trainer_step(tr), record_trainer_step(tr)
    f = step_graph_fields(spec, first, later)
    assert f.graph_root == later.graph.root() and f.graph_root1 == first.graph.root()
    assert f.graph_root1 != f.graph_root  # AdamW reads Const(0) moments at step 1
    assert f.final_root == final_root(first.graph.final) == final_root(later.graph.final)
    assert f.initial_state == first.state_hash_before
    assert f.n_state == len(later.graph.state_names) and f.n_ops == len(later.graph.ops)
    assert f.sample_root.hex() == spec.dataset.sample_root[2:]
    assert (f.seed, f.num_samples, f.batch_size, f.seq_len, f.total_steps) == (
        spec.seed, spec.dataset.num_samples, spec.batch_size, spec.seq_len, spec.total_steps)
    assert len(f.as_tuple()) == 15
    with pytest.raises(RefereeGraphError):
        step_graph_fields(spec, later, later)  # `first` must be step 1
