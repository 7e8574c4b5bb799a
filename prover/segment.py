"""Segment runs and replays: the two things nodes, challengers and jurors call.

Both run the same loop. The state hash of step t is computed on a background thread while step
t+1's forward and backward run, and joined before step t+1's update mutates the state, so the
commitment costs little more than the hashing that does not fit under a forward/backward.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prover import checkpoint, merkle, statehash
from prover.errors import CheckpointError
from prover.train import NO_HOOKS, StepHooks, StepObserver, StepRecord, Trainer

if TYPE_CHECKING:
    from concurrent.futures import Future

    from prover.spec import TaskSpec


@dataclass
class SegmentResult:
    """What a node commits for segment ``segment``: steps start+1 .. start+segmentSteps."""

    task_id: int
    segment: int
    steps: list[int]
    state_hashes: list[bytes]
    leaves: list[bytes]
    trace_root: bytes
    end_state_hash: bytes
    checkpoint_dir: Path
    leaves_file: Path
    losses: list[float] = field(default_factory=list)


@dataclass
class ReplayResult:
    """Hashes a replay computed, and the first step where they disagree with expected leaves."""

    task_id: int
    start_step: int
    steps: list[int]
    state_hashes: list[bytes]
    leaves: list[bytes]
    first_mismatch: int | None = None
    losses: list[float] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return self.first_mismatch is None


def _loop(trainer: Trainer, upto: int, observer: StepObserver | None = None,
          hooks: StepHooks | None = None,
          expected: Mapping[int, bytes] | None = None, stop_on_mismatch: bool = False,
          hash_threads: int = 1, progress: Any = None) -> tuple[list[int], list[bytes], list[bytes],
                                                               list[float], int | None]:
    spec, task_id = trainer.spec, trainer.task_id
    hasher = statehash.BackgroundHasher(spec.state_hash, hash_threads)
    steps: list[int] = []
    hashes: list[bytes] = []
    leaves: list[bytes] = []
    losses: list[float] = []
    mismatch: int | None = None
    pending: tuple[int, float, float, Future[bytes]] | None = None

    def finish(p: tuple[int, float, float, Future[bytes]]) -> bool:
        nonlocal mismatch
        t, loss, lr, fut = p
        h = fut.result()
        lf = merkle.leaf(task_id, t, h)
        steps.append(t)
        hashes.append(h)
        leaves.append(lf)
        losses.append(loss)
        if observer is not None:
            observer.on_step_end(StepRecord(task_id, t, h, lf, loss, lr))
        if progress is not None:
            progress(t)
        if expected is not None and mismatch is None and t in expected and expected[t] != lf:
            mismatch = t
            return stop_on_mismatch
        return False

    try:
        while trainer.step_no < upto:
            loss = trainer.forward_backward(hooks or NO_HOOKS)  # overlaps the pending hash
            if pending is not None and finish(pending):  # join before the state changes
                pending = None
                break
            lr = trainer.update(hooks or NO_HOOKS)
            pending = (trainer.step_no, loss, lr,
                       hasher.submit(trainer.student, trainer.optimizer, trainer.step_no,
                                     trainer.rng, trainer.cursor))
        if pending is not None:
            finish(pending)
    finally:
        hasher.close()
    return steps, hashes, leaves, losses, mismatch


def run_segment(spec: TaskSpec, task_id: int, k: int, start_checkpoint_dir: str | Path | None,
                teacher_dir: str | Path, dataset_dir: str | Path, out_dir: str | Path,
                observer: StepObserver | None = None, hooks: StepHooks | None = None,
                check_profile: bool = True, hash_threads: int = 1,
                progress: Any = None, start_state_hash: bytes | None = None) -> SegmentResult:
    """Train segment ``k`` from its start checkpoint (None for k == 0), which must hold
    ``start_state_hash`` (None: its state.json label); write ``out_dir/checkpoint`` (end state)
    and ``out_dir/leaves.json``."""
    start = k * spec.segment_steps
    if not 0 <= k < spec.num_segments():
        raise CheckpointError(f"segment {k} is outside the task's 0..{spec.num_segments() - 1}")
    if start_checkpoint_dir is None and k != 0:
        raise CheckpointError(f"segment {k} needs the checkpoint of step {start}",
                              hint="only segment 0 starts from the spec's initial state")
    trainer = Trainer(spec, task_id, teacher_dir, dataset_dir, start_checkpoint_dir, check_profile,
                      start_state_hash)
    if trainer.step_no != start:
        raise CheckpointError(f"checkpoint is at step {trainer.step_no}, segment "
                              f"{k} starts at {start}",
                              step=trainer.step_no)
    steps, hashes, leaves, losses, _ = _loop(trainer, start + spec.segment_steps, observer, hooks,
                                             hash_threads=hash_threads, progress=progress)
    out = Path(out_dir)
    ckpt = checkpoint.save(out / "checkpoint", spec, task_id, trainer.student, trainer.optimizer,
                           trainer.step_no, trainer.rng, trainer.cursor, hashes[-1])
    leaves_file = merkle.write_leaves_file(out / "leaves.json", task_id, k, steps, hashes, losses)
    return SegmentResult(task_id, k, steps, hashes, leaves, merkle.trace_root(leaves), hashes[-1],
                         ckpt, leaves_file, losses)


def _expected_map(expected: Sequence[bytes | str] | Mapping[int, bytes | str] | None,
                  start: int) -> dict[int, bytes] | None:
    if expected is None:
        return None
    if isinstance(expected, Mapping):
        return {int(t): merkle.to_bytes32(v) for t, v in expected.items()}
    return {start + 1 + i: merkle.to_bytes32(v) for i, v in enumerate(expected)}


def replay(spec: TaskSpec, task_id: int, start_checkpoint_dir: str | Path | None, upto_step: int,
           teacher_dir: str | Path, dataset_dir: str | Path,
           expected_leaves: Sequence[bytes | str] | Mapping[int, bytes | str] | None = None,
           stop_on_mismatch: bool = True, observer: StepObserver | None = None,
           hooks: StepHooks | None = None, check_profile: bool = True, hash_threads: int = 1,
           progress: Any = None, start_state_hash: bytes | None = None) -> ReplayResult:
    """Replay from a checkpoint (None: the initial state) up to state ``upto_step``; the
    checkpoint must hold ``start_state_hash`` (None: its state.json label).

    ``expected_leaves``: a list aligned with steps start+1.. or a {step: leaf} map; the result's
    ``first_mismatch`` is the first step whose leaf differs (the replay stops there unless
    ``stop_on_mismatch`` is False).
    """
    # the Trainer loads the start checkpoint through checkpoint.require_state (the one judge)
    trainer = Trainer(spec, task_id, teacher_dir, dataset_dir, start_checkpoint_dir, check_profile,
                      start_state_hash)
    start = trainer.step_no
    if not start < upto_step <= spec.total_steps:
        raise CheckpointError(f"replay must end after the start step {start} and at most at "
                              f"totalSteps {spec.total_steps}, got {upto_step}", step=upto_step)
    steps, hashes, leaves, losses, mismatch = _loop(
        trainer, upto_step, observer, hooks, _expected_map(expected_leaves, start),
        stop_on_mismatch, hash_threads, progress)
    return ReplayResult(task_id, start, steps, hashes, leaves, mismatch, losses)


def initial_state_hash(spec: TaskSpec, task_id: int, teacher_dir: str | Path,
                       dataset_dir: str | Path, check_profile: bool = True) -> bytes:
    """State hash of step 0 (the spec's initial student, empty optimizer state)."""
    return Trainer(spec, task_id, teacher_dir, dataset_dir, None, check_profile).state_hash()
