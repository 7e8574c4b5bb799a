"""NaN bits in a real traced step (tiny preset, repfma-1 and repcpu-2, the real C kernels): a
step with a signalling NaN (with a payload) in one weight, +inf in one weight, or a NaN in one
AdamW second moment. Every op kind's NaN outputs are evaluated by the reference evaluator to
the kernels' exact bits (payload, sign and quiet bit), under the x86 SSE rules that
docs/referee.md "NaN payloads" states; the one exception, aten.clamp_min (op kind MAX), is
checked as the documented finding it is."""

from __future__ import annotations

import enum
import random
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
import torch

from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec
from prover.trace.evaluate import DEFAULT_NAN, bits, evaluate
from prover.trace.graph import Op, Ref
from prover.trace.kinds import OpKind, RefKind
from prover.trace.tracer import Recorded, record_trainer_step
from prover.train import Trainer

TASK = 13
PROFILES = ["repfma-1", "repcpu-2"]
WEIGHT = "encoder.layer.1.attention.self.query.weight"
#: read after WEIGHT's NaN has spread: the attention output GEMM adds it to a NaN accumulator
BIAS = "encoder.layer.1.attention.output.dense.bias"
SNAN = 0x7FA0BEEF       # signalling, payload 0x20BEEF: quieted it reads 0x7FE0BEEF
NEG_QNAN = 0xFFD00042   # quiet, sign set
#: NaN elements per kind checked (and half as many numbers beside them)
PER_KIND = 8


class Inject(enum.Enum):
    NAN_WEIGHT = "nan-weight"
    INF_WEIGHT = "inf-weight"
    NAN_MOMENT = "nan-moment"
    TWO_NANS = "two-nans"


def _bits_tensor(b: int) -> torch.Tensor:
    return torch.tensor([b], dtype=torch.int64).to(torch.int32).view(torch.float32)


def _inject(how: Inject) -> Any:
    def mutate(trainer: Trainer) -> None:
        p = dict(trainer.student.named_parameters())[WEIGHT]
        with torch.no_grad():
            if how is Inject.NAN_WEIGHT:
                p.view(-1)[5] = _bits_tensor(SNAN)[0]
            elif how is Inject.INF_WEIGHT:
                p.view(-1)[5] = float("inf")
            elif how is Inject.TWO_NANS:
                p.view(-1)[5] = _bits_tensor(SNAN)[0]
                bias = dict(trainer.student.named_parameters())[BIAS]
                bias.view(-1)[0] = _bits_tensor(NEG_QNAN)[0]
            else:
                trainer.optimizer.state[p]["exp_avg_sq"].view(-1)[5] = _bits_tensor(NEG_QNAN)[0]
    return mutate


@pytest.fixture(scope="module", params=PROFILES)
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _record(profile: str, how: Inject) -> Recorded:
    """Step 2 of a tiny task with the fault injected after step 1."""
    spec = preset_spec("tiny", profile_name=profile)
    tr = Trainer(spec, TASK, default_teacher_dir(), default_dataset_dir(spec.seq_len))
    tr.step()
    with np.errstate(all="ignore"):
        return record_trainer_step(tr, mutate=_inject(how))


