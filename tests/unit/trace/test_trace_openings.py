"""The input bindings' pure pieces (prover/trace/openings.py) on a small hand-built step: a
GATHER through the batch's ids (the ids' opening first, then the table's chunk), the batch rows'
dataset proofs under sampleRoot, EMBED_BWD's posted positions and the challenger's choice against
them, and the disputeState claims. The on-chain side of the same openings is checked by the
forge vectors (tests/vectors/trace/make_batch_vectors.py builds them with this module)."""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest
from eth_hash.auto import keccak

from prover import dataset, merkle
from prover.trace import commit
from prover.trace.evaluate import Tensors
from prover.trace.graph import Level, Op, Ref, Slot
from prover.trace.kinds import MapLevel, OpKind, RefKind
from prover.trace.openings import (
    BatchRows,
    ConstClaim,
    Opener,
    ScalarClaim,
    embed_openings,
    embed_posted,
    embed_terms,
    embed_wrong_step,
    program_results,
    scalar_leaf,
    state_claim,
)

V, H, L = 5, 3, 4  # vocabulary, hidden, positions (one batch row of L tokens)
IDS = [2, 0, 2, 4]  # the batch row; 0 is the padding row
ROWS = np.array([[1, 2, 3, 4], IDS, [4, 4, 4, 4]], dtype=np.int32)  # the dataset: 3 samples
SAMPLE = 1  # the schedule's sample of batch row 0


def _tensors() -> Tensors:
    rng = np.random.default_rng(3)
    table = rng.standard_normal(V * H).astype(np.float32)
    grad = rng.standard_normal(L * H).astype(np.float32)
    return Tensors(state=[table], batch=[np.array(IDS, np.float32), np.ones(L, np.float32),
                                         np.arange(L, dtype=np.float32)],
                   teacher=[], scalars=[], ops=[grad])


IDS_SLOT = Slot(Ref(RefKind.BATCH, 0), (L,))
#: wte[ids]: slot 0 the table through a GATHER of slot 1's ids; output [L, H]
LOOKUP = Op(1, OpKind.COPY, (L, H), (
    Slot(Ref(RefKind.STATE, 0), (L, H), (Level(MapLevel.GATHER, ids_slot=1, row_len=H),)),
    IDS_SLOT))
#: the table's gradient: slot 0 the ids, slot 1 the rows' gradients (op 0); output [V, H]
EMBED = Op(2, OpKind.EMBED_BWD, (V, H), (IDS_SLOT, Slot(Ref(RefKind.OP, 0), (L, H))),
           (V, H, L, 0))


def _opener(t: Tensors) -> Opener:
    leaves = [commit.commit(t.state[0]).commit, b"\x11" * 32]
    return Opener(t, [Op(0, OpKind.COPY, (L, H), ()), LOOKUP, EMBED], 1, [(V, H)], leaves, [],
                  [], BatchRows(ROWS, [SAMPLE], L), lambda j: [b"\x22" * 32])


def test_batch_rows_prove_the_schedules_samples_under_sample_root() -> None:
    row = BatchRows(ROWS, [SAMPLE], L).opening(L - 1)  # the last token of batch row 0
    assert row.chunk == ROWS[SAMPLE].astype("<i4").tobytes()
    leaf = keccak(SAMPLE.to_bytes(32, "big") + keccak(row.chunk))
    root = dataset.sample_root(ROWS)
    assert merkle.verify(root, leaf, SAMPLE, row.chunk_proof)
    assert not merkle.verify(root, leaf, 0, row.chunk_proof)  # not sample 0's place


def test_gather_opens_the_ids_row_then_the_tables_chunk() -> None:
    t = _tensors()
    out: list = []
    _opener(t).operand(LOOKUP, 0, 3 * H + 1, out)  # position 3, column 1: ids[3] = 4
    row, table = out
    assert row.chunk == ROWS[SAMPLE].astype("<i4").tobytes() and row.dims == ()
    assert table.dims == (V, H)
    assert table.commit_proof == [b"\x11" * 32]  # the state tree's sibling of tensor 0
    assert np.frombuffer(table.chunk, "<f4")[4 * H + 1] == t.state[0][4 * H + 1]
    assert commit.verify_chunk(table.root, 0, hashlib.sha256(table.chunk).digest(),
                               table.chunk_proof)


