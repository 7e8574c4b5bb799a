"""Data schedule and learning-rate schedule: pure functions of the spec, the task id and the step.

Data: sample position p = (t-1)*batchSize + j (j < batchSize) of step t lies in epoch
e = p // N at offset p % N; epoch e visits the samples in the order of their keys
keccak256("veritrain/data/v1" ‖ sampleRoot ‖ u64 seed ‖ uint256 taskId ‖ u64 e ‖ u64 i) (ties by i).
So a node cannot choose its data, and tasks with one spec but different ids see different orders.

Data v2 (``schedule: "keccak-v2"``, docs/referee.md "Data schedule v2"): the same positions and
epochs, but epoch e visits offset o at sample perm_e(o), a keyed permutation one sample at a
time (no sort over the epoch), which the referee evaluates in Solidity
(contracts/src/libraries/DataSchedule.sol) from (sampleRoot, seed, taskId, p):
    key_e    = keccak256("veritrain/data/v2" ‖ sampleRoot ‖ u64 seed ‖ uint256 taskId ‖ u64 e)
    perm_e   = a 4-round balanced Feistel network over [0, 4^k), k >= 1 the least with 4^k >= N,
               halves of k bits, x = (L << k) | R; round i: (L, R) <- (R, L xor F_i(R)) with
               F_i(R) = uint256(keccak256(abi.encode(key_e, uint256 i, uint256 R))) mod 2^k;
               cycle-walking: apply it again until the value is < N (expected < 4 times).

LR: computed with integers and fractions only (no libm, no float pow/cos), rounded once to a
float, so every machine gets the same bits.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING

from eth_hash.auto import keccak

from prover.errors import ScheduleError

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


_DATA_TAG_V2 = b"veritrain/data/v2"
#: Feistel rounds of the v2 permutation (four make a keyed pseudo-random permutation).
FEISTEL_ROUNDS = 4


def epoch_key(sample_root: str, seed: int, task_id: int, epoch: int) -> bytes:
    """key_e of the v2 schedule."""
    if not 0 <= epoch < 2**64:
        raise ScheduleError(f"epoch {epoch} is outside the u64 range of the v2 schedule",
                            hint="positions past numSamples * 2^64 have no v2 sample")
    return keccak(_DATA_TAG_V2 + bytes.fromhex(sample_root.removeprefix("0x"))
                  + seed.to_bytes(8, "big") + task_id.to_bytes(32, "big")
                  + epoch.to_bytes(8, "big"))


def half_bits(n: int) -> int:
    """k of the v2 permutation over [0, n): the least k >= 1 with 4^k >= n."""
    k = 1
    while 4**k < n:
        k += 1
    return k


def feistel(key: bytes, k: int, x: int) -> int:
    """One pass of the v2 Feistel network over [0, 4^k)."""
    mask = (1 << k) - 1
    left, right = x >> k, x & mask
    for i in range(FEISTEL_ROUNDS):
        f = int.from_bytes(keccak(key + i.to_bytes(32, "big") + right.to_bytes(32, "big")), "big")
        left, right = right, left ^ (f & mask)
    return (left << k) | right


def permute(key: bytes, n: int, offset: int) -> int:
    """perm_e(offset) of the v2 schedule: the Feistel network cycle-walked into [0, n)."""
    if not 0 <= offset < n:
        raise ScheduleError(f"offset {offset} is outside the epoch's [0, {n})")
    k, x = half_bits(n), offset
    while True:
        x = feistel(key, k, x)
        if x < n:
            return x


def sample_at(sample_root: str, seed: int, task_id: int, n: int, position: int) -> int:
    """The sample index at ``position`` of the v2 data stream."""
    epoch, offset = divmod(position, n)
    return permute(epoch_key(sample_root, seed, task_id, epoch), n, offset)


def batch_indices(spec: TaskSpec, task_id: int, step: int) -> list[int]:
    """Sample indices of step ``step`` (1-based) of task ``task_id``."""
    n, b = spec.dataset.num_samples, spec.batch_size
    root = spec.dataset.sample_root
    out = []
    for j in range(b):
        p = (step - 1) * b + j
        if spec.schedule == "keccak-v2":
            out.append(sample_at(root, spec.seed, task_id, n, p))
        else:
            out.append(epoch_order(root, spec.seed, task_id, p // n, n)[p % n])
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
