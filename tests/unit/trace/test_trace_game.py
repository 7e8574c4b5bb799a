"""The referee game's pure pieces (prover/trace/game.py, ledger/movelog.py): trees and rounds
as the contract checks them, proofs under the other party's tree from what its rounds revealed,
program results encoding, and the move journal's send-once rule."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from ledger.movelog import MoveLog, MoveStatus
from prover.trace import commit
from prover.trace.commit import TraceError
from prover.trace.game import (
    KnownTree,
    depth_of,
    posted_results,
    proof,
    results_bytes,
    round_nodes,
    round_width,
    tree,
)
from prover.trace.kinds import Opcode


def _leaves(n: int, salt: bytes = b"") -> list[bytes]:
    return [hashlib.sha256(salt + i.to_bytes(4, "big")).digest() for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 17, 100])
def test_tree_root_is_the_commitment_tree(n: int) -> None:
    leaves = _leaves(n)
    levels = tree(leaves)
    assert len(levels) == depth_of(n) + 1
    assert levels[-1][0] == commit.root_of(leaves)
    for i in range(n):
        assert commit.verify_chunk(levels[-1][0], i, leaves[i], proof(levels, i))


@pytest.mark.parametrize("n", [2, 9, 100, 513])
def test_rounds_rebuild_the_cursor_and_reach_every_leaf(n: int) -> None:
    levels = tree(_leaves(n))
    depth, index, target = depth_of(n), 0, n - 1
    rounds = 0
    while depth:
        nodes = round_nodes(levels, depth, index)
        assert len(nodes) == 1 << round_width(depth)
        assert tree(nodes)[-1][0] == levels[depth][index]  # what checkNodes recomputes
        w = round_width(depth)
        index = (index << w) | ((target >> (depth - w)) & ((1 << w) - 1))
        depth -= w
        rounds += 1
    assert index == target and rounds == -(-depth_of(n) // 3)


def test_known_tree_proves_earlier_leaves_under_the_other_root() -> None:
    """Two trees agree on leaves < 37 and differ from 37 on: the rounds down to 37 reveal
    enough of the other tree to prove any earlier leaf under its root with our own nodes."""
    n, first = 100, 37
    mine = _leaves(n)
    theirs = mine[:first] + _leaves(n - first, b"other")
    ours, other = tree(mine), tree(theirs)
    known = KnownTree(depth_of(n))
    depth, index = depth_of(n), 0
    while depth:
        known.add_round(depth, index, round_nodes(other, depth, index))
        w = round_width(depth)
        index = (index << w) | ((first >> (depth - w)) & ((1 << w) - 1))
        depth -= w
    for j in range(first):
        assert commit.verify_chunk(other[-1][0], j, theirs[j], known.proof(ours, j))
    # our own proof is not enough: it carries our nodes over the differing leaves
    assert not commit.verify_chunk(other[-1][0], 0, theirs[0], proof(ours, 0))


def test_results_are_big_endian_four_bytes_a_binary32_step_eight_a_binary64_step() -> None:
    steps = [(Opcode.TO_F64, ()), (Opcode.SQRT_F64, ()), (Opcode.TO_F32, ()),
             (Opcode.MUL, ()), (Opcode.ADD, ())]
    vals = [4.0, 2.0, np.float32(2.0), np.float32(-2.5), np.float32(np.inf)]
    raw = results_bytes(steps, vals)
    assert raw == bytes.fromhex("4010000000000000" "4000000000000000" "40000000" "c0200000"
                                "7f800000")
    back = posted_results(steps, raw)
    assert back[:2] == [4.0, 2.0] and isinstance(back[0], float)
    assert [float(v) for v in back[2:]] == [2.0, -2.5, np.inf]
    with pytest.raises(TraceError):
        posted_results(steps, raw[:-4])


def test_move_log_sends_a_move_once(tmp_path: Path) -> None:
    log = MoveLog(tmp_path / "moves.sqlite", resend_after=3)
    assert log.may_send(1, "OP_SPLIT:9:0", 100)

    def lost() -> dict[str, object]:
        raise ConnectionError("the RPC went away after the send")

    with pytest.raises(ConnectionError):
        log.send(1, "OP_SPLIT:9:0", "split", 100, lost)
    # journalled before the send: not sent again while the first may still land
    assert not log.may_send(1, "OP_SPLIT:9:0", 102)
    assert log.may_send(1, "OP_SPLIT:9:0", 103)
    log.send(1, "OP_SPLIT:9:0", "split", 103,
             lambda: {"transactionHash": b"\x01" * 32, "gasUsed": 28_000})
    row = log.row(1, "OP_SPLIT:9:0")
    assert row is not None and row.status == MoveStatus.MINED and row.attempts == 2
    assert not log.may_send(1, "OP_SPLIT:9:0", 1_000)
    # survives a restart
    again = MoveLog(tmp_path / "moves.sqlite")
    assert [r.name for r in again.rows(1)] == ["split"]
