"""Tracing step t (docs/referee.md "Step trace"): re-execute it from the state of leaf t-1,
keep every op's output, commit to each, and check that the trace ends at leaf t's state.

``record_step`` gives the graph and all values in memory; ``write_trace`` puts them in a
directory (``ops.f32`` and ``inputs.f32``: raw little-endian float32, ``trace.json`` with the
graph summary, the commitments and the op root); ``load_trace`` reads them back for
``veritrain step explain``. With a :class:`~prover.trace.sink.TraceSink` the values are written
and committed while the step is recorded, and ``write_trace`` only finishes the directory.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
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
from prover.trace.sink import INPUTS_FILE, OPS_FILE, TRACE_FILE, TraceSink, as_f32, pwrite_all

if TYPE_CHECKING:
    import torch

    from prover.spec import TaskSpec
    from prover.trace.record import Recorder
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
    #: The sink that wrote the step while it was recorded, and the recorded index of each op
    #: the graph kept (the sink saw the dropped ones too).
    sink: TraceSink | None = field(default=None, repr=False)
    kept: list[int] = field(default_factory=list, repr=False)
    #: The state tensors' shapes and, for tree-v2 states, the leaves of the states before and
    #: after the step (their roots are the two state hashes; None for other schemes).
    state_shapes: list[tuple[int, ...]] = field(default_factory=list, repr=False)
    leaves_before: list[bytes] | None = field(default=None, repr=False)
    leaves_after: list[bytes] | None = field(default=None, repr=False)

    def op_commitments(self, threads: int | None = None) -> list[bytes]:
        """Every op output's commitment, computed once (the recorded values do not change
        after the step) on ``threads`` threads (None: up to 4 cores; the C commitment
        releases the GIL); with a sink, its commitments (once it has written everything)."""
        if self._commits is None and self.sink is not None:
            every = self.sink.finish()
            self._commits = [every[i] for i in self.kept]
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


def _view(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().contiguous().reshape(-1).numpy()


def _flat(t: torch.Tensor) -> np.ndarray:
    return _view(t).copy()


def record_trainer_step(trainer: Trainer, mutate: Mutation | None = None,
                        hooks: StepHooks | None = None,
                        sink: TraceSink | None = None) -> Recorded:
    """Record the trainer's next step (it is taken: the trainer ends one step later).
    ``mutate`` changes the trainer first and ``hooks`` see the step (faults in tests);
    ``sink`` writes and commits the values while the step runs (aborted if recording fails;
    None: a sink that only commits them, on the cores the step leaves free)."""
    if sink is None:
        sink = TraceSink(None)
    # no cyclic garbage collection while recording: the recorder makes tens of thousands of
    # small objects, which trigger full collections over the whole process (torch's and the
    # models' objects): 0.2 s, more than a tiny step, whenever one falls inside the recording
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _record(trainer, mutate, hooks, sink)
    except BaseException:
        sink.abort()
        raise
    finally:
        if collecting:
            gc.enable()


class _Watch:
    """The recorder's hooks on the step: it registers the batch (and hands the inputs to the
    sink). A plain object: a hooks class made per call was a reference cycle that kept every
    recorded value alive until a full garbage collection (gigabytes over a few steps)."""

    def __init__(self, rec: Recorder, hooks: StepHooks | None, batch: list[np.ndarray],
                 teacher_vals: list[np.ndarray], sink: TraceSink | None,
                 state_vals: list[np.ndarray],
                 state_copy: Future[list[np.ndarray]] | None) -> None:
        self.rec, self.hooks, self.batch = rec, hooks, batch
        self.teacher_vals, self.sink = teacher_vals, sink
        self.state_vals, self.state_copy = state_vals, state_copy

    def on_batch(self, step: int, input_ids: torch.Tensor) -> torch.Tensor | None:
        ids = None if self.hooks is None else self.hooks.on_batch(step, input_ids)
        ids = input_ids if ids is None else ids
        self.rec.register(ids, Ref(RefKind.BATCH, 0))
        seq = ids.shape[-1]
        self.batch.extend([_flat(ids), np.ones(ids.numel(), np.float32),
                           np.arange(seq, dtype=np.float32)])
        if self.sink is not None:
            self.sink.inputs(self.batch)
            self.sink.inputs(self.teacher_vals)
        return ids

    def on_before_update(self, step: int, student: Any, optimizer: Any) -> None:
        if self.state_copy is not None:  # the update is about to write the state in place
            self.state_vals[:] = self.state_copy.result()
        if self.hooks is not None:
            self.hooks.on_before_update(step, student, optimizer)

    def on_after_update(self, step: int, student: Any, optimizer: Any) -> None:
        return None


def _record(trainer: Trainer, mutate: Mutation | None, hooks: StepHooks | None,
            sink: TraceSink) -> Recorded:
    """:func:`record_trainer_step` (which aborts the sink when this raises)."""
    from prover import statehash
    from prover.kernels import _lib
    from prover.kernels.family import Family
    from prover.trace.record import Recorder, prune

    if mutate is not None:
        mutate(trainer)
    # tree-v2: the states' leaves come from the sink (the state before's commitments from its
    # copy, the state after's from the update's op outputs), not from hashing the state twice
    v2 = trainer.spec.state_hash == statehash.TREE_V2
    before = None if v2 else trainer.state_hash()
    before_scalar = statehash.scalar_leaf(trainer.step_no, trainer.rng, trainer.cursor)
    rec = Recorder(fused=_lib.family() is Family.REPFMA, sink=sink)
    g = rec.graph
    state = statehash.param_tensors(trainer.student) + \
        statehash.optimizer_tensors(trainer.student, trainer.optimizer)
    shapes = [tuple(int(d) for d in t.shape) for _, t in state]
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
    # inputs.f32: state, batch, teacher. The state is copied (the update writes it in place)
    # and committed by the sink's thread, while the forward pass runs.
    state_vals: list[np.ndarray] = []
    state_copy = sink.inputs_copied([_view(t) for _, t in state])
    before_commits = sink.commit_copies(state_copy, shapes) if v2 else None
    # the teacher is never trained: its values are read in place (a copy was 91 MB a step)
    teacher_vals = [_view(t) for _, t in teacher]
    batch: list[np.ndarray] = []

    with rec.active():
        loss, _ = trainer.step(_Watch(rec, hooks, batch, teacher_vals, sink, state_vals,
                                      state_copy))
    if len(state_vals) != len(state):
        raise TraceError("the step updated its state without calling on_before_update first",
                         hint="the trainer must call its hooks; the trace needs the state "
                              "before the update")
    after_state = statehash.param_tensors(trainer.student) + \
        statehash.optimizer_tensors(trainer.student, trainer.optimizer)
    for name, t in after_state:
        rec.freeze(t)  # the trainer's next step writes these tensors in place
        entry = rec.lookup(t)
        if entry is None or entry.levels:
            raise TraceError(f"state tensor {name} after the step comes from no op")
        g.final.append((name, entry.ref))
    kept = prune(g, rec.values)
    tensors = Tensors(state_vals, batch, teacher_vals, list(rec.scalar_values), rec.values)
    # the trace ends at leaf t: the values it names for the state after the step are, bit for
    # bit, the state whose hash the step reports (any stateHash scheme)
    actual = dict(after_state)
    for name, ref in g.final:
        if not np.array_equal(_view(actual[name]).view(np.uint32),
                              tensors.base(ref).view(np.uint32)):
            raise TraceError(f"the trace of step {trainer.step_no} does not end at the state "
                             f"the step computed: {name} differs")
    r = Recorded(g, tensors, trainer.step_no, loss, before or b"", b"", sink=sink, kept=kept,
                 state_shapes=shapes)
    if not v2:
        r.state_hash_after = trainer.state_hash()
        return r
    # the state after is what the final refs name (checked above, bit for bit): a leaf is the
    # commitment of its op's output or of the state tensor it kept, when that has the tensor's
    # shape (else the tensor is committed here)
    assert before_commits is not None
    known = {RefKind.OP: (r.op_commitments(), [tuple(op.shape) for op in g.ops]),
             RefKind.STATE: (before_commits.result(), shapes)}
    after_scalar = statehash.scalar_leaf(trainer.step_no, trainer.rng, trainer.cursor)
    r.leaves_before = [*known[RefKind.STATE][0], before_scalar]
    r.leaves_after = []
    for name, ref in g.final:
        commits, of_shape = known.get(ref.kind, ([], []))
        tensor = actual[name]
        same = ref.index < len(of_shape) and of_shape[ref.index] == tuple(tensor.shape)
        r.leaves_after.append(commits[ref.index] if same else commit.commit(tensor).commit)
    r.leaves_after.append(after_scalar)
    r.state_hash_before = commit.root_of(r.leaves_before)
    r.state_hash_after = commit.root_of(r.leaves_after)
    return r


def record_step(spec: TaskSpec, task_id: int, step: int, start: str | Path | None,
                teacher_dir: str | Path, dataset_dir: str | Path,
                expected_before: bytes | None = None, out: str | Path | None = None,
                threads: int | None = None) -> Recorded:
    """Re-execute step ``step`` from the checkpoint ``start`` (state ``step - 1``; None: the
    initial state) and record it; with ``out``, its values are written there (on ``threads``
    threads) while it runs, and ``write_trace(r, out)`` finishes the directory."""
    from prover.train import Trainer

    trainer = Trainer(spec, task_id, teacher_dir, dataset_dir, start_checkpoint=start,
                      start_state_hash=expected_before)
    if trainer.step_no != step - 1:
        raise TraceError(f"the start checkpoint holds step {trainer.step_no}, step {step} "
                         f"needs the state of step {step - 1}",
                         hint="pass the checkpoint of the step before the one to trace")
    return record_trainer_step(trainer, sink=None if out is None else TraceSink(out, threads))


def _write_concat(path: Path, values: list[np.ndarray]) -> list[int]:
    """The arrays back to back in one preallocated file (one file, not one per tensor: the
    per-file cost was 4x the bytes' own); returns their element counts."""
    arrays = [as_f32(v) for v in values]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        total = sum(a.nbytes for a in arrays)
        if total:
            os.posix_fallocate(fd, 0, total)
        at = 0
        for a in arrays:
            pwrite_all(fd, a, at)
            at += a.nbytes
    finally:
        os.close(fd)
    return [a.size for a in arrays]


def write_trace(r: Recorded, out: str | Path, threads: int | None = None) -> dict[str, Any]:
    """Write every op output and ``trace.json``; returns the json document. The op outputs go
    to ``ops.f32`` and the values the step read (state, batch, teacher) to ``inputs.f32``: raw
    little-endian float32 back to back, in graph / ref order (``trace.json`` ``layout`` holds
    the inputs' sizes), written while the commitments are computed on a thread pool. A step
    recorded with a sink for ``out`` is already there: this waits for the sink and writes
    ``trace.json`` (with ``opOffsets`` when ``ops.f32`` also holds dropped ops)."""
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    groups = (("state", r.tensors.state), ("batch", r.tensors.batch),
              ("teacher", r.tensors.teacher))
    offsets: list[int] | None = None
    if r.sink is not None and r.sink.dir is not None and r.sink.dir.resolve() == d.resolve():
        commits = r.op_commitments()
        sizes = [as_f32(v).size for _, g in groups for v in g]
        offsets = [r.sink.offsets[i] for i in r.kept]
        if r.sink.ops_elements == sum(op.numel for op in r.graph.ops):
            offsets = None  # nothing was dropped: the outputs are back to back
    else:
        with ThreadPoolExecutor(2) as pool:  # os.pwrite and the C commitment release the GIL
            ops = pool.submit(_write_concat, d / OPS_FILE, r.tensors.ops)
            inputs = pool.submit(_write_concat, d / INPUTS_FILE,
                                 [v for _, g in groups for v in g])
            commits = r.op_commitments(trace_threads(threads))
            ops.result()
            sizes = inputs.result()
    layout: dict[str, list[int]] = {}
    for name, g in groups:
        layout[name], sizes = sizes[:len(g)], sizes[len(g):]
    doc = {
        "step": r.step, "loss": r.loss, "graphRoot": "0x" + r.graph.root().hex(),
        "finalRoot": "0x" + final_root(r.graph.final).hex(),
        "opRoot": "0x" + commit.root_of(commits).hex(),
        "stateHashBefore": "0x" + r.state_hash_before.hex(),
        "stateHashAfter": "0x" + r.state_hash_after.hex(),
        "scalars": {n: float(v) for n, v in
                    zip(r.graph.scalar_names, r.tensors.scalars, strict=True)},
        "layout": layout,
        "ops": [{"index": op.index, "kind": op.kind.name, "label": op.label,
                 "shape": list(op.shape), "inputs": [str(x) for x in op.inputs],
                 "commit": "0x" + c.hex()} for op, c in zip(r.graph.ops, commits, strict=True)],
        "final": {name: str(ref) for name, ref in r.graph.final},
    }
    if offsets is not None:
        doc["opOffsets"] = offsets
    (d / "graph.json").write_text(json.dumps(graph_to_json(r.graph)))
    (d / TRACE_FILE).write_text(json.dumps(doc, indent=1))  # last: the trace is complete
    return doc


def load_trace(d: str | Path) -> tuple[StepGraph, Tensors, dict[str, Any]]:
    """The graph, the values and trace.json of a directory ``write_trace`` wrote."""
    p = Path(d)
    if not (p / TRACE_FILE).is_file():
        raise TraceError(f"{p} holds no trace (trace.json missing)",
                         hint="write one with: veritrain step trace ... --out DIR")
    doc = json.loads((p / TRACE_FILE).read_text())
    g = graph_from_json(json.loads((p / "graph.json").read_text()))
    if "layout" in doc:  # memory-mapped: explaining one element reads only its pages
        flat = np.memmap(p / OPS_FILE, dtype="<f4", mode="r") if g.ops else np.zeros(0)
        ops = _split(flat, [op.numel for op in g.ops], doc.get("opOffsets"))
        sizes = {k: list(v) for k, v in doc["layout"].items()}
        inputs = _split(np.memmap(p / INPUTS_FILE, dtype="<f4", mode="r"),
                        sizes["state"] + sizes["batch"] + sizes["teacher"])
        n_s, n_b = len(sizes["state"]), len(sizes["batch"])
        state, batch, teacher = inputs[:n_s], inputs[n_s:n_s + n_b], inputs[n_s + n_b:]
    else:  # a trace written before: one file per op, the inputs as .npz
        ops = [np.fromfile(p / "ops" / f"{op.index:05d}.f32", dtype="<f4") for op in g.ops]
        state, batch, teacher = (_npz(p / f"{name}.npz") for name in ("state", "batch",
                                                                     "teacher"))
    scalars = [np.float32(v) for v in doc["scalars"].values()]
    return g, Tensors(state, batch, teacher, scalars, ops), doc


def _split(flat: np.ndarray, sizes: list[int],
           offsets: list[int] | None = None) -> list[np.ndarray]:
    """The arrays of ``sizes`` elements in ``flat``: back to back, or at ``offsets``."""
    if offsets is None:
        offsets = [int(x) for x in np.cumsum([0, *sizes[:-1]])] if sizes else []
        fits = sum(sizes) == flat.size
    else:
        fits = len(offsets) == len(sizes) and all(
            at >= 0 and at + n <= flat.size for at, n in zip(offsets, sizes, strict=True))
    if not fits:
        raise TraceError(f"the trace's values hold {flat.size} floats, which its layout "
                         f"({len(sizes)} arrays, {sum(sizes)} floats) does not match",
                         hint="the directory is damaged or mixed; trace the step again")
    return [flat[at:at + n] for at, n in zip(offsets, sizes, strict=True)]


def _npz(path: Path) -> list[np.ndarray]:
    with np.load(path) as z:
        return [z[f"arr_{i}"] for i in range(len(z.files))]
