"""The step graph (docs/referee.md "Step graph"): ops, their encoding and ``graphRoot``.

An op is ``(index, kind, shape, inputs, attrs)``; its leaf is
``sha256(abi.encodePacked(uint32 index, uint16 kind, uint8 nInputs, (uint8 refKind,
uint32 refIndex)[nInputs], uint8 rank, uint32 dims[rank], uint16 nAttrs, int64 attrs[nAttrs]))``
and ``graphRoot`` is the sha256 tree (``prover.trace.commit``) over the leaves in op order.
The graph is recorded from one real step (``prover.trace.record``); its structure depends on the
spec's shapes only, never on values (a test records two different steps and compares roots).
"""

from __future__ import annotations

import hashlib
import struct
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from prover.trace.commit import TraceError, root_of
from prover.trace.kinds import MapLevel, OpKind, RefKind

#: How many attrs each kind has before the input slots' index maps.
KIND_ATTRS: dict[OpKind, int] = {
    OpKind.GEMM: 6, OpKind.SUM: 2, OpKind.FSUM: 4, OpKind.FSUM_SQ: 4, OpKind.SOFTMAX: 2,
    OpKind.SOFTMAX_BWD: 2, OpKind.LOGSOFTMAX: 2, OpKind.LOGSOFTMAX_BWD: 2, OpKind.LN_MEAN: 2,
    OpKind.LN_RSTD: 3, OpKind.LN_OUT: 3, OpKind.LN_BWD_DX: 3, OpKind.LN_BWD_DW: 2,
    OpKind.LN_BWD_DB: 2, OpKind.EMBED_BWD: 4, OpKind.CLIP_COEF: 1, OpKind.PAD: 1,
}


@dataclass(frozen=True)
class Ref:
    """An op input: ``kind`` and ``index`` (op index, state index, float32 bits of a Const)."""

    kind: RefKind
    index: int

    def __str__(self) -> str:
        return f"{self.kind.name.capitalize()}({self.index})"


@dataclass(frozen=True)
class Level:
    """One index-map level (``MapLevel``): STRIDED ``(offset, sizes, strides)`` or GATHER
    ``(ids_slot, row_len)``."""

    kind: MapLevel
    offset: int = 0
    sizes: tuple[int, ...] = ()
    strides: tuple[int, ...] = ()
    ids_slot: int = 0
    row_len: int = 0

    def encode(self) -> list[int]:
        if self.kind is MapLevel.GATHER:
            return [int(MapLevel.GATHER), self.ids_slot, self.row_len]
        return [int(MapLevel.STRIDED), self.offset, len(self.sizes), *self.sizes, *self.strides]


@dataclass(frozen=True)
class Slot:
    """An input slot: where it reads (``ref``), its logical shape and its index map."""

    ref: Ref
    shape: tuple[int, ...]
    levels: tuple[Level, ...] = ()


@dataclass(frozen=True)
class Op:
    index: int
    kind: OpKind
    shape: tuple[int, ...]
    slots: tuple[Slot, ...]
    #: the kind's own attrs (``KIND_ATTRS[kind]`` of them); the index maps follow in ``attrs``.
    kattrs: tuple[int, ...] = ()
    #: where the op comes from (a module or function name); not encoded.
    label: str = ""

    @property
    def inputs(self) -> tuple[Ref, ...]:
        return tuple(s.ref for s in self.slots)

    @property
    def attrs(self) -> tuple[int, ...]:
        """Kind attrs, then per slot: its logical rank and dims, nLevels and the levels."""
        out = list(self.kattrs)
        for s in self.slots:
            out += [len(s.shape), *s.shape, len(s.levels)]
            for lv in s.levels:
                out += lv.encode()
        return tuple(out)

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def leaf(self) -> bytes:
        return op_leaf(self)


def op_leaf(op: Op) -> bytes:
    """The op's leaf in ``graphRoot`` (encoding above)."""
    if len(op.slots) > 255 or len(op.shape) > 255:
        raise TraceError(f"op {op.index} has too many inputs or dims to encode")
    attrs = op.attrs
    raw = struct.pack(">IHB", op.index, int(op.kind), len(op.slots))
    raw += b"".join(struct.pack(">BI", int(r.kind), r.index & 0xFFFFFFFF) for r in op.inputs)
    raw += struct.pack(f">B{len(op.shape)}I", len(op.shape), *op.shape)
    raw += struct.pack(f">H{len(attrs)}q", len(attrs), *attrs)
    return hashlib.sha256(raw).digest()


