"""A real traced step (tiny preset, repfma-1 and repcpu-2): its graph, and every op kind's
element programs evaluated by the reference evaluator to the kernels' exact bits."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import numpy as np
import pytest

from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec
from prover.trace.evaluate import bits, evaluate
from prover.trace.graph import Op
from prover.trace.kinds import OpKind, RefKind
from prover.trace.roots import SCALAR_NAMES, scalar_leaf, scalar_root, scalar_table
from prover.trace.tracer import Recorded, record_trainer_step
from prover.train import Trainer

TASK = 7
PROFILES = ["repfma-1", "repcpu-2"]
#: Kinds a tiny step of each profile runs (every kind the kernels of the profile use).
SHARED = {OpKind.GEMM, OpKind.SUM, OpKind.SOFTMAX, OpKind.SOFTMAX_BWD, OpKind.LN_MEAN,
          OpKind.LN_RSTD, OpKind.LN_OUT, OpKind.LN_BWD_DX, OpKind.LN_BWD_DW, OpKind.LN_BWD_DB,
          OpKind.GELU, OpKind.GELU_BWD, OpKind.ADD, OpKind.SUB, OpKind.MUL, OpKind.RSQRT,
          OpKind.MAX, OpKind.CUBE, OpKind.CLAMP_MIN_BWD, OpKind.EMBED_BWD, OpKind.CLIP_COEF,
          OpKind.ADAMW_P, OpKind.ADAMW_M, OpKind.ADAMW_V, OpKind.STACK}
KINDS = {"repfma-1": SHARED | {OpKind.FSUM, OpKind.FSUM_SQ}, "repcpu-2": SHARED | {OpKind.PAD}}


def _trainer(profile: str) -> Trainer:
    spec = preset_spec("tiny", profile_name=profile)
    return Trainer(spec, TASK, default_teacher_dir(), default_dataset_dir(spec.seq_len))


@pytest.fixture(scope="module", params=PROFILES)
def traced(request: pytest.FixtureRequest) -> tuple[str, Recorded, Recorded]:
    """Steps 2 and 3 of a tiny task, recorded (step 1 reads zero moments: its own graph)."""
    tr = _trainer(request.param)
    tr.step()
    return request.param, record_trainer_step(tr), record_trainer_step(tr)


def sample(r: Recorded, per_kind: int, seed: int = 0) -> dict[OpKind, list[tuple[Op, int]]]:
    """``per_kind`` elements of every kind, spread over its ops; half of them among the
    nonzero outputs (most embedding-gradient rows are zero)."""
    rng = random.Random(seed)
    by_kind: dict[OpKind, list[Op]] = defaultdict(list)
    for op in r.graph.ops:
        by_kind[op.kind].append(op)
    out: dict[OpKind, list[tuple[Op, int]]] = {}
    for kind, ops in by_kind.items():
        picks = []
        for i in range(per_kind):
            op = ops[i % len(ops)]
            nz = np.flatnonzero(r.tensors.ops[op.index])
            e = int(rng.choice(nz)) if i % 2 and nz.size else rng.randrange(op.numel)
            picks.append((op, e))
        out[kind] = picks
    return out


def _check(r: Recorded, per_kind: int) -> dict[str, Any]:
    wrong = []
    for _kind, picks in sample(r, per_kind).items():
        for op, e in picks:
            want = r.tensors.ops[op.index][e]
            got = evaluate(op, e, r.tensors)
            if bits(got) != bits(want):
                wrong.append((op.index, op.kind.name, op.label, e, float(got), float(want)))
    return {"wrong": wrong}


def test_record_step_covers_every_kind_of_the_profile(traced: Any) -> None:
    profile, r, _ = traced
    kinds = {op.kind for op in r.graph.ops}
    assert kinds == KINDS[profile]
    # the trace starts and ends at the trainer's state hashes (record_trainer_step checks it)
    assert r.state_hash_before != r.state_hash_after
    # every state tensor after the step comes from an op, or is a state tensor left as it was
    assert all(ref.kind in (RefKind.OP, RefKind.STATE) for _, ref in r.graph.final)
    assert sum(ref.kind is RefKind.OP for _, ref in r.graph.final) == 4 * 37  # p, m, v, step


def test_scalar_table_from_spec_equals_recorded_scalars(traced: Any) -> None:
    profile, r2, r3 = traced
    spec = preset_spec("tiny", profile_name=profile)
    for r in (r2, r3):
        assert tuple(r.graph.scalar_names) == SCALAR_NAMES
        table = scalar_table(spec, r.step)
        assert np.array_equal(np.array(r.tensors.scalars, dtype=np.float32).view(np.uint32),
                              table.view(np.uint32))
    assert scalar_leaf(scalar_table(spec, 2)) != scalar_leaf(scalar_table(spec, 3))
    assert len(scalar_root(spec)) == 32


def test_graph_root_depends_on_shapes_not_values(traced: Any) -> None:
    _, r2, r3 = traced
    assert r2.graph.root() == r3.graph.root()
    assert r2.op_root() != r3.op_root()  # the values differ, so do their commitments


def test_evaluate_every_kind_gives_kernel_bits(traced: Any) -> None:
    """60 elements of every kind (thousands in all with the heavy variant)."""
    _, r, _ = traced
    assert _check(r, 60)["wrong"] == []


@pytest.mark.heavy
def test_evaluate_thousand_elements_per_kind_gives_kernel_bits(traced: Any) -> None:
    _, r, _ = traced
    assert _check(r, 1000)["wrong"] == []


def test_evaluate_a_changed_operand_gives_other_bits(traced: Any) -> None:
    """The check can fail: a changed input of an element changes the evaluated result."""
    _, r, _ = traced
    op = next(o for o in r.graph.ops if o.kind is OpKind.GEMM and
              o.slots[0].ref.kind is RefKind.OP)
    e = int(np.flatnonzero(r.tensors.ops[op.index])[0])
    src = r.tensors.ops[op.slots[0].ref.index]
    before = bits(evaluate(op, e, r.tensors))
    _, at = r.tensors.locate(op, 0, (e // op.kattrs[2]) * op.kattrs[3])
    saved = src[at]
    src[at] = saved + np.float32(1.0)
    try:
        assert bits(evaluate(op, e, r.tensors)) != before
    finally:
        src[at] = saved


@pytest.mark.heavy
def test_evaluate_default_preset_every_kind_gives_kernel_bits() -> None:
    """The benchmark task's step (repfma-1): 200 elements of every kind."""
    spec = preset_spec("default")
    tr = Trainer(spec, TASK, default_teacher_dir(), default_dataset_dir(spec.seq_len))
    tr.step()
    r = record_trainer_step(tr)
    assert {op.kind for op in r.graph.ops} == KINDS["repfma-1"]
    assert _check(r, 200)["wrong"] == []


@pytest.mark.parametrize("state_hash", ["tree-v2", "sha256"])
def test_recorded_state_hashes_are_the_trainers(state_hash: str) -> None:
    """The recording takes the state v2 leaves from its own work (the sink's commitments of the
    state before, the update ops' commitments for the state after) instead of hashing the state
    twice: they are, leaf for leaf, what hashing the trainer's state gives."""
    from prover.trace.retrace import state_leaves

    spec = preset_spec("tiny", profile_name="repcpu-2", state_hash=state_hash)
    tr = Trainer(spec, TASK, default_teacher_dir(), default_dataset_dir(spec.seq_len))
    for _ in range(2):  # step 1 (no optimizer state before it) and step 2
        hash_before = tr.state_hash()
        shapes, before = state_leaves(tr)
        r = record_trainer_step(tr)
        assert r.state_hash_before == hash_before
        assert r.state_hash_after == tr.state_hash() != hash_before
        if state_hash == "tree-v2":
            assert r.leaves_before == before and r.state_shapes == shapes
            assert r.leaves_after == state_leaves(tr)[1]
        else:
            assert r.leaves_before is None and r.leaves_after is None
