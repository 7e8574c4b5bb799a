"""The referee game's fold on hand-made events (no chain; the real game is in
tests/integration/explorer/referee/): ids of the two courts kept apart, every move a timeline
row of its kind, the fault located (op, element, scalar step, opcode, bits), payouts to the wei,
a refold that rebuilds the same tables, and an index of the older schema rebuilt."""

from __future__ import annotations

import json
import sqlite3
import struct
from pathlib import Path
from typing import Any

import pytest

from explorer import db, queries
from explorer.fold import Court, Ev, MoveKind, apply, refold
from explorer.game import NOT_AN_OP
from prover.trace.kinds import Opcode

E18 = 10**18
NODE, CHALLENGER, REQUESTER = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20
JURY, REFEREE = "JuryAdjudicator", "OneStepAdjudicator"
GRAPH_ROOT = "0x" + "9a" * 32
BOND, SLASH, RECEIVED = 10 * E18, 50 * E18, 40 * E18


class Chain:
    """Appends events to an index, one block each, as the indexer stores them."""

    def __init__(self, path: Path) -> None:
        self.conn = db.connect(path)
        self.block = 0

    def __call__(self, contract: str, name: str, **args: Any) -> None:
        self.block += 1
        ev = Ev(self.block, 0, f"0x{self.block:064x}", contract, name, args)
        self.conn.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
            (ev.block, ev.log_index, ev.tx, ev.contract, ev.name, json.dumps(args)),
        )
        apply(self.conn, ev)


def _task(ch: Chain, tid: int, refereed: bool) -> None:
    params = {"totalSteps": 16, "segmentSteps": 8, "challengeWindow": 10,
              "segmentDeadline": 100, "nodeStake": 500 * E18}
    ch("TaskMarket", "TaskCreated", taskId=tid, requester=REQUESTER, specCid="bafyspec",
       specHash="0x" + "00" * 32, reward=100 * E18, params=params)
    ch("TaskMarket", "TaskAdjudicator", taskId=tid, adjudicator=REFEREE if refereed else JURY,
       refereed=refereed)
    if refereed:
        ch(REFEREE, "StepGraphRegistered", taskId=tid, graph={"graphRoot": GRAPH_ROOT})


def _opened(ch: Chain, contract: str, did: int, tid: int, step: int) -> None:
    ch(contract, "DisputeOpened", disputeId=did, taskId=tid, k=0, step=step,
       nodeLeaf="0x" + "01" * 32, challenger=CHALLENGER, node=NODE, bond=BOND)


def _f32(x: float) -> int:
    return int.from_bytes(struct.pack(">f", x), "big")


def _game(ch: Chain, did: int, tid: int) -> None:
    """A whole game to checkStep: two op rounds, the shape, one chunk round, the chunk, the
    element, the program, the step (MUL: the node's bits one ulp above binary32's)."""
    h = "0x" + "ab" * 32
    _opened(ch, REFEREE, did, tid, 3)
    ch(REFEREE, "TracePosted", disputeId=did, stateBefore=h, stateAfter=h, opRoot=h,
       afterLeaves=[h] * 5)
    for depth in (3, 0):
        ch(REFEREE, "Split", disputeId=did, nodes=[h] * 8)
        ch(REFEREE, "Picked", disputeId=did, which=5, index=5, depthLeft=depth)
    ch(REFEREE, "ShapeRevealed", disputeId=did, opIndex=41, root=h, dims=[4, 8])
    ch(REFEREE, "Split", disputeId=did, nodes=[h] * 2)
    ch(REFEREE, "Picked", disputeId=did, which=1, index=1, depthLeft=0)
    ch(REFEREE, "ChunkRevealed", disputeId=did, chunkIndex=1, chunk="0x" + "00" * 1024)
    ch(REFEREE, "ElementNamed", disputeId=did, opIndex=41, element=300, bits=_f32(1.5) + 1,
       steps=9)
    ch(REFEREE, "ProgramPosted", disputeId=did, results="0x" + "00" * 36)
    ch(REFEREE, "StepChecked", disputeId=did, s=4, opcode=int(Opcode.MUL),
       computed=_f32(1.5), claimed=_f32(1.5) + 1)
    ch("TaskMarket", "NodeSlashed", taskId=tid, node=NODE, amount=SLASH, disputeId=did)
    ch(REFEREE, "PayoutCredited", disputeId=did, account=CHALLENGER, amount=BOND + RECEIVED)
    ch(REFEREE, "DisputeResolved", disputeId=did, outcome=2, majorityLeaf="0x" + "00" * 32,
       slashed=RECEIVED)


