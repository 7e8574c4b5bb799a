"""The referee game played from a trace (docs/referee.md "The bots"): pure computation, no chain.

Both parties hold a :class:`StepView` of the disputed step t: the node its own re-trace (what
its leaf t says), the challenger its honest trace. The node answers from it (the nodes of a
bisection round, an op's shape and chunks, an element's program results); the challenger
compares what the node revealed with it (the first differing node, the first differing lane,
the first program step binary32 refutes) and builds the proofs the contract checks.

Trees are the tensor commitment's: sha256, positional, zero leaves up to a power of two. A
bisection round reveals the 2^w nodes w = min(3, levels left) levels below the tree node under
dispute (the cursor, ``depth_left`` levels above the leaves, at position ``index``).
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from prover.trace import commit
from prover.trace.commit import TraceError
from prover.trace.evaluate import WIDE_RESULTS, Tensors, Value, apply, bits, operand
from prover.trace.evaluate import results_bytes as results_bytes  # re-exported
from prover.trace.graph import Op
from prover.trace.kinds import OpKind
from prover.trace.openings import (
    BatchRows,
    ConstClaim,
    Opener,
    Opening,
    ScalarClaim,
    chunk_bytes,
    embed_openings,
    embed_wrong_step,
    program_results,
    state_claim,
)
from prover.trace.programs import Step, program
from prover.trace.roots import final_leaf

if TYPE_CHECKING:
    from prover.trace.tracer import Recorded

#: Tree levels one bisection round descends (RefereeGame.ROUND_LEVELS).
ROUND_LEVELS = 3
ZERO = commit.ZERO32
#: Opcodes whose result is binary64: 8 bytes in the posted results (TO_F32's is binary32).
#: Steps with binary64 results (8 bytes in a posted program).
WIDE = WIDE_RESULTS


def depth_of(n: int) -> int:
    """Levels of the tree over ``n`` leaves (one leaf: 0)."""
    return max(0, (n - 1).bit_length())


def tree(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree over ``leaves``, leaves first, root last."""
    size = 1 << depth_of(len(leaves))
    level = list(leaves) + [ZERO] * (size - len(leaves))
    levels = [level]
    while len(level) > 1:
        level = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
        levels.append(level)
    return levels


def round_width(depth_left: int) -> int:
    return min(ROUND_LEVELS, depth_left)


def round_nodes(levels: list[list[bytes]], depth_left: int, index: int) -> list[bytes]:
    """The nodes a round reveals below the cursor (``depth_left`` levels up, at ``index``)."""
    w = round_width(depth_left)
    return levels[depth_left - w][index << w:(index + 1) << w]


def proof(levels: list[list[bytes]], index: int) -> list[bytes]:
    """Siblings of leaf ``index`` bottom-up (bit i of index: right child at level i)."""
    return [levels[lv][(index >> lv) ^ 1] for lv in range(len(levels) - 1)]


@dataclass
class KnownTree:
    """The nodes of the other party's tree that its rounds revealed, by (level, position), with
    the levels between each round's nodes and its cursor folded in."""

    depth: int
    known: dict[tuple[int, int], bytes] = field(default_factory=dict)

    def add_round(self, depth_left: int, index: int, nodes: Sequence[bytes]) -> None:
        w = round_width(depth_left)
        level, base = depth_left - w, index << w
        row = list(nodes)
        while True:
            for i, h in enumerate(row):
                self.known[(level, base + i)] = h
            if len(row) == 1:
                return
            row = [hashlib.sha256(row[i] + row[i + 1]).digest() for i in range(0, len(row), 2)]
            level, base = level + 1, base >> 1

    def proof(self, mine: list[list[bytes]], index: int) -> list[bytes]:
        """Leaf ``index``'s proof in the other tree: revealed siblings where known, ours else
        (a sibling wholly left of the first differing leaf is the same in both trees)."""
        return [self.known.get((lv, (index >> lv) ^ 1), mine[lv][(index >> lv) ^ 1])
                for lv in range(self.depth)]


def value_bits(v: Value) -> int:
    """A result's bits: binary64 for a Python float (the ``*_F64`` steps), binary32 else."""
    if isinstance(v, float):
        return int(np.array([v], dtype=np.float64).view(np.uint64)[0])
    return bits(np.float32(v))


