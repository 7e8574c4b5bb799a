"""The referee's input bindings played from a trace (docs/referee.md "Input bindings"): pure
computation, no chain code.

- :class:`Opener` builds the ``Opening``s of one ``checkStep`` operand in the order
  ``StepEvaluator`` consumes them: for each GATHER level of the operand's map the opening of its
  ids (in level order), then the operand's own tensor; a ``Batch(0)`` element is opened with its
  dataset row (:class:`BatchRows`: the sample the keccak-v2 schedule gives the row, ``seqLen``
  int32 little-endian tokens, and its proof under ``sampleRoot``); ``Const``, ``Batch(1)`` and
  ``Batch(2)`` need none.
- EMBED_BWD's terms are data: the node posts its results then the positions it summed
  (:func:`program_results`); the challenger finds a position in the symmetric difference of the
  posted list and the true terms (or a malformed list), else the first wrong ``ADD``
  (:func:`embed_wrong_step`).
- The state after the step besides the ops' outputs (``disputeState``): a tensor the graph's
  final refs set to a constant, and the scalar leaf (step, RNG, data cursor) one step advances
  (:func:`state_claim`, :class:`ConstClaim`, :class:`ScalarClaim`).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from prover.trace import commit
from prover.trace.commit import TraceError
from prover.trace.evaluate import Tensors, apply, bits, operand, results_bytes, run
from prover.trace.graph import Op, Ref
from prover.trace.kinds import OpKind, RefKind
from prover.trace.programs import IN, program

#: The scalar leaf's tag (prover/statehash.py, StateBindings.TAG).
STATE_TAG = b"veritrain/state/v2"


@dataclass(frozen=True)
class Opening:
    """IOneStepAdjudicator's Opening: a tensor opened down to one chunk (a batch row: the
    sample's tokens as the chunk and its dataset proof as the chunk proof, the rest empty)."""

    root: bytes
    dims: tuple[int, ...]
    commit_proof: list[bytes]
    chunk: bytes
    chunk_proof: list[bytes]