def test_embed_bwd_posts_its_results_then_its_positions() -> None:
    t = _tensors()
    e = 2 * H + 1  # row 2, column 1: positions 0 and 2
    assert embed_terms(EMBED, e, t) == [0, 2]
    raw = program_results(EMBED, e, t)
    assert len(raw) == 16 and struct.unpack(">2I", raw[8:]) == (0, 2)
    assert embed_posted(EMBED, e, raw) == (2, [0, 2])
    assert embed_wrong_step(EMBED, e, raw, t) is None
    # the padding row and a row no id names: MOV(+0), four bytes, no positions
    assert program_results(EMBED, 1, t) == b"\0" * 4
    assert embed_wrong_step(EMBED, 0, b"\0" * 4, t) is None and embed_terms(EMBED, 0, t) == []


@pytest.mark.parametrize(("listed", "want_q"), [([0], 2), ([0, 1, 2], 1), ([2], 0)])
def test_embed_bwd_challenger_names_a_position_in_the_symmetric_difference(
        listed: list[int], want_q: int) -> None:
    t = _tensors()
    e = 2 * H
    raw = b"\0" * 4 * len(listed) + b"".join(q.to_bytes(4, "big") for q in listed)
    s = embed_wrong_step(EMBED, e, raw, t)
    assert s == len(listed) + want_q
    (opening,) = embed_openings(_opener(t), EMBED, e, s, raw)  # the ids' row
    assert opening.chunk == ROWS[SAMPLE].astype("<i4").tobytes()


def test_embed_bwd_challenger_refutes_a_wrong_sum_or_a_malformed_list() -> None:
    t = _tensors()
    e = 2 * H
    raw = bytearray(program_results(EMBED, e, t))
    raw[4:8] = (struct.unpack(">I", raw[4:8])[0] ^ 1).to_bytes(4, "big")
    assert embed_wrong_step(EMBED, e, bytes(raw), t) == 1  # the second ADD
    unsorted = b"\0" * 8 + (2).to_bytes(4, "big") + (0).to_bytes(4, "big")
    assert embed_posted(EMBED, e, unsorted) == (2, None)
    assert embed_wrong_step(EMBED, e, unsorted, t) == 2  # any position: position 0


def test_state_claim_scalar_leaf_not_advanced() -> None:
    digest = hashlib.sha256(b"rng").digest()
    before = [b"\x01" * 32, scalar_leaf(2, digest, 16)]
    ours = [b"\x03" * 32, scalar_leaf(3, digest, 24)]
    final = [("w", Ref(RefKind.OP, 7))]
    args = ([b"\x05" * 32], final, [np.zeros(4, np.float32)], [(4,)], before, (2, digest, 16),
            ours)
    assert state_claim(*args, ours) is None
    stale = [ours[0], before[1]]
    claim = state_claim(*args, stale)
    assert isinstance(claim, ScalarClaim)
    assert (claim.step, claim.cursor, claim.after_leaf) == (2, 16, before[1])
    assert commit.verify_chunk(commit.root_of(before), 1, before[1], claim.before_proof)
    assert commit.verify_chunk(commit.root_of(stale), 1, stale[1], claim.after_proof)


def test_state_claim_const_tensor_not_the_constant() -> None:
    digest = hashlib.sha256(b"rng").digest()
    zeros = np.zeros(300, np.float32)
    leaf = commit.commit(zeros).commit
    before = [leaf, scalar_leaf(2, digest, 16)]
    ours = [leaf, scalar_leaf(3, digest, 24)]
    final = [("m", Ref(RefKind.CONST, 0))]
    claim = state_claim([b"\x07" * 32], final, [zeros], [(300,)], before, (2, digest, 16), ours,
                        [b"\x09" * 32, ours[1]])
    assert isinstance(claim, ConstClaim)
    assert (claim.slot, claim.bits, claim.dims) == (0, 0, (300,))
    assert commit.bind_shape(claim.before_root, (300,)) == leaf
