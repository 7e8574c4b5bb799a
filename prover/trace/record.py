"""Recording one real training step as a step graph (``prover.trace.graph``) with every op's
output.

The step runs unchanged (``prover.train.Trainer``) while two taps watch it:
* the fixed-order kernels (``prover.kernels.ops``) and the clip are wrapped, so each kernel call
  becomes one or more ops of its kind (a blocked sum over more than one block becomes the block
  op and the sum over the blocks, whose inputs the tap computes with the same kernel);
* a ``TorchDispatchMode`` sees the remaining ATen ops: elementwise arithmetic becomes ops, views
  and copies are folded into index maps (``MapLevel``), embedding lookups become GATHER levels.
Every input is resolved to a ref: the state before the step, the batch, the teacher, the
per-step scalars, an earlier op, or a uniform constant; anything else stops the recording with
a :class:`~prover.trace.commit.TraceError` naming the ATen op (an op kind to add).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from prover.trace.commit import TraceError
from prover.trace.graph import Level, Op, Ref, Slot, StepGraph
from prover.trace.kinds import MapLevel, OpKind, RefKind

if TYPE_CHECKING:
    from prover.trace.sink import TraceSink


def f32_bits(v: float) -> int:
    return int(np.array([v], dtype=np.float32).view(np.uint32)[0])


def _row_major(sizes: tuple[int, ...]) -> tuple[int, ...]:
    out, acc = [], 1
    for d in reversed(sizes):
        out.append(acc)
        acc *= d
    return tuple(reversed(out))


def _is_identity(lv: Level) -> bool:
    if lv.kind is not MapLevel.STRIDED or lv.offset:
        return False
    want = _row_major(lv.sizes)
    return all(s == c or d == 1 for d, s, c in zip(lv.sizes, lv.strides, want, strict=True))


@dataclass(frozen=True)
class _Entry:
    """What a storage holds: ``ref``'s tensor through ``levels``, from element ``start``."""

    ref: Ref
    start: int
    levels: tuple[Level, ...] = ()
    #: the ids slot of a GATHER level (an embedding lookup of the batch).
    ids: Slot | None = None


