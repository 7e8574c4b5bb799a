"""Re-tracing a disputed step for the referee game (docs/referee.md "The bots"): replay from a
checkpoint up to the state of step t-1, record step t, and keep what binds it to the chain (the
state tensors' shapes, the leaves of the states before and after, the scalar table's leaves).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from prover.trace.commit import TraceError
from prover.trace.game import StepView, load_view, save_view, view_of
from prover.trace.openings import BatchRow, batch_rows

if TYPE_CHECKING:
    from prover.spec import TaskSpec
    from prover.trace.tracer import Mutation
    from prover.train import Trainer


def state_leaves(trainer: Trainer) -> tuple[list[tuple[int, ...]], list[bytes]]:
    """The shapes of the trainer's state tensors and the leaves of its state v2 tree."""
    from prover import statehash

    params = statehash.param_tensors(trainer.student)
    optim = statehash.optimizer_tensors(trainer.student, trainer.optimizer)
    shapes = [tuple(int(d) for d in t.shape) for _, t in (*params, *optim)]
    return shapes, statehash.v2_leaves(params, optim, trainer.step_no, trainer.rng,
                                       trainer.cursor)


def binding_proofs(trainer: Trainer, step: int) -> tuple[list[BatchRow], tuple[int, bytes, int]]:
    """What the input bindings of step ``step`` are opened with (the trainer holds the state of
    step ``step - 1``): the batch's dataset rows with their proofs under ``sampleRoot`` (the
    schedule's samples of the step) and the state's scalar preimage (step, RNG digest, cursor)."""
    import hashlib

    from prover import schedule
    from prover.spec import canonical_json

    samples = schedule.batch_indices(trainer.spec, trainer.task_id, step)
    rows = batch_rows(trainer.manifest.input_ids.numpy(), samples)
    digest = hashlib.sha256(canonical_json(trainer.rng)).digest()
    return rows, (trainer.step_no, digest, trainer.cursor)


def retrace(spec: TaskSpec, task_id: int, step: int, start: str | Path | None,
            teacher_dir: str | Path, dataset_dir: str | Path,
            start_state_hash: bytes | None = None, mutate: Mutation | None = None,
            mutate_after: Mutation | None = None) -> StepView:
    """The view of step ``step`` replayed from checkpoint ``start`` (any step before ``step``;
    None: the initial state). ``mutate`` changes the trainer just before the step and
    ``mutate_after`` the state after it (tests' cheating nodes: a state after the step that is
    not what its ops computed)."""
    from prover import statehash
    from prover.trace.roots import scalar_leaf, scalar_table
    from prover.trace.tracer import record_trainer_step
    from prover.train import Trainer

    if spec.state_hash != statehash.TREE_V2:
        raise TraceError(f"the spec's stateHash is {spec.state_hash!r}: the referee game needs "
                         "tree-v2 states", hint="dispute this task with the jury")
    trainer = Trainer(spec, task_id, teacher_dir, dataset_dir, start_checkpoint=start,
                      start_state_hash=start_state_hash)
    if not trainer.step_no < step <= spec.total_steps:
        raise TraceError(f"step {step} cannot be traced from a checkpoint of step "
                         f"{trainer.step_no}", hint="start from an earlier checkpoint")
    while trainer.step_no < step - 1:
        trainer.step()
    shapes, before = state_leaves(trainer)
    rows, before_scalar = binding_proofs(trainer, step)
    recorded = record_trainer_step(trainer, mutate=mutate)
    if mutate_after is not None:
        mutate_after(trainer)
        recorded.state_hash_after = trainer.state_hash()
    _, after = state_leaves(trainer)
    scalars = [scalar_leaf(scalar_table(spec, u)) for u in range(1, spec.total_steps + 1)]
    return view_of(recorded, shapes, before, after, scalars, rows, before_scalar)


def cached_retrace(cache_dir: str | Path, spec: TaskSpec, task_id: int, step: int,
                   start: str | Path | None, teacher_dir: str | Path, dataset_dir: str | Path,
                   start_state_hash: bytes | None = None, mutate: Mutation | None = None,
                   mutate_after: Mutation | None = None) -> StepView:
    """:func:`retrace` once: the view is written under ``cache_dir`` (in a background thread,
    so the first answer does not wait for the disk; ``game.json`` is written last, so a cache cut
    short by a crash is never read) and read back by a later process."""
    view = load_view(cache_dir)
    if view is not None and view.step == step:
        return view
    view = retrace(spec, task_id, step, start, teacher_dir, dataset_dir, start_state_hash, mutate,
                   mutate_after)
    threading.Thread(target=save_view, args=(view, cache_dir), name="referee-cache",
                     daemon=True).start()
    return view
