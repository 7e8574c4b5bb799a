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
from prover.trace.openings import BatchRows

if TYPE_CHECKING:
    from prover.spec import TaskSpec
    from prover.trace.tracer import Mutation
    from prover.train import StepHooks, Trainer


def state_leaves(trainer: Trainer) -> tuple[list[tuple[int, ...]], list[bytes]]:
    """The shapes of the trainer's state tensors and the leaves of its state v2 tree."""
    from prover import statehash

    params = statehash.param_tensors(trainer.student)
    optim = statehash.optimizer_tensors(trainer.student, trainer.optimizer)
    shapes = [tuple(int(d) for d in t.shape) for _, t in (*params, *optim)]
    return shapes, statehash.v2_leaves(params, optim, trainer.step_no, trainer.rng,
                                       trainer.cursor)


def retrace(spec: TaskSpec, task_id: int, step: int, start: str | Path | None,
            teacher_dir: str | Path, dataset_dir: str | Path,
            start_state_hash: bytes | None = None, mutate: Mutation | None = None,
            mutate_after: Mutation | None = None, hooks: StepHooks | None = None) -> StepView:
    """The view of step ``step`` replayed from checkpoint ``start`` (any step before ``step``;
    None: the initial state). ``mutate`` changes the trainer just before the step and
    ``mutate_after`` the state after it (tests' cheating nodes: a state after the step that is
    not what its ops computed); ``hooks`` see every step replayed and the traced one (a node
    that trained with faulty hooks re-traces what it trained)."""
    from prover import statehash
    from prover.train import NO_HOOKS, Trainer

    if spec.state_hash != statehash.TREE_V2:
        raise TraceError(f"the spec's stateHash is {spec.state_hash!r}: the referee game needs "
                         "tree-v2 states", hint="dispute this task with the jury")
    trainer = Trainer(spec, task_id, teacher_dir, dataset_dir, start_checkpoint=start,
                      start_state_hash=start_state_hash)
    if not trainer.step_no < step <= spec.total_steps:
        raise TraceError(f"step {step} cannot be traced from a checkpoint of step "
                         f"{trainer.step_no}", hint="start from an earlier checkpoint")
    while trainer.step_no < step - 1:
        trainer.step(hooks or NO_HOOKS)
    view = trace_view(trainer, mutate, mutate_after, hooks)
    attach_bindings(view, spec, task_id, step, dataset_dir)
    return view


def trace_view(trainer: Trainer, mutate: Mutation | None = None,
               mutate_after: Mutation | None = None,
               hooks: StepHooks | None = None) -> StepView:
    """The view of the trainer's next step (taken: the trainer ends one step later), without
    the input bindings' rows (:func:`attach_bindings`): the step recorded and committed, the
    leaves of the states before and after it (the recording's own: no state is hashed twice)
    and the scalar table's leaves. ``bench/referee_answer.py`` times this."""
    from prover.trace.roots import scalar_leaf, scalar_table
    from prover.trace.tracer import record_trainer_step

    spec = trainer.spec
    # a cheating node's ``mutate`` changes the state its step reads, but the state before it
    # posts is the one on chain (the leaves of the state before the change)
    posted = state_leaves(trainer) if mutate is not None else None
    recorded = record_trainer_step(trainer, mutate=mutate, hooks=hooks)
    before, after = recorded.leaves_before, recorded.leaves_after
    if before is None or after is None:
        raise TraceError("the recording gave no state v2 leaves", hint="trace tree-v2 specs")
    shapes = recorded.state_shapes
    if posted is not None:
        shapes, before = posted
    if mutate_after is not None:
        mutate_after(trainer)
        recorded.state_hash_after = trainer.state_hash()
        _, after = state_leaves(trainer)
    scalars = [scalar_leaf(scalar_table(spec, u)) for u in range(1, spec.total_steps + 1)]
    return view_of(recorded, shapes, before, after, scalars)


def attach_bindings(view: StepView, spec: TaskSpec, task_id: int, step: int,
                    dataset_dir: str | Path) -> None:
    """Attach what the input bindings of step ``step`` are opened with (recomputed from the spec
    and the dataset, not cached): the dataset rows and the samples of the step's batch (the
    schedule's draw), and the state before's scalar preimage (step t-1, the RNG digest, the
    data cursor)."""
    import hashlib

    from prover import dataset, schedule
    from prover.spec import canonical_json
    from prover.train import rng_state

    rows = dataset.load_manifest(dataset_dir).input_ids.numpy()
    view.batch = BatchRows(rows, schedule.batch_indices(spec, task_id, step), spec.seq_len)
    digest = hashlib.sha256(canonical_json(rng_state(spec, task_id))).digest()
    view.before_scalar = (step - 1, digest, schedule.cursor_after(spec, step - 1))


def cached_retrace(cache_dir: str | Path, spec: TaskSpec, task_id: int, step: int,
                   start: str | Path | None, teacher_dir: str | Path, dataset_dir: str | Path,
                   start_state_hash: bytes | None = None, mutate: Mutation | None = None,
                   mutate_after: Mutation | None = None,
                   hooks: StepHooks | None = None) -> StepView:
    """:func:`retrace` once: the view is written under ``cache_dir`` (in a background thread,
    so the first answer does not wait for the disk; ``game.json`` is written last, so a cache cut
    short by a crash is never read) and read back by a later process."""
    view = load_view(cache_dir)
    if view is not None and view.step == step:
        attach_bindings(view, spec, task_id, step, dataset_dir)
        return view
    view = retrace(spec, task_id, step, start, teacher_dir, dataset_dir, start_state_hash, mutate,
                   mutate_after, hooks)
    threading.Thread(target=save_view, args=(view, cache_dir), name="referee-cache",
                     daemon=True).start()
    return view