def _key(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


class Recorder:
    """Builds the graph and keeps every op's output (flat float32, row-major of the op's shape);
    a ``sink`` gets each output as soon as it is recorded (written and committed meanwhile)."""

    def __init__(self, fused: bool, sink: TraceSink | None = None) -> None:
        self.fused = fused
        self.sink = sink
        self.graph = StepGraph()
        self.values: list[np.ndarray] = []
        self.scalar_values: list[np.float32] = []
        self.depth = 0
        self._reg: dict[int, _Entry] = {}
        #: bool tensors of ``x >= bound`` (storage -> (x, bound)): the clamp_min backward.
        self.bools: dict[int, tuple[torch.Tensor, float]] = {}
        self._keep: list[torch.Tensor] = []
        #: the optimizer's parameter group of each parameter (storage -> index).
        self.group_of: dict[int, int] = {}
        #: outputs of ATen ops without an op kind (storage -> op name): an error when read.
        self.poison: dict[int, str] = {}

    # ---- refs ---------------------------------------------------------------------------
    def register(self, t: torch.Tensor, ref: Ref) -> None:
        self._set(t, _Entry(ref, int(t.storage_offset())))

    def _set(self, t: torch.Tensor, entry: _Entry) -> None:
        self.poison.pop(_key(t), None)
        self._keep.append(t)
        self._reg[_key(t)] = entry

    def freeze(self, t: torch.Tensor) -> None:
        """``t`` is about to be written in place: give the op that holds it its own copy."""
        entry = self.lookup(t)
        if entry is not None and entry.ref.kind is RefKind.OP:
            v = self.values[entry.ref.index]
            if not v.flags.owndata or v.base is not None:
                self.values[entry.ref.index] = copy = v.copy()
                if self.sink is not None:  # its job must not read the memory being written
                    self.sink.release(entry.ref.index, copy)

    def keep(self, t: torch.Tensor) -> None:
        self._keep.append(t)

    def lookup(self, t: torch.Tensor) -> _Entry | None:
        return self._reg.get(_key(t)) if t.untyped_storage().nbytes() else None

    def graph_ref_last(self) -> Ref:
        return Ref(RefKind.OP, len(self.graph.ops) - 1)

    def batch_side(self, ids: torch.Tensor) -> Slot:
        """The slot of constant embedding ids: ``Batch(2)`` (positions 0..n-1) or zeros."""
        n = ids.numel()
        if bool((ids == 0).all()):
            return Slot(Ref(RefKind.CONST, 0), (n,))
        return Slot(Ref(RefKind.BATCH, 2), (n,))

    def scalar(self, name: str, value: float) -> Slot:
        names = self.graph.scalar_names
        if name not in names:
            names.append(name)
            self.scalar_values.append(np.float32(value))
        j = names.index(name)
        if self.scalar_values[j] != np.float32(value):
            raise TraceError(f"per-step scalar {name} has two values in one step")
        return Slot(Ref(RefKind.SCALAR, j), (1,))

    def slot(self, t: torch.Tensor | float) -> Slot:
        """The slot that reads ``t`` (its logical shape is ``t``'s)."""
        if not isinstance(t, torch.Tensor):
            return Slot(Ref(RefKind.CONST, f32_bits(float(t))), ())
        shape = tuple(t.shape)
        if _key(t) in self.poison:
            raise TraceError(f"the step reads the output of {self.poison[_key(t)]}, which the "
                             "trace has no op kind for",
                             hint="add an op kind for it (prover/trace/kinds.py)")
        entry = self.lookup(t)
        if entry is None:
            flat = t.detach().reshape(-1)
            if flat.numel() == 0 or not t.is_floating_point():
                raise TraceError(f"an input of shape {shape} ({t.dtype}) is not traceable")
            first = flat[:1].to(torch.float32)
            if not bool((flat.to(torch.float32).view(torch.int32)
                         == first.view(torch.int32)).all()):
                raise TraceError(f"an input of shape {shape} is neither derived from the state, "
                                 "batch, teacher or an earlier op nor a uniform constant")
            return Slot(Ref(RefKind.CONST, f32_bits(float(first[0]))), shape)
        view = Level(MapLevel.STRIDED, int(t.storage_offset()) - entry.start, shape,
                     tuple(t.stride()))
        levels = tuple(lv for lv in (view, *entry.levels) if not _is_identity(lv))
        slot = Slot(entry.ref, shape, levels)
        return slot if entry.ids is None else _GatherSlot(slot.ref, shape, levels, entry.ids)

    # ---- ops ----------------------------------------------------------------------------
    def add_op(self, kind: OpKind, out: torch.Tensor | np.ndarray, slots: list[Slot],
               kattrs: tuple[int, ...] = (), label: str = "",
               shape: tuple[int, ...] | None = None) -> Ref:
        """Append an op whose output is ``out`` (registered unless it is an ndarray)."""
        full: list[Slot] = []
        extra: list[Slot] = []
        for s in slots:
            if isinstance(s, _GatherSlot):
                gid = len(slots) + len(extra)
                extra.append(s.ids)
                s = Slot(s.ref, s.shape, tuple(
                    replace(lv, ids_slot=gid) if lv.kind is MapLevel.GATHER else lv
                    for lv in s.levels))
            full.append(s)
        index = len(self.graph.ops)
        arr = out if isinstance(out, np.ndarray) else out.detach().contiguous().numpy()
        shp = tuple(arr.shape) if shape is None else shape
        self.graph.ops.append(Op(index, kind, shp, tuple(full + extra), kattrs, label))
        # no copy: the tensor is kept alive, and ``freeze`` copies it before anything writes it
        self.values.append(np.asarray(arr, dtype=np.float32).reshape(-1))
        if self.sink is not None:
            self.sink.op(self.values[-1], shp)
        ref = Ref(RefKind.OP, index)
        if isinstance(out, torch.Tensor):
            if not out.is_contiguous():
                raise TraceError(f"op {index} ({kind.name}) wrote a non-contiguous output")
            self.register(out, ref)
        return ref

    def alias(self, out: torch.Tensor, src: torch.Tensor) -> None:
        """``out`` is a copy of the view ``src``: fold it into an index map."""
        entry = self.lookup(src)
        if entry is None:
            return
        perm = sorted(range(out.dim()), key=lambda d: -out.stride()[d])
        sizes = tuple(out.shape[d] for d in perm)
        if tuple(out.stride(d) for d in perm) != _row_major(sizes):
            raise TraceError(f"a copy of shape {tuple(out.shape)} is not dense")
        view = Level(MapLevel.STRIDED, int(src.storage_offset()) - entry.start, sizes,
                     tuple(src.stride(d) for d in perm))
        levels = tuple(lv for lv in (view, *entry.levels) if not _is_identity(lv))
        self._set(out, _Entry(entry.ref, int(out.storage_offset()), levels, entry.ids))

    def gather(self, out: torch.Tensor, weight: torch.Tensor, ids: torch.Tensor) -> None:
        """``out = weight[ids]`` (an embedding lookup): a GATHER or STRIDED level."""
        entry = self.lookup(weight)
        if entry is None:
            raise TraceError("an embedding table that is not a state or teacher tensor")
        h = weight.shape[-1]
        base = Level(MapLevel.STRIDED, int(weight.storage_offset()) - entry.start,
                     tuple(weight.shape), tuple(weight.stride()))
        flat = ids.reshape(-1)
        n = flat.numel()
        ids_entry = self.lookup(ids)
        if ids_entry is not None and ids_entry.ref.kind is RefKind.BATCH:
            lv = Level(MapLevel.GATHER, ids_slot=-1, row_len=h)
            ids_slot = self.slot(ids.reshape(-1) if ids.is_contiguous() else ids)
            ids_slot = Slot(ids_slot.ref, (n,), ids_slot.levels)
            levels = tuple(x for x in (lv, base, *entry.levels) if not _is_identity(x))
            self._set(out, _Entry(entry.ref, int(out.storage_offset()), levels, ids_slot))
            return
        v0 = int(flat[0])
        if bool((flat == v0).all()):
            step = 0
        elif bool((flat == v0 + torch.arange(n)).all()):
            step = h
        else:
            raise TraceError("embedding ids that are neither the batch, uniform nor a range")
        lv = Level(MapLevel.STRIDED, v0 * h, (n, h), (step, 1))
        levels = tuple(x for x in (lv, base, *entry.levels) if not _is_identity(x))
        self._set(out, _Entry(entry.ref, int(out.storage_offset()), levels))

    # ---- recording ----------------------------------------------------------------------
    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        from prover.trace.aten import AtenTap
        from prover.trace.taps import KernelTaps

        with KernelTaps(self), AtenTap(self):
            yield


_NO_IDS = Slot(Ref(RefKind.BATCH, 0), ())


@dataclass(frozen=True)
class _GatherSlot(Slot):
    """A slot with a GATHER level whose ids slot is appended when the op is built."""

    ids: Slot = _NO_IDS



def prune(graph: StepGraph, values: list[np.ndarray]) -> list[int]:
    """Drop the ops nothing in the final state depends on (the poolers), renumbering the rest;
    returns the recorded index of every op kept."""
    ops = graph.ops
    live = [False] * len(ops)
    todo = [ref.index for _, ref in graph.final if ref.kind is RefKind.OP]
    while todo:
        i = todo.pop()
        if live[i]:
            continue
        live[i] = True
        todo += [r.index for r in ops[i].inputs if r.kind is RefKind.OP]
    new_index: dict[int, int] = {}
    for i, ok in enumerate(live):
        if ok:
            new_index[i] = len(new_index)

    def remap(ref: Ref) -> Ref:
        return Ref(RefKind.OP, new_index[ref.index]) if ref.kind is RefKind.OP else ref

    kept = [replace(op, index=new_index[op.index],
                    slots=tuple(replace(s, ref=remap(s.ref)) for s in op.slots))
            for op in ops if live[op.index]]
    kept_values = [v for v, ok in zip(values, live, strict=True) if ok]
    graph.ops[:] = kept
    values[:] = kept_values
    graph.final[:] = [(name, remap(ref)) for name, ref in graph.final]
    return list(new_index)
