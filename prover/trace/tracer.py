"""Tracing step t (docs/referee.md "Step trace"): re-execute it from the state of leaf t-1,
keep every op's output, commit to each, and check that the trace ends at leaf t's state.

``record_step`` gives the graph and all values in memory; ``write_trace`` puts them in a
directory (one ``.f32`` file of raw little-endian float32 per op, ``trace.json`` with the
graph summary, the commitments and the op root); ``load_trace`` reads them back for
``veritrain step explain``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from prover.trace import commit
from prover.trace.commit import TraceError
from prover.trace.evaluate import Tensors
from prover.trace.graph import Ref, StepGraph, graph_from_json, graph_to_json
from prover.trace.kinds import RefKind
from prover.trace.roots import final_root

if TYPE_CHECKING:
    import torch

    from prover.spec import TaskSpec
    from prover.train import StepHooks, Trainer

#: A change to the trainer before the step (tests inject faults with it).
Mutation = Callable[["Trainer"], None]


@dataclass
class Recorded:
    """One recorded step: its graph and every value the refs name."""

    graph: StepGraph
    tensors: Tensors
    step: int
    loss: float
    state_hash_before: bytes
    state_hash_after: bytes

    _commits: list[bytes] | None = field(default=None, repr=False)

    def op_commitments(self, threads: int | None = None) -> list[bytes]:
        """Every op output's commitment, computed once (the recorded values do not change
        after the step) on ``threads`` threads (None: up to 4 cores; the C commitment
        releases the GIL)."""
        if self._commits is None:
            ops = list(zip(self.graph.ops, self.tensors.ops, strict=True))

            def one(item: tuple[Any, np.ndarray]) -> bytes:
                return commit.commit(item[1].reshape(item[0].shape)).commit

            with ThreadPoolExecutor(trace_threads(threads)) as pool:
                self._commits = list(pool.map(one, ops))
        return self._commits

    def op_root(self) -> bytes:
        """sha256 tree over the op output commitments (the game's ``opRoot``)."""
        return commit.root_of(self.op_commitments())


def trace_threads(threads: int | None) -> int:
    """Threads for committing and writing a trace (None: the cores, at most 4)."""
    return threads if threads is not None and threads > 0 else min(4, os.cpu_count() or 1)


def _flat(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().contiguous().reshape(-1).numpy().copy()


def record_trainer_step(trainer: Trainer, mutate: Mutation | None = None,
                        hooks: StepHooks | None = None) -> Recorded:
    """Record the trainer's next step (it is taken: the trainer ends one step later).
    ``mutate`` changes the trainer first and ``hooks`` see the step (faults in tests)."""

    from prover import statehash
    from prover.kernels import _lib
    from prover.kernels.family import Family
    from prover.trace.record import Recorder, prune
    from prover.train import BaseStepHooks

    if mutate is not None:
        mutate(trainer)
    before = trainer.state_hash()
    rec = Recorder(fused=_lib.family() is Family.REPFMA)
    g = rec.graph
    state = statehash.param_tensors(trainer.student) + \
        statehash.optimizer_tensors(trainer.student, trainer.optimizer)
    for gi, group in enumerate(trainer.optimizer.param_groups):
        for p in group["params"]:
            rec.group_of[p.untyped_storage().data_ptr()] = gi
    for j, (name, t) in enumerate(state):
        rec.register(t, Ref(RefKind.STATE, j))
        g.state_names.append(name)
    teacher = sorted(trainer.teacher.named_parameters()) + \
        [(f"fixed/{k}", v) for k, v in sorted(trainer.fixed.items())]
    for j, (name, t) in enumerate(teacher):
        rec.register(t, Ref(RefKind.TEACHER, j))
        g.teacher_names.append(name)
    state_vals = [_flat(t) for _, t in state]
    teacher_vals = [_flat(t) for _, t in teacher]
    batch: list[np.ndarray] = []

    class _Hooks(BaseStepHooks):
        def on_batch(self, step: int, input_ids: torch.Tensor) -> torch.Tensor | None:
            ids = None if hooks is None else hooks.on_batch(step, input_ids)
            ids = input_ids if ids is None else ids
            rec.register(ids, Ref(RefKind.BATCH, 0))
            seq = ids.shape[-1]
            batch.extend([_flat(ids), np.ones(ids.numel(), np.float32),
                          np.arange(seq, dtype=np.float32)])
            return ids

        def on_before_update(self, step: int, student: Any, optimizer: Any) -> None:
            if hooks is not None:
                hooks.on_before_update(step, student, optimizer)

    with rec.active():
        loss, _ = trainer.step(_Hooks())
    after_state = statehash.param_tensors(trainer.student) + \
        statehash.optimizer_tensors(trainer.student, trainer.optimizer)
    for name, t in after_state:
        rec.freeze(t)  # the trainer's next step writes these tensors in place
        entry = rec.lookup(t)
        if entry is None or entry.levels:
            raise TraceError(f"state tensor {name} after the step comes from no op")
        g.final.append((name, entry.ref))
    prune(g, rec.values)
    tensors = Tensors(state_vals, batch, teacher_vals, list(rec.scalar_values), rec.values)
    r = Recorded(g, tensors, trainer.step_no, loss, before, trainer.state_hash())
    # the trace ends at leaf t: the values it names for the state after the step are, bit for
    # bit, the state whose hash the step reports (any stateHash scheme)
    actual = dict(after_state)
    for name, ref in g.final:
        if not np.array_equal(_flat(actual[name]).view(np.uint32),
                              tensors.base(ref).view(np.uint32)):
            raise TraceError(f"the trace of step {r.step} does not end at the state the step "
                             f"computed: {name} differs")
    return r


def record_step(spec: TaskSpec, task_id: int, step: int, start: str | Path | None,
                teacher_dir: str | Path, dataset_dir: str | Path,
                expected_before: bytes | None = None) -> Recorded:
    """Re-execute step ``step`` from the checkpoint ``start`` (state ``step - 1``; None: the
    initial state) and record it."""
    from prover.train import Trainer

    trainer = Trainer(spec, task_id, teacher_dir, dataset_dir, start_checkpoint=start,
                      start_state_hash=expected_before)
    if trainer.step_no != step - 1:
        raise TraceError(f"the start checkpoint holds step {trainer.step_no}, step {step} "
                         f"needs the state of step {step - 1}",
                         hint="pass the checkpoint of the step before the one to trace")
    return record_trainer_step(trainer)


def _raw(v: np.ndarray, path: Path) -> None:
    """Raw little-endian float32, one write (no copy when ``v`` is already that)."""
    if v.dtype != np.dtype("<f4") or not v.flags.c_contiguous:
        v = np.ascontiguousarray(v, dtype="<f4")
    v.tofile(path)


def write_trace(r: Recorded, out: str | Path, threads: int | None = None) -> dict[str, Any]:
    """Write every op output and ``trace.json``; returns the json document. Values go out as
    raw little-endian float32 files (``ops/00000.f32``; ``state/``, ``batch/``, ``teacher/``
    likewise, one file per tensor in ref order) on a thread pool while the commitments are
    computed."""
    d = Path(out)
    files: list[tuple[np.ndarray, Path]] = []
    (d / "ops").mkdir(parents=True, exist_ok=True)
    files += [(v, d / "ops" / f"{op.index:05d}.f32")
              for op, v in zip(r.graph.ops, r.tensors.ops, strict=True)]
    for name, vals in (("state", r.tensors.state), ("batch", r.tensors.batch),
                       ("teacher", r.tensors.teacher)):
        (d / name).mkdir(exist_ok=True)
        files += [(v, d / name / f"{i:05d}.f32") for i, v in enumerate(vals)]
    workers = trace_threads(threads)
    with ThreadPoolExecutor(workers) as pool:  # file writes and the C commitment drop the GIL
        written = [pool.submit(_raw, v, path) for v, path in files]
        commits = r.op_commitments(workers)
        for w in written:
            w.result()
    doc = {
        "step": r.step, "loss": r.loss, "graphRoot": "0x" + r.graph.root().hex(),
        "finalRoot": "0x" + final_root(r.graph.final).hex(),
        "opRoot": "0x" + commit.root_of(commits).hex(),
        "stateHashBefore": "0x" + r.state_hash_before.hex(),
        "stateHashAfter": "0x" + r.state_hash_after.hex(),
        "scalars": {n: float(v) for n, v in
                    zip(r.graph.scalar_names, r.tensors.scalars, strict=True)},
        "counts": {"state": len(r.tensors.state), "batch": len(r.tensors.batch),
                   "teacher": len(r.tensors.teacher)},
        "ops": [{"index": op.index, "kind": op.kind.name, "label": op.label,
                 "shape": list(op.shape), "inputs": [str(x) for x in op.inputs],
                 "commit": "0x" + c.hex()} for op, c in zip(r.graph.ops, commits, strict=True)],
        "final": {name: str(ref) for name, ref in r.graph.final},
    }
    (d / "trace.json").write_text(json.dumps(doc, indent=1))
    (d / "graph.json").write_text(json.dumps(graph_to_json(r.graph)))
    return doc


def load_trace(d: str | Path) -> tuple[StepGraph, Tensors, dict[str, Any]]:
    """The graph, the values and trace.json of a directory ``write_trace`` wrote."""
    p = Path(d)
    if not (p / "trace.json").is_file():
        raise TraceError(f"{p} holds no trace (trace.json missing)",
                         hint="write one with: veritrain step trace ... --out DIR")
    doc = json.loads((p / "trace.json").read_text())
    g = graph_from_json(json.loads((p / "graph.json").read_text()))
    ops = [np.fromfile(p / "ops" / f"{op.index:05d}.f32", dtype="<f4") for op in g.ops]

    def arrays(name: str) -> list[np.ndarray]:
        if (p / f"{name}.npz").is_file():  # a trace written before the raw files
            with np.load(p / f"{name}.npz") as z:
                return [z[f"arr_{i}"] for i in range(len(z.files))]
        return [np.fromfile(p / name / f"{i:05d}.f32", dtype="<f4")
                for i in range(doc["counts"][name])]

    scalars = [np.float32(v) for v in doc["scalars"].values()]
    return g, Tensors(arrays("state"), arrays("batch"), arrays("teacher"), scalars, ops), doc