def _nan_picks(r: Recorded, seed: int) -> list[tuple[Op, int]]:
    """Up to PER_KIND NaN elements of every kind (spread over its ops) and half as many
    non-NaN ones."""
    rng = random.Random(seed)
    by_kind: dict[OpKind, list[Op]] = defaultdict(list)
    for op in r.graph.ops:
        by_kind[op.kind].append(op)
    picks: list[tuple[Op, int]] = []
    for ops in by_kind.values():
        nan_at = [(op, np.flatnonzero(np.isnan(r.tensors.ops[op.index]))) for op in ops]
        nan_at = [(op, at) for op, at in nan_at if at.size]
        for i in range(PER_KIND if nan_at else 0):
            op, at = nan_at[i % len(nan_at)]
            picks.append((op, int(rng.choice(at))))
        for i in range(PER_KIND // 2):
            op = ops[i % len(ops)]
            ok = np.flatnonzero(~np.isnan(r.tensors.ops[op.index]))
            if ok.size:
                picks.append((op, int(rng.choice(ok))))
    return picks


def _targets(r: Recorded) -> list[tuple[Op, int]]:
    """Where the two NaNs of TWO_NANS meet: element 0 of the GEMM that adds BIAS (a NaN
    accumulator first, then the NaN bias) and element 0 of the bias's AdamW update."""
    j = r.graph.state_names.index(BIAS)
    gemm = next(op for op in r.graph.ops if op.kind is OpKind.GEMM and op.kattrs[5]
                and op.slots[2].ref == Ref(RefKind.STATE, j))
    update = dict(r.graph.final)[BIAS]
    return [(gemm, 0), (r.graph.ops[update.index], 0)]


def _check(r: Recorded, picks: list[tuple[Op, int]]) -> tuple[list[Any], list[Any],
                                                               dict[OpKind, set[int]]]:
    """(mismatches, clamp_min NaN cases, NaN bits seen per kind)."""
    wrong, clamp, nan_bits = [], [], defaultdict(set)
    for op, e in picks:
        want = bits(r.tensors.ops[op.index][e])
        with np.errstate(all="ignore"):
            got = bits(evaluate(op, e, r.tensors))
        x = r.tensors.read(op, 0, e) if op.kind is OpKind.MAX else np.float32(0)
        if x != x:
            # aten.clamp_min passes a NaN x through unquieted; the program MAX(x, bound) is
            # maxss, which gives the bound (docs/referee.md "NaN payloads")
            clamp.append((hex(got), hex(want), hex(bits(x)), hex(bits(r.tensors.read(op, 1, e)))))
        elif got != want:
            wrong.append((op.index, op.kind.name, op.label, e, hex(got), hex(want)))
        if np.isnan(r.tensors.ops[op.index][e]):
            nan_bits[op.kind].add(want)
    return wrong, clamp, nan_bits


@pytest.mark.parametrize("how", list(Inject), ids=lambda h: h.value)
def test_evaluate_nan_elements_give_kernel_bits(profile: str, how: Inject) -> None:
    r = _record(profile, how)
    picks = _nan_picks(r, seed=len(how.value))
    if how is Inject.TWO_NANS:
        picks += _targets(r)
    wrong, clamp, nan_bits = _check(r, picks)
    assert wrong == []
    # the one kind whose NaN the program does not give: clamp_min keeps x, MAX gives the bound
    assert all(want == x and got == bound for got, want, x, bound in clamp)
    seen = set().union(*nan_bits.values())
    if how in (Inject.NAN_WEIGHT, Inject.TWO_NANS):
        # the payload travels: forward, backward, the clip and every AdamW output
        assert SNAN | 0x400000 in seen and clamp
        assert {OpKind.GEMM, OpKind.SOFTMAX, OpKind.LN_OUT, OpKind.GELU, OpKind.ADAMW_P,
                OpKind.ADAMW_M, OpKind.ADAMW_V, OpKind.CLIP_COEF} <= set(nan_bits)
    if how is Inject.TWO_NANS:
        gemm, update = _targets(r)
        assert bits(r.tensors.ops[gemm[0].index][0]) == SNAN | 0x400000  # acc's NaN first
        assert bits(r.tensors.ops[update[0].index][0]) == NEG_QNAN  # p's own NaN first
    elif how is Inject.INF_WEIGHT:
        assert DEFAULT_NAN in seen and clamp  # inf - inf, 0 * inf: invalid operations
        assert len(nan_bits) >= 10
    elif how is Inject.NAN_MOMENT:
        # only that parameter's update reads the moment: v and p take its NaN
        assert set(nan_bits) == {OpKind.ADAMW_P, OpKind.ADAMW_V}
        assert seen == {NEG_QNAN} and not clamp