def _tables(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3")]
        for t in db.CHAIN_TABLES
    }


def test_referee_game_fold_locates_the_fault_and_keeps_the_courts_apart(tmp_path: Path) -> None:
    ch = Chain(tmp_path / "i.sqlite")
    _task(ch, 1, refereed=True)
    _task(ch, 2, refereed=False)
    _game(ch, 1, 1)
    _opened(ch, JURY, 1, 2, 5)  # the jury's dispute 1, on the other task
    ref, jury = queries.dispute(ch.conn, 1, Court.REFEREE), queries.dispute(ch.conn, 1, Court.JURY)
    assert (ref.taskId, jury.taskId, ref.url, jury.url) == (1, 2, "/disputes/referee/1",
                                                            "/disputes/jury/1")
    with pytest.raises(queries.AmbiguousDisputeError, match="/disputes/referee/1"):
        queries.dispute(ch.conn, 1)
    assert [m.kind for m in jury.moves] == [MoveKind.OPENED]
    assert [m.kind for m in ref.moves] == [
        MoveKind.OPENED, MoveKind.TRACE_POSTED, MoveKind.OP_SPLIT, MoveKind.OP_PICKED,
        MoveKind.OP_SPLIT, MoveKind.OP_PICKED, MoveKind.SHAPE_REVEALED, MoveKind.CHUNK_SPLIT,
        MoveKind.CHUNK_PICKED, MoveKind.CHUNK_REVEALED, MoveKind.ELEMENT_NAMED,
        MoveKind.PROGRAM_POSTED, MoveKind.STEP_CHECKED, MoveKind.NODE_SLASHED,
        MoveKind.PAYOUT_CREDITED, MoveKind.RESOLVED]
    f = ref.fault
    assert f is not None
    assert (f.opIndex, f.element, f.scalarStep, f.opcodeName, f.dims) == (41, 300, 4, "MUL",
                                                                          [4, 8])
    assert (f.claimedHex, f.computedHex) == ("0x3fc00001", "0x3fc00000")
    assert "scalar step 4 (MUL)" in ref.faultFound and "0x3fc00001" in ref.faultFound
    assert ref.outcome == "node_wrong" and ref.slashed == str(RECEIVED)
    assert ref.payouts == {CHALLENGER: str(BOND + RECEIVED)}
    assert jury.fault is None and jury.open
    assert [(d.court, d.id) for d in queries.disputes(ch.conn)] == [(Court.JURY, 1),
                                                                   (Court.REFEREE, 1)]
    assert [d.taskId for d in queries.disputes(ch.conn, Court.REFEREE)] == [1]
    t1, t2 = (queries.task(ch.conn, t, queries.Access("r", "i", None)) for t in (1, 2))
    assert (t1.court, t1.graphRoot, t2.court, t2.graphRoot) == (Court.REFEREE, GRAPH_ROOT,
                                                                Court.JURY, None)
    assert [d.id for d in t1.disputeList] == [1] and t1.disputeList[0].court is Court.REFEREE
    before = _tables(ch.conn)
    assert refold(ch.conn) == ch.block
    assert _tables(ch.conn) == before


