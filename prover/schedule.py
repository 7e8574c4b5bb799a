"""Data schedule and learning-rate schedule: pure functions of the spec, the task id and the step.

Data: sample position p = (t-1)*batchSize + j (j < batchSize) of step t lies in epoch
e = p // N at offset p % N; epoch e visits the samples in the order of their keys
keccak256("veritrain/data/v1" ‖ sampleRoot ‖ u64 seed ‖ uint256 taskId ‖ u64 e ‖ u64 i) (ties by i).
So a node cannot choose its data, and tasks with one spec but different ids see different orders.

LR: computed with integers and fractions only (no libm, no float pow/cos), rounded once to a
float, so every machine gets the same bits.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING

from eth_hash.auto import keccak

if TYPE_CHECKING:
    import torch

    from prover.spec import TaskSpec

_DATA_TAG = b"veritrain/data/v1"


@lru_cache(maxsize=8)
def epoch_order(sample_root: str, seed: int, task_id: int, epoch: int, n: int) -> tuple[int, ...]:
    """The visiting order of the n samples in ``epoch`` (a permutation of range(n))."""
    prefix = (_DATA_TAG + bytes.fromhex(sample_root.removeprefix("0x")) + seed.to_bytes(8, "big")
              + task_id.to_bytes(32, "big") + epoch.to_bytes(8, "big"))
    keys = [(keccak(prefix + i.to_bytes(8, "big")), i) for i in range(n)]
    keys.sort()
    return tuple(i for _, i in keys)


def batch_indices(spec: TaskSpec, task_id: int, step: int) -> list[int]:
    """Sample indices of step ``step`` (1-based) of task ``task_id``."""
    n, b = spec.dataset.num_samples, spec.batch_size
    out = []
    for j in range(b):
        p = (step - 1) * b + j
        order = epoch_order(spec.dataset.sample_root, spec.seed, task_id, p // n, n)
        out.append(order[p % n])
    return out


def batch(spec: TaskSpec, task_id: int, step: int, input_ids: torch.Tensor) -> torch.Tensor:
    """The [batchSize, seqLen] token batch of step ``step``."""
    import torch

    return input_ids.index_select(0, torch.tensor(batch_indices(spec, task_id, step)))


def cursor_after(spec: TaskSpec, step: int) -> int:
    """Samples consumed after ``step`` optimizer steps (the data cursor)."""
    return step * spec.batch_size


# ---- learning rate ---------------------------------------------------------------------------
_BITS = 192
_ONE = 1 << _BITS


@lru_cache(maxsize=1)
def _pi_fixed() -> int:
    """pi * 2^_BITS, from Machin's formula in integers."""
    def arctan_inv(x: int) -> int:
        total, term, k, sign = 0, (_ONE << 16) // x, 1, 1
        x2 = x * x
        while term:
            total += sign * (term // k)
            term //= x2
            k += 2
            sign = -sign
        return total

    return (4 * (4 * arctan_inv(5) - arctan_inv(239))) >> 16


def cos_pi(x: Fraction) -> Fraction:
    """cos(pi * x) for 0 <= x <= 1, to ~2^-180, with integer arithmetic only."""
    y = (_pi_fixed() * x.numerator) // x.denominator  # pi*x in fixed point
    y2 = (y * y) >> _BITS
    total, term, k = _ONE, _ONE, 0
    while term:
        term = -((term * y2) >> _BITS) // ((k + 1) * (k + 2))
        total += term
        k += 2
    return Fraction(total, _ONE)


def lr_at(spec: TaskSpec, step: int) -> float:
    """Learning rate of the update that produces state ``step`` (1-based)."""
    o = spec.optimizer
    peak = Fraction(o.lr)
    if o.warmup_steps and step <= o.warmup_steps:
        return float(peak * step / o.warmup_steps)
    if o.decay == "constant" or spec.total_steps == o.warmup_steps:
        return float(peak)
    progress = Fraction(
        min(step, spec.total_steps) - o.warmup_steps, spec.total_steps - o.warmup_steps
    )
    floor = peak * Fraction(o.min_lr_ratio)
    return float(floor + (peak - floor) * (1 + cos_pi(progress)) / 2)