def posted_results(steps: Sequence[Step], results: bytes) -> list[Value]:
    """The values of posted results laid out as :func:`results_bytes` lays them out."""
    size = sum(8 if code in WIDE else 4 for code, _ in steps)
    if size != len(results):
        raise TraceError(f"the posted results hold {len(results)} bytes, the program's "
                         f"{len(steps)} steps take {size}")
    out: list[Value] = []
    at = 0
    for code, _ in steps:
        if code in WIDE:
            out.append(float(np.array(struct.unpack_from(">Q", results, at),
                                      dtype=np.uint64).view(np.float64)[0]))
            at += 8
        else:
            out.append(np.uint32(struct.unpack_from(">I", results, at)[0]).view(np.float32))
            at += 4
    return out


@dataclass
class StepView:
    """One party's view of step t: the recorded step and what binds it to the chain."""

    recorded: Recorded
    #: Shapes of the state tensors (state v2 order): their commitments bind them.
    state_shapes: list[tuple[int, ...]]
    #: The nState + 1 leaves of the states before and after the step (commits, scalar leaf).
    before_leaves: list[bytes]
    after_leaves: list[bytes]
    #: Leaves of the scalar table's tree (t = 1..totalSteps) and the teacher's commitments
    #: (None: computed when first read, see :attr:`teacher_commits`).
    scalar_leaves: list[bytes]
    teacher_given: list[bytes] | None
    #: The batch rows of the step and the state before's scalar preimage (step, RNG digest,
    #: cursor): the input bindings' proofs (set by the re-trace; not part of the cache).
    batch: BatchRows | None = None
    before_scalar: tuple[int, bytes, int] | None = None
    _op_commits: list[bytes] | None = None
    _op_tree: list[list[bytes]] | None = None
    _chunks: dict[int, list[list[bytes]]] = field(default_factory=dict)

    @property
    def step(self) -> int:
        return self.recorded.step

    @property
    def teacher_commits(self) -> list[bytes]:
        """The teacher's commitments as ``roots.teacher_root`` commits them (flat tensors):
        computed on first use (a game that never opens a teacher input never needs them, and
        the node's first answer does not wait for them)."""
        if self.teacher_given is None:
            self.teacher_given = [commit.commit(np.ascontiguousarray(t, dtype=np.float32)).commit
                                  for t in self.recorded.tensors.teacher]
        return self.teacher_given

    @property
    def ops(self) -> list[Op]:
        return self.recorded.graph.ops

    @property
    def tensors(self) -> Tensors:
        return self.recorded.tensors

    def op_commits(self) -> list[bytes]:
        if self._op_commits is None:
            self._op_commits = self.recorded.op_commitments()
        return self._op_commits

    def op_tree(self) -> list[list[bytes]]:
        if self._op_tree is None:
            self._op_tree = tree(self.op_commits())
        return self._op_tree

    def op_root(self) -> bytes:
        return self.op_tree()[-1][0]

    def chunk_tree(self, i: int) -> list[list[bytes]]:
        if i not in self._chunks:
            self._chunks[i] = tree(commit.chunk_leaves(self.tensors.ops[i]))
        return self._chunks[i]

    def shape(self, i: int) -> tuple[bytes, tuple[int, ...]]:
        """Op i's output chunk root and shape (what ``revealShape`` opens its commit to)."""
        return self.chunk_tree(i)[-1][0], tuple(self.ops[i].shape)

    def chunk(self, i: int, c: int) -> bytes:
        return chunk_bytes(self.tensors.ops[i], c)

    def split(self, in_chunks: bool, op_index: int, depth_left: int, index: int) -> list[bytes]:
        """The node's answer to a split: its nodes below the cursor."""
        levels = self.chunk_tree(op_index) if in_chunks else self.op_tree()
        return round_nodes(levels, depth_left, index)

    def results(self, i: int, e: int) -> bytes:
        """Every step result of element e of op i's program, from this view's values (for
        EMBED_BWD then the positions it summed)."""
        return program_results(self.ops[i], e, self.tensors)

    # ---- the challenger's side -----------------------------------------------------------
    def first_differing(self, nodes: Sequence[bytes], in_chunks: bool, op_index: int,
                        depth_left: int, index: int) -> int | None:
        """The first revealed node that differs from ours (None: all agree)."""
        mine = self.split(in_chunks, op_index, depth_left, index)
        for w, (a, b) in enumerate(zip(nodes, mine, strict=True)):
            if bytes(a) != b:
                return w
        return None

    def first_wrong_lane(self, i: int, c: int, chunk: bytes) -> int:
        """The first lane of the node's chunk c of op i that differs from ours (0 when none:
        a shape other than the graph's loses the node at any lane)."""
        mine = np.frombuffer(self.chunk(i, c), dtype="<u4")
        theirs = np.frombuffer(bytes(chunk), dtype="<u4")
        diff = np.flatnonzero(mine != theirs)
        return int(diff[0]) if diff.size else 0

    def wrong_step(self, i: int, e: int, results: bytes) -> int | None:
        """The first step of element e's program whose posted result binary32 refutes, with the
        posted earlier results and our inputs as operands (None: every step checks out)."""
        op = self.ops[i]
        if op.kind is OpKind.EMBED_BWD:
            return embed_wrong_step(op, e, results, self.tensors)
        steps = program(op, e, self.tensors.read)
        posted = posted_results(steps, results)
        for s, (code, operands) in enumerate(steps):
            want = apply(code, [operand(op, code, o, posted, self.tensors) for o in operands])
            if value_bits(want) != value_bits(posted[s]):
                return s
        return None

    def openings(self, i: int, e: int, s: int, node_ops: KnownTree,
                 results: bytes = b"") -> list[Opening]:
        """The openings of step s's input operands, in operand order, as StepEvaluator consumes
        them (prover/trace/openings.py; ``results``: the node's posted program, which fixes an
        EMBED_BWD element's steps)."""
        op = self.ops[i]
        opener = self.opener(node_ops)
        if op.kind is OpKind.EMBED_BWD:
            return embed_openings(opener, op, e, s, results)
        return opener.step_openings(op, program(op, e, self.tensors.read)[s][1])

    def opener(self, node_ops: KnownTree) -> Opener:
        """Openings from this view (op outputs proven under the node's opRoot, ``node_ops``)."""
        return Opener(self.tensors, self.ops, self.step, self.state_shapes, self.before_leaves,
                      self.teacher_commits, self.scalar_leaves, self.batch,
                      lambda j: node_ops.proof(self.op_tree(), j))

    def state_claim(self, theirs: Sequence[bytes]) -> ConstClaim | ScalarClaim | None:
        """What ``disputeState`` proves against the node's posted state after (None: its scalar
        leaf and every constant tensor agree with ours)."""
        if self.before_scalar is None:
            return None
        final = self.recorded.graph.final
        return state_claim([final_leaf(j, ref) for j, (_, ref) in enumerate(final)], final,
                           self.tensors.state, self.state_shapes, self.before_leaves,
                           self.before_scalar, self.after_leaves, theirs)