@pytest.mark.parametrize(
    ("args", "kind", "what"),
    [
        ({"opIndex": 7}, MoveKind.FINAL_MISMATCH, "not op 7's output"),
        ({"opIndex": NOT_AN_OP, "call": "disputeKept"}, MoveKind.KEPT_MISMATCH, "keeps"),
        ({"opIndex": NOT_AN_OP, "call": "disputeState", "claim": 1}, MoveKind.STATE_MISMATCH,
         "scalar leaf"),
        ({"opIndex": NOT_AN_OP, "call": "disputeState", "claim": 0}, MoveKind.STATE_MISMATCH,
         "constant"),
    ],
)
def test_state_mismatch_is_typed_by_the_call(
    tmp_path: Path, args: dict[str, Any], kind: MoveKind, what: str
) -> None:
    ch = Chain(tmp_path / "i.sqlite")
    _task(ch, 1, refereed=True)
    _opened(ch, REFEREE, 1, 1, 3)
    ch(REFEREE, "FinalStateMismatch", disputeId=1, slot=2, stateLeaf="0x" + "cd" * 32, **args)
    ch(REFEREE, "DisputeResolved", disputeId=1, outcome=2, majorityLeaf="0x" + "00" * 32,
       slashed=RECEIVED)
    d = queries.dispute(ch.conn, 1)
    assert d.moves[-2].kind == kind
    assert d.fault is not None and d.fault.stateSlot == 2
    assert what in d.faultFound


def test_silent_party_loses_by_timeout(tmp_path: Path) -> None:
    ch = Chain(tmp_path / "i.sqlite")
    _task(ch, 1, refereed=True)
    _opened(ch, REFEREE, 1, 1, 3)
    ch(REFEREE, "MoveTimedOut", disputeId=1, phase=1, nodeLost=True)
    ch(REFEREE, "DisputeResolved", disputeId=1, outcome=2, majorityLeaf="0x" + "00" * 32,
       slashed=RECEIVED)
    d = queries.dispute(ch.conn, 1)
    assert d.moves[-2].kind == MoveKind.TIMED_OUT and d.moves[-2].detail["phase"] == "trace"
    assert "the node missed its trace move at step 3" in d.faultFound
    # an end-state game says so; the challenger's silence keeps the node's leaf
    _opened(ch, REFEREE, 2, 1, 8)
    ch(REFEREE, "EndStateDisputeOpened", disputeId=2, taskId=1, k=0,
       endStateHash="0x" + "ee" * 32)
    ch(REFEREE, "MoveTimedOut", disputeId=2, phase=3, nodeLost=False)
    ch(REFEREE, "DisputeResolved", disputeId=2, outcome=1, majorityLeaf="0x" + "00" * 32,
       slashed=0)
    ch(REFEREE, "PayoutCredited", disputeId=2, account=NODE, amount=BOND)
    e = queries.dispute(ch.conn, 2, Court.REFEREE)
    assert e.kind == "end-state" and e.payouts == {NODE: str(BOND)}
    assert e.faultFound == ("none: the node keeps its leaf (the challenger missed its op_pick "
                            "move at the end state of segment 0 (step 8))")


def test_index_of_an_older_schema_is_rebuilt(tmp_path: Path) -> None:
    """Version 1 keyed disputes by id alone: its events and cursor are dropped, so the
    indexer indexes the chain again (with the referee's events); IPFS metadata is kept."""
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('schema', '1'), ('cursor_block', '99'), ('chain_id', '31337');"
        "CREATE TABLE events (block INTEGER, log_index INTEGER, tx TEXT, contract TEXT,"
        " name TEXT, args TEXT, PRIMARY KEY (block, log_index));"
        "INSERT INTO events VALUES (1, 0, '0x', 'TaskMarket', 'TaskCreated', '{}');"
        "CREATE TABLE disputes (id INTEGER PRIMARY KEY, task_id INTEGER);"
        "CREATE TABLE specs (cid TEXT PRIMARY KEY, state TEXT NOT NULL, summary TEXT, error TEXT);"
        "INSERT INTO specs VALUES ('bafyspec', 'ok', NULL, NULL);"
    )
    old.commit()
    old.close()
    conn = db.connect(path)
    assert db.get_meta(conn, "schema") == db.SCHEMA_VERSION
    assert db.get_meta(conn, "cursor_block") is None and db.get_meta(conn, "chain_id") == "31337"
    assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0
    assert "court" in {r[1] for r in conn.execute("PRAGMA table_info(disputes)")}
    assert conn.execute("SELECT COUNT(*) FROM specs").fetchone()[0] == 1