@dataclass(frozen=True)
class BatchRows:
    """What opens a ``Batch(0)`` element: the dataset's token rows (each proven against the
    dataset's sampleRoot) and the samples of the step's batch, in batch order (the keccak-v2
    schedule's draw)."""

    rows: np.ndarray
    samples: list[int]
    seq_len: int

    def opening(self, pos: int) -> Opening:
        """The row of batch element ``pos`` (``seqLen`` int32 little-endian tokens) with its
        sample proof under sampleRoot."""
        from prover import dataset

        sample = self.samples[pos // self.seq_len]
        _, sample_proof = dataset.sample_proof(self.rows, sample)
        return Opening(commit.ZERO32, (), [], self.rows[sample].astype("<i4").tobytes(),
                       sample_proof)


def chunk_bytes(values: np.ndarray, c: int) -> bytes:
    """Chunk c of a flat float32 tensor, zero-padded to 1 KiB."""
    raw = values[c * commit.CHUNK_ELEMS:(c + 1) * commit.CHUNK_ELEMS].astype("<f4").tobytes()
    return raw.ljust(commit.CHUNK_BYTES, b"\0")


def tensor_opening(values: np.ndarray, dims: Sequence[int], commit_proof: list[bytes],
                   pos: int) -> Opening:
    """Element ``pos``'s chunk of a tensor, with the chunk root and ``dims`` its commit binds."""
    leaves = commit.chunk_leaves(np.ascontiguousarray(values, dtype=np.float32))
    c = pos // commit.CHUNK_ELEMS
    return Opening(commit.root_of(leaves), tuple(dims), commit_proof, chunk_bytes(values, c),
                   commit.chunk_proof(leaves, c))


@dataclass
class Opener:
    """The openings of a step's input operands from one trace of step ``step``."""

    tensors: Tensors
    ops: Sequence[Op]
    step: int
    #: Shapes of the state tensors and the nState + 1 leaves of the state before the step.
    state_shapes: Sequence[tuple[int, ...]]
    state_leaves: Sequence[bytes]
    #: The teacher's commitments (flat tensors, as teacherRoot commits them).
    teacher_commits: Sequence[bytes]
    #: Leaves of the scalar table's tree (t = 1..totalSteps).
    scalar_leaves: Sequence[bytes]
    #: The batch's rows as the dataset proves them (None: Batch(0) cannot be opened).
    batch: BatchRows | None
    #: Proof of op j's output commitment under the opRoot the game holds (the node's).
    op_proof: Callable[[int], list[bytes]]

    def operand(self, op: Op, slot: int, q: int, out: list[Opening]) -> None:
        """Append the openings of slot ``slot``'s logical position ``q`` to ``out``: each
        GATHER level's id first (through the ids slot's own map), then the element."""
        def ids_first(ids_slot: int, p: int) -> None:
            self.operand(op, ids_slot, p, out)

        ref, pos = self.tensors.locate(op, slot, q, ids_first)
        opening = self._open(ref, pos)
        if opening is not None:
            out.append(opening)

    def step_openings(self, op: Op, operands: Sequence[tuple[int, ...]]) -> list[Opening]:
        """The openings of one program step's operands, in operand order."""
        out: list[Opening] = []
        for o in operands:
            if o[0] == IN:
                self.operand(op, o[1], o[2], out)
        return out

    def _open(self, ref: Ref, pos: int) -> Opening | None:
        k, j = ref.kind, ref.index
        if k is RefKind.CONST or (k is RefKind.BATCH and j != 0):
            return None  # fixed values (a literal, the attention mask, the position ids)
        if k is RefKind.BATCH:
            if self.batch is None:
                raise TraceError(f"a batch row of step {self.step} is to be opened but there are "
                                 "no dataset rows here",
                                 hint="build the view with retrace (it attaches them)")
            return self.batch.opening(pos)
        if k is RefKind.SCALAR:
            scalars = np.asarray(self.tensors.scalars, dtype="<f4").tobytes()
            return Opening(commit.ZERO32, (), [], scalars,
                           commit.chunk_proof(self.scalar_leaves, self.step - 1))
        if k is RefKind.STATE:
            return tensor_opening(self.tensors.state[j], self.state_shapes[j],
                                  commit.chunk_proof(self.state_leaves, j), pos)
        if k is RefKind.TEACHER:
            vals = self.tensors.teacher[j]
            return tensor_opening(vals, (int(vals.size),),
                                  commit.chunk_proof(self.teacher_commits, j), pos)
        if k is RefKind.OP:
            return tensor_opening(self.tensors.ops[j], self.ops[j].shape, self.op_proof(j), pos)
        raise TraceError(f"inputs of kind {k.name} cannot be opened for the referee")


# ---- EMBED_BWD: the posted positions --------------------------------------------------------
def embed_terms(op: Op, e: int, tensors: Tensors) -> list[int]:
    """The positions EMBED_BWD element ``e`` = (v, c) sums: every q with ids[q] == v, ascending
    (none for the padding row)."""
    _, h, npos, pad = op.kattrs
    v = e // h
    if v == pad:
        return []
    return [q for q in range(npos) if int(tensors.read(op, 0, q)) == v]


def program_results(op: Op, e: int, tensors: Tensors) -> bytes:
    """What the node posts for element ``e`` (``postProgram``): the program's results
    (``results_bytes``), and for EMBED_BWD then the positions it summed, 4 bytes big-endian
    each (``ProgramsEmbed``)."""
    steps = program(op, e, tensors.read)
    out = results_bytes(steps, run(op, steps, tensors))
    if op.kind is OpKind.EMBED_BWD:
        out += b"".join(q.to_bytes(4, "big") for q in embed_terms(op, e, tensors))
    return out


def embed_posted(op: Op, e: int, results: bytes) -> tuple[int, list[int] | None]:
    """(n results, the posted positions or None when the list is malformed: not strictly
    increasing, a position past nPos, positions for the padding row, or a bad length)."""
    size = len(results)
    if size == 4:
        return 1, []
    if size == 0 or size % 8:
        return max(size // 4, 1), None
    m = size // 8
    listed = [struct.unpack_from(">I", results, 4 * (m + i))[0] for i in range(m)]
    _, h, npos, pad = op.kattrs
    ok = e // h != pad and all(p < npos for p in listed) and \
        all(a < b for a, b in pairwise(listed))
    return m, listed if ok else None


def embed_wrong_step(op: Op, e: int, results: bytes, tensors: Tensors) -> int | None:
    """The step the challenger names against a posted EMBED_BWD element: ``n + q`` for the first
    position q in the symmetric difference of the node's list and the true terms (q = 0 for a
    malformed list), else the first ``ADD`` binary32 refutes (None: the element checks out)."""
    n, listed = embed_posted(op, e, results)
    terms = embed_terms(op, e, tensors)
    if listed is None:
        return n
    diff = sorted(set(listed) ^ set(terms))
    if diff:
        return n + diff[0]
    steps = program(op, e, tensors.read)
    out: list[np.float32] = []
    for s, (code, operands) in enumerate(steps):
        want = apply(code, [operand(op, code, o, out, tensors) for o in operands])
        got = np.uint32(struct.unpack_from(">I", results, 4 * s)[0]).view(np.float32)
        if bits(np.float32(want)) != bits(got):
            return s
        out.append(got)
    return None


def embed_openings(opener: Opener, op: Op, e: int, s: int, results: bytes) -> list[Opening]:
    """The openings of step s of a posted EMBED_BWD element: s >= n checks position s - n
    against the ids (one opening of slot 0), else the step's operands."""
    n, _ = embed_posted(op, e, results)
    if s >= n:
        out: list[Opening] = []
        opener.operand(op, 0, s - n, out)
        return out
    return opener.step_openings(op, program(op, e, opener.tensors.read)[s][1])


# ---- the state after the step: disputeState -----------------------------------------------
@dataclass(frozen=True)
class ConstClaim:
    """IOneStepAdjudicator ConstProof: state tensor ``slot`` after the step is, by the graph's
    final refs, the constant ``bits`` (in the shape of the same tensor before the step), and the
    node's state after holds another commitment there."""

    slot: int
    bits: int
    final_proof: list[bytes]
    before_root: bytes
    dims: tuple[int, ...]
    before_proof: list[bytes]
    after_leaf: bytes
    after_proof: list[bytes]


@dataclass(frozen=True)
class ScalarClaim:
    """IOneStepAdjudicator ScalarProof: the preimage of the state before's scalar leaf (step,
    sha256 of the canonical RNG JSON, data cursor) and the node's scalar leaf after the step,
    which is not that leaf advanced by one step."""

    step: int
    rng_digest: bytes
    cursor: int
    before_proof: list[bytes]
    after_leaf: bytes
    after_proof: list[bytes]


def scalar_leaf(step: int, rng_digest: bytes, cursor: int) -> bytes:
    """sha256("veritrain/state/v2" ++ u64be(step) ++ rngDigest ++ u64be(cursor))."""
    return hashlib.sha256(STATE_TAG + struct.pack(">Q", step) + rng_digest
                          + struct.pack(">Q", cursor)).digest()


def state_claim(final_leaves: Sequence[bytes], final: Sequence[tuple[str, Ref]],
                state: Sequence[np.ndarray], state_shapes: Sequence[tuple[int, ...]],
                before_leaves: Sequence[bytes], before_scalar: tuple[int, bytes, int],
                after_leaves: Sequence[bytes], theirs: Sequence[bytes]
                ) -> ConstClaim | ScalarClaim | None:
    """The first claim ``disputeState`` proves against the node's state after (``theirs``, its
    posted nState + 1 leaves), from our honest trace: its scalar leaf differs from ours (ours is
    the state before's advanced by one step), or a tensor the final refs set to a constant
    differs from ours. None: neither (``before_scalar``: the state before's scalar preimage)."""
    n = len(before_leaves) - 1
    if len(theirs) != n + 1:
        return None
    after_proof = commit.chunk_proof(theirs, n)
    step, digest, cursor = before_scalar
    if scalar_leaf(step, digest, cursor) != before_leaves[n]:
        raise TraceError("the state before's scalar preimage does not give its scalar leaf")
    if theirs[n] != after_leaves[n]:
        return ScalarClaim(step, digest, cursor, commit.chunk_proof(before_leaves, n),
                           theirs[n], after_proof)
    for j, (_, ref) in enumerate(final):
        if ref.kind is RefKind.CONST and theirs[j] != after_leaves[j]:
            levels = commit.chunk_leaves(np.ascontiguousarray(state[j], dtype=np.float32))
            return ConstClaim(j, ref.index & 0xFFFFFFFF, commit.chunk_proof(final_leaves, j),
                              commit.root_of(levels), tuple(state_shapes[j]),
                              commit.chunk_proof(before_leaves, j), theirs[j],
                              commit.chunk_proof(theirs, j))
    return None