@dataclass
class StepGraph:
    """The ops of one step, and the names behind the ref tables."""

    ops: list[Op] = field(default_factory=list)
    #: state tensor names in state v2 order (``State(j)``) before the step.
    state_names: list[str] = field(default_factory=list)
    #: teacher tensor names (``Teacher(j)``): teacher parameters sorted, then fixed tensors.
    teacher_names: list[str] = field(default_factory=list)
    #: per-step scalar names (``Scalar(j)``).
    scalar_names: list[str] = field(default_factory=list)
    #: per state tensor after the step (state v2 order): where its value comes from.
    final: list[tuple[str, Ref]] = field(default_factory=list)

    def root(self) -> bytes:
        return graph_root(self.ops)

    def summary(self) -> str:
        """A readable summary: ops per kind, the largest element program and the root."""
        from prover.trace.programs import program_length

        counts = Counter(op.kind for op in self.ops)
        lines = [f"ops: {len(self.ops)}   graphRoot: 0x{self.root().hex()}",
                 f"state tensors: {len(self.state_names)}   teacher tensors: "
                 f"{len(self.teacher_names)}   per-step scalars: {len(self.scalar_names)}",
                 f"{'kind':<16}{'ops':>6}{'elements':>14}{'longest program':>18}"]
        longest: tuple[int, Op | None] = (0, None)
        for kind in sorted(counts):
            ops = [op for op in self.ops if op.kind is kind]
            lens = [program_length(op) for op in ops]
            if max(lens) > longest[0]:
                longest = (max(lens), ops[lens.index(max(lens))])
            lines.append(f"{kind.name:<16}{len(ops):>6}{sum(op.numel for op in ops):>14,}"
                         f"{max(lens):>18,}")
        if longest[1] is not None:
            op = longest[1]
            lines.append(f"largest program: {longest[0]:,} steps (op {op.index} {op.kind.name} "
                         f"{op.label})")
        return "\n".join(lines)


def _ref_doc(r: Ref) -> list[int]:
    return [int(r.kind), r.index]


def _ref_of(d: Sequence[int]) -> Ref:
    return Ref(RefKind(d[0]), int(d[1]))


def graph_to_json(g: StepGraph) -> dict[str, Any]:
    """Everything of the graph as JSON (``graph_from_json`` reads it back)."""
    return {
        "graphRoot": "0x" + g.root().hex(),
        "stateNames": g.state_names, "teacherNames": g.teacher_names,
        "scalarNames": g.scalar_names,
        "final": [[n, _ref_doc(r)] for n, r in g.final],
        "ops": [{"kind": op.kind.name, "shape": list(op.shape), "kattrs": list(op.kattrs),
                 "label": op.label,
                 "slots": [{"ref": _ref_doc(s.ref), "shape": list(s.shape),
                            "levels": [lv.encode() for lv in s.levels]} for s in op.slots]}
                for op in g.ops],
    }


def _level_of(code: Sequence[int]) -> Level:
    if code[0] == MapLevel.GATHER:
        return Level(MapLevel.GATHER, ids_slot=int(code[1]), row_len=int(code[2]))
    rank = int(code[2])
    return Level(MapLevel.STRIDED, int(code[1]), tuple(code[3:3 + rank]),
                 tuple(code[3 + rank:3 + 2 * rank]))


def graph_from_json(doc: dict[str, Any]) -> StepGraph:
    ops = [Op(i, OpKind[o["kind"]], tuple(o["shape"]),
              tuple(Slot(_ref_of(s["ref"]), tuple(s["shape"]),
                         tuple(_level_of(lv) for lv in s["levels"])) for s in o["slots"]),
              tuple(o["kattrs"]), o["label"]) for i, o in enumerate(doc["ops"])]
    g = StepGraph(ops, list(doc["stateNames"]), list(doc["teacherNames"]),
                  list(doc["scalarNames"]), [(n, _ref_of(r)) for n, r in doc["final"]])
    if "0x" + g.root().hex() != doc["graphRoot"]:
        raise TraceError("the graph file does not hash to the graphRoot it names")
    return g


def graph_root(ops: Sequence[Op]) -> bytes:
    for i, op in enumerate(ops):
        if op.index != i:
            raise TraceError(f"op {i} carries index {op.index}")
    return root_of([op.leaf() for op in ops])
