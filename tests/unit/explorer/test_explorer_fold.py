"""The fold and the read side on hand-made events (no chain): the stake rules of StakeManager,
the contract's finality rule, a reopen, and a refold that rebuilds the same tables."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from explorer import db, queries
from explorer.fold import Ev, apply, refold
from explorer.models import SegmentState

E18 = 10**18
NODE, OTHER, MARKET = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20
ACCESS = queries.Access("http://rpc", "http://ipfs", Path("/tmp/addresses.json"))


class Chain:
    """Appends events to an index, one block each, the way the indexer stores them."""

    def __init__(self, path: Path) -> None:
        self.conn = db.connect(path)
        self.block = 0

    def __call__(self, name: str, **args: Any) -> None:
        self.block += 1
        ev = Ev(self.block, 0, f"0x{self.block:064x}", "test", name, args)
        self.conn.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                          (ev.block, ev.log_index, ev.tx, ev.contract, ev.name, json.dumps(args)))
        apply(self.conn, ev)

    def head(self, block: int) -> None:
        db.set_meta(self.conn, "indexed_block", block)


def _tables(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2")]
            for t in db.CHAIN_TABLES}


def _task(ch: Chain, tid: int, segments: int = 3, window: int = 10) -> None:
    ch("TaskCreated", taskId=tid, requester=OTHER, specCid="bafyspec", specHash="0x" + "00" * 32,
       reward=100 * E18, params={"totalSteps": 8 * segments, "segmentSteps": 8, "challengeWindow": window,
                                 "segmentDeadline": 100, "nodeStake": 50 * E18})
    ch("StakeLocked", account=NODE, by=MARKET, amount=50 * E18)
    ch("TaskClaimed", taskId=tid, node=NODE, stake=50 * E18, nextSegment=0, dueBlock=ch.block + 100)


def _commit(ch: Chain, tid: int, k: int, node: str = NODE) -> None:
    ch("SegmentCommitted", taskId=tid, k=k, traceRoot="0x" + "aa" * 32, endStateHash="0x" + "bb" * 32,
       checkpointCid=f"ckpt{k}", leavesCid=f"leaves{tid}-{k}-{ch.block}", node=node)


def test_slash_takes_free_then_pending_then_locked(tmp_path: Path) -> None:
    ch = Chain(tmp_path / "i.sqlite")
    ch("StakeDeposited", account=NODE, amount=100 * E18)
    ch("StakeLocked", account=NODE, by=MARKET, amount=60 * E18)
    ch("WithdrawalRequested", account=NODE, amount=30 * E18, readyAt=99)  # staked 70, free 10
    ch("StakeSlashed", account=NODE, by=MARKET, beneficiary=OTHER, amount=50 * E18)
    row = ch.conn.execute("SELECT * FROM accounts WHERE address = ?", (NODE,)).fetchone()
    # 10 free, then all 30 pending, then 10 of the 60 locked
    assert (int(row["staked"]), int(row["locked"]), int(row["pending"]), int(row["slashed"])) == (
        50 * E18, 50 * E18, 0, 50 * E18)
    ch("StakeWithdrawn", account=NODE, amount=0)
    ch("Jailed", account=NODE, untilBlock=500)
    ch.head(ch.block)
    n = queries.node(ch.conn, NODE.upper().replace("0X", "0x"))
    assert n.jailedNow and n.jailedUntil == 500 and n.address == NODE


def test_finality_follows_the_contract_and_a_reopen_rolls_back(tmp_path: Path) -> None:
    ch = Chain(tmp_path / "i.sqlite")
    _task(ch, 1)
    for k in range(3):
        _commit(ch, 1, k)
    first = ch.block - 2  # segment 0's commit block
    ch("SegmentDisputeCount", taskId=1, k=1, openDisputes=1)
    ch.head(first + 10)  # the window of segment 0 is still open (final needs head > block + 10)
    assert [s.state for s in queries.task(ch.conn, 1, ACCESS).segmentList] == [
        SegmentState.COMMITTED, SegmentState.DISPUTED, SegmentState.DISPUTED]
    ch.head(first + 30)  # all windows closed: 0 is final, 1 and 2 wait for the dispute on 1
    t = queries.task(ch.conn, 1, ACCESS)
    assert [s.state for s in t.segmentList] == [SegmentState.FINAL, SegmentState.DISPUTED,
                                                SegmentState.DISPUTED]
    assert t.final == 1 and t.openDisputes == 1
    assert t.finalCheckpoints[0].pullCommand == (
        "veritrain pull --task 1 --segment 0 --out ./task1-segment0 --rpc http://rpc "
        "--ipfs http://ipfs --addresses /tmp/addresses.json")
    ch("SegmentDisputeCount", taskId=1, k=1, openDisputes=0)
    ch("TaskReopened", taskId=1, fromSegment=1, epoch=1)
    ch.head(first + 30)
    t = queries.task(ch.conn, 1, ACCESS)
    assert t.status == "open" and t.node is None and t.epoch == 1 and t.openDisputes == 0
    assert [s.state for s in t.segmentList] == [SegmentState.FINAL, SegmentState.REOPENED,
                                                SegmentState.REOPENED]
    ch("TaskClaimed", taskId=1, node=OTHER, stake=50 * E18, nextSegment=1, dueBlock=ch.block + 100)
    _commit(ch, 1, 1, OTHER)
    ch.head(ch.block)  # just committed: its window is open
    seg1 = queries.task(ch.conn, 1, ACCESS).segmentList[1]
    assert seg1.state is SegmentState.COMMITTED and seg1.current is not None
    assert seg1.current.node == OTHER and seg1.current.epoch == 1 and seg1.replaced[0].node == NODE
    before = _tables(ch.conn)
    assert refold(ch.conn) == ch.block
    assert _tables(ch.conn) == before


def test_unknown_ids_and_pages_raise_not_found(tmp_path: Path) -> None:
    import pytest

    ch = Chain(tmp_path / "i.sqlite")
    _task(ch, 1)
    for call in (lambda: queries.task(ch.conn, 2, ACCESS), lambda: queries.dispute(ch.conn, 1),
                 lambda: queries.node(ch.conn, "0x" + "44" * 20), lambda: queries.tasks(ch.conn, 2)):
        with pytest.raises(queries.NotFoundError):
            call()
    assert queries.tasks(ch.conn, 1).total == 1