# ---- building and caching a view -----------------------------------------------------------
_META = "game.json"


def view_of(recorded: Recorded, state_shapes: Sequence[tuple[int, ...]],
            before_leaves: Sequence[bytes], after_leaves: Sequence[bytes],
            scalar_leaves: Sequence[bytes]) -> StepView:
    return StepView(recorded, [tuple(s) for s in state_shapes], list(before_leaves),
                    list(after_leaves), list(scalar_leaves), None)


def save_view(v: StepView, d: str | Path) -> None:
    """Write the view under ``d`` (the trace directory plus ``game.json``), atomically last."""
    from prover.trace.tracer import write_trace

    p = Path(d)
    write_trace(v.recorded, p)
    doc = {"stateShapes": [list(s) for s in v.state_shapes],
           "before": [h.hex() for h in v.before_leaves],
           "after": [h.hex() for h in v.after_leaves],
           "scalarLeaves": [h.hex() for h in v.scalar_leaves],
           "teacher": [h.hex() for h in v.teacher_commits]}
    tmp = p / (_META + ".tmp")
    tmp.write_text(json.dumps(doc))
    tmp.replace(p / _META)


def load_view(d: str | Path) -> StepView | None:
    """The view ``save_view`` wrote under ``d`` (None when it is not complete there)."""
    from prover.trace.tracer import Recorded, load_trace

    p = Path(d)
    if not (p / _META).is_file():
        return None
    doc = json.loads((p / _META).read_text())
    graph, tensors, tdoc = load_trace(p)
    rec = Recorded(graph, tensors, int(tdoc["step"]), float(tdoc["loss"]),
                   bytes.fromhex(tdoc["stateHashBefore"][2:]),
                   bytes.fromhex(tdoc["stateHashAfter"][2:]))

    def hx(xs: list[str]) -> list[bytes]:
        return [bytes.fromhex(x) for x in xs]

    return StepView(rec, [tuple(s) for s in doc["stateShapes"]], hx(doc["before"]),
                    hx(doc["after"]), hx(doc["scalarLeaves"]), hx(doc["teacher"]))
