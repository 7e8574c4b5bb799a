"""Fault localisation: a step computed with one ulp more in one weight, with two batch rows
swapped, or with another learning rate shows up first at the op and element where the fault
entered, and there at one program step whose claimed result binary32 refutes."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from prover import checkpoint
from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec
from prover.trace.evaluate import bits
from prover.trace.kinds import OpKind, RefKind
from prover.trace.locate import locate
from prover.trace.tracer import Recorded, record_trainer_step
from prover.train import BaseStepHooks, Trainer

TASK = 5
WEIGHT = "encoder.layer.1.attention.self.query.weight"


class Fault(enum.Enum):
    ONE_ULP_WEIGHT = "one-ulp-weight"
    SWAPPED_BATCH_ROWS = "swapped-batch-rows"
    DIFFERENT_LR = "different-lr"


class _Faulty(BaseStepHooks):
    def __init__(self, fault: Fault) -> None:
        self.fault = fault

    def on_batch(self, step: int, input_ids: torch.Tensor) -> torch.Tensor | None:
        if self.fault is Fault.SWAPPED_BATCH_ROWS:
            return input_ids[[1, 0, *range(2, input_ids.shape[0])]].contiguous()
        return None

    def on_before_update(self, step: int, student: Any, optimizer: Any) -> None:
        if self.fault is Fault.DIFFERENT_LR:
            for group in optimizer.param_groups:
                group["lr"] *= 1.01


def _one_ulp(trainer: Trainer) -> None:
    p = dict(trainer.student.named_parameters())[WEIGHT]
    with torch.no_grad():
        flat = p.view(-1)
        flat[3] = torch.nextafter(flat[3], torch.tensor(float("inf")))


@pytest.fixture(scope="module")
def start(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, Recorded]:
    """The checkpoint of step 1 of a tiny repfma-1 task and the honest trace of step 2."""
    spec = preset_spec("tiny")
    tr = Trainer(spec, TASK, default_teacher_dir(), default_dataset_dir(spec.seq_len))
    tr.step()
    d = checkpoint.save(tmp_path_factory.mktemp("ck") / "s1", spec, TASK, tr.student,
                        tr.optimizer, tr.step_no, tr.rng, tr.cursor, tr.state_hash())
    return spec, d, record_trainer_step(tr)


def _claimed(spec: Any, d: Path, fault: Fault) -> Recorded:
    tr = Trainer(spec, TASK, default_teacher_dir(), default_dataset_dir(spec.seq_len), d)
    mutate = _one_ulp if fault is Fault.ONE_ULP_WEIGHT else None
    return record_trainer_step(tr, mutate=mutate, hooks=_Faulty(fault))


@pytest.mark.parametrize("fault", list(Fault), ids=lambda f: f.value)
def test_locate_fault_first_differs_where_injected(start: Any, fault: Fault) -> None:
    spec, d, honest = start
    claimed = _claimed(spec, d, fault)
    assert claimed.graph.root() == honest.graph.root()
    found = locate(honest, claimed)
    assert found is not None
    op = honest.graph.ops[found.op]
    g = honest.graph
    if fault is Fault.ONE_ULP_WEIGHT:
        j = g.state_names.index(WEIGHT)
        # the first op whose output differs reads the changed weight
        assert any(s.ref.kind is RefKind.STATE and s.ref.index == j for s in op.slots)
        assert op.kind is OpKind.GEMM
    elif fault is Fault.SWAPPED_BATCH_ROWS:
        # the first op of the step reads the batch: the teacher's token embeddings
        assert found.op == 0
        assert any(s.ref.kind is RefKind.BATCH for s in op.slots)
        assert found.element < honest.tensors.ops[0].size // 8 * 2  # in rows 0 or 1
    else:
        # nothing before the first parameter update uses the learning rate
        assert op.kind is OpKind.ADAMW_P
        assert all(o.kind is not OpKind.ADAMW_P for o in g.ops[:found.op])
        assert any(s.ref.kind is RefKind.SCALAR for s in op.slots)
    # every earlier op agrees, bit for bit
    for i in range(found.op):
        assert np.array_equal(honest.tensors.ops[i].view(np.uint32),
                              claimed.tensors.ops[i].view(np.uint32))
    # the refuted step: the claim differs from binary32 on the agreed operands
    assert bits(np.float32(found.claimed)) != bits(np.float32(found.correct))


def test_locate_honest_trace_finds_nothing(start: Any) -> None:
    spec, d, honest = start
    tr = Trainer(spec, TASK, default_teacher_dir(), default_dataset_dir(spec.seq_len), d)
    assert locate(honest, record_trainer_step(tr)) is None
