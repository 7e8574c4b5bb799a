"""The node's durable memory: a SQLite journal (WAL, fsync on every commit).

It records what the node has trained, uploaded and committed, so a restart after a crash goes on
where it stopped: finished segments are not trained again and no commitment is lost. The chain
stays the source of truth: the daemon checks every journaled fact against on-chain state before
acting on it, and corrects the journal when they disagree (a reorg, a crash between a transaction
and its journal entry).

Segment states, in order: ``trained`` (checkpoint and leaves on local disk) -> ``uploaded`` (CIDs
known and pinned) -> ``committing`` (transaction about to be sent) -> ``committed`` (seen on-chain).
Task states: ``active`` (ours, in progress), ``done`` (reward claimed), ``lost`` (reopened or taken
from us), ``refused`` (we will not serve it; ``reason`` says why).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

from node.errors import JournalError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS candidates(task_id INTEGER PRIMARY KEY, spec_cid TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks(
    task_id INTEGER PRIMARY KEY, epoch INTEGER NOT NULL, spec_cid TEXT NOT NULL,
    state TEXT NOT NULL, reason TEXT, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS segments(
    task_id INTEGER NOT NULL, k INTEGER NOT NULL, state TEXT NOT NULL,
    trace_root TEXT NOT NULL, end_state_hash TEXT NOT NULL, out_dir TEXT NOT NULL,
    checkpoint_cid TEXT, leaves_cid TEXT, commit_block INTEGER, updated REAL NOT NULL,
    PRIMARY KEY(task_id, k));
CREATE TABLE IF NOT EXISTS pins(
    cid TEXT PRIMARY KEY, task_id INTEGER NOT NULL, unpin_after INTEGER);
CREATE TABLE IF NOT EXISTS disputes(dispute_id INTEGER NOT NULL, task_id INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0, referee INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(referee, dispute_id));
"""

#: Journals written before a market had two adjudicators key disputes by id alone (every one
#: the jury's): they get the (referee, dispute_id) key, their rows kept as the jury's.
_DISPUTES_V1 = """
ALTER TABLE disputes RENAME TO disputes_v1;
CREATE TABLE disputes(dispute_id INTEGER NOT NULL, task_id INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0, referee INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(referee, dispute_id));
INSERT INTO disputes(dispute_id, task_id, done) SELECT dispute_id, task_id, done FROM disputes_v1;
DROP TABLE disputes_v1;
"""

class SegmentState(StrEnum):
    """Where a segment stands, in order (the journal stores the value)."""

    #: Checkpoint and leaves are on local disk.
    TRAINED = "trained"
    #: CIDs known and pinned.
    UPLOADED = "uploaded"
    #: The commit transaction is about to be sent.
    COMMITTING = "committing"
    #: Seen on-chain.
    COMMITTED = "committed"


class TaskState(StrEnum):
    """What the node does with a task (the journal stores the value)."""

    #: Ours, in progress.
    ACTIVE = "active"
    #: Reward claimed (or the task completed while ours).
    DONE = "done"
    #: Reopened or taken from us.
    LOST = "lost"
    #: We will not serve it (the row's ``reason`` says why).
    REFUSED = "refused"


@dataclass(frozen=True)
class SegmentRow:
    task_id: int
    k: int
    state: SegmentState
    trace_root: str
    end_state_hash: str
    out_dir: str
    checkpoint_cid: str | None
    leaves_cid: str | None
    commit_block: int | None

    @property
    def checkpoint_dir(self) -> Path:
        return Path(self.out_dir) / "checkpoint"

    @property
    def leaves_file(self) -> Path:
        return Path(self.out_dir) / "leaves.json"


@dataclass(frozen=True)
class TaskRow:
    task_id: int
    epoch: int
    spec_cid: str
    state: TaskState
    reason: str | None


class OpenDispute(NamedTuple):
    """A dispute on one of our tasks that is not settled yet."""

    dispute_id: int
    task_id: int
    #: The referee's game (else the jury's dispute): ids are numbered per adjudicator.
    referee: bool = False


def _task_row(r: tuple[Any, ...]) -> TaskRow:
    return TaskRow(int(r[0]), int(r[1]), str(r[2]), TaskState(r[3]), r[4])


class Journal:
    """Thread-safe access to the journal file (one connection, one lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(
                str(self.path), check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # fsync the WAL on every commit
            cols = {r[1] for r in self._db.execute("PRAGMA table_info(disputes)")}
            if cols and "referee" not in cols:
                self._db.executescript("BEGIN IMMEDIATE;" + _DISPUTES_V1 + "COMMIT;")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise JournalError(
                f"cannot open the node journal {self.path}: {exc}",
                path=str(self.path),
                hint="move the file away to start fresh (on-chain state is kept)",
            ) from None
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    # --- meta ----------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key=?", key)
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET "
                "value=excluded.value",
                (key, value),
            )

    # --- candidates (open tasks seen in events) ------------------------------------------------
    def add_candidate(self, task_id: int, spec_cid: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO candidates(task_id, spec_cid) VALUES(?, ?)",
                (task_id, spec_cid),
            )

    def candidates(self) -> list[tuple[int, str]]:
        return [
            (int(a), str(b))
            for a, b in self._rows("SELECT task_id, spec_cid FROM candidates ORDER BY task_id")
        ]

    # --- tasks ---------------------------------------------------------------------------------
    def set_task(self, task_id: int, epoch: int, spec_cid: str, state: TaskState,
                 reason: str | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO tasks(task_id, epoch, spec_cid, state, reason, updated) "
                "VALUES(?,?,?,?,?,?) "
                "ON CONFLICT(task_id) DO UPDATE SET epoch=excluded.epoch, "
                "spec_cid=excluded.spec_cid, "
                "state=excluded.state, reason=excluded.reason, updated=excluded.updated",
                (task_id, epoch, spec_cid, TaskState(state).value, reason, time.time()),
            )

    def task(self, task_id: int) -> TaskRow | None:
        rows = self._rows(
            "SELECT task_id, epoch, spec_cid, state, reason FROM tasks WHERE task_id=?", task_id
        )
        return _task_row(rows[0]) if rows else None

    def tasks(self, state: TaskState | None = None) -> list[TaskRow]:
        if state is None:
            rows = self._rows(
                "SELECT task_id, epoch, spec_cid, state, reason FROM tasks ORDER BY task_id"
            )
        else:
            rows = self._rows(
                "SELECT task_id, epoch, spec_cid, state, reason FROM tasks WHERE state=? "
                "ORDER BY task_id",
                TaskState(state).value,
            )
        return [_task_row(r) for r in rows]

    # --- segments ------------------------------------------------------------------------------
    def record_trained(
        self, task_id: int, k: int, trace_root: str, end_state_hash: str, out_dir: str
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO segments(task_id, k, state, trace_root, end_state_hash, "
                "out_dir, "
                "checkpoint_cid, leaves_cid, commit_block, updated) "
                "VALUES(?,?,?,?,?,?,NULL,NULL,NULL,?)",
                (
                    task_id,
                    k,
                    SegmentState.TRAINED.value,
                    trace_root,
                    end_state_hash,
                    out_dir,
                    time.time(),
                ),
            )

    def record_uploaded(self, task_id: int, k: int, checkpoint_cid: str, leaves_cid: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE segments SET state='uploaded', checkpoint_cid=?, leaves_cid=?, updated=? "
                "WHERE task_id=? AND k=?",
                (checkpoint_cid, leaves_cid, time.time(), task_id, k),
            )
            for cid in (checkpoint_cid, leaves_cid):
                db.execute(
                    "INSERT OR IGNORE INTO pins(cid, task_id, unpin_after) VALUES(?,?,NULL)",
                    (cid, task_id),
                )

    def set_segment_state(self, task_id: int, k: int, state: SegmentState,
                          commit_block: int | None = None) -> None:
        state = SegmentState(state)  # a value that is no state raises ValueError here
        with self._tx() as db:
            db.execute(
                "UPDATE segments SET state=?, commit_block=?, updated=? WHERE task_id=? AND k=?",
                (state.value, commit_block, time.time(), task_id, k),
            )

    def drop_segments(self, task_id: int, from_k: int) -> int:
        """Forget segments ``k >= from_k`` of a task (e.g. a reclaimed task from another epoch)."""
        with self._tx() as db:
            return int(
                db.execute(
                    "DELETE FROM segments WHERE task_id=? AND k>=?", (task_id, from_k)
                ).rowcount
            )

    def segments(self, task_id: int) -> list[SegmentRow]:
        rows = self._rows(
            "SELECT task_id, k, state, trace_root, end_state_hash, out_dir, checkpoint_cid, "
            "leaves_cid, commit_block FROM segments WHERE task_id=? ORDER BY k",
            task_id,
        )
        return [SegmentRow(r[0], r[1], SegmentState(r[2]), *r[3:]) for r in rows]

    def segment(self, task_id: int, k: int) -> SegmentRow | None:
        rows = [s for s in self.segments(task_id) if s.k == k]
        return rows[0] if rows else None

    # --- pins ----------------------------------------------------------------------------------
    def schedule_unpin(self, task_id: int, after_block: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE pins SET unpin_after=? WHERE task_id=? AND unpin_after IS NULL",
                       (after_block, task_id))

    def pins(self, task_id: int | None = None) -> list[tuple[str, int, int | None]]:
        if task_id is None:
            return [
                (str(a), int(b), c)
                for a, b, c in self._rows("SELECT cid, task_id, unpin_after FROM pins")
            ]
        return [(str(a), int(b), c) for a, b, c in
                self._rows("SELECT cid, task_id, unpin_after FROM pins WHERE task_id=?", task_id)]

    def due_unpins(self, block: int) -> list[str]:
        return [
            str(r[0])
            for r in self._rows(
                "SELECT cid FROM pins WHERE unpin_after IS NOT NULL AND unpin_after<?", block
            )
        ]

    def forget_pin(self, cid: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM pins WHERE cid=?", (cid,))

    # --- disputes on our tasks -----------------------------------------------------------------
    def add_dispute(self, dispute_id: int, task_id: int, referee: bool = False) -> None:
        """A dispute on one of our tasks; ``referee``: a referee game (ids are per adjudicator)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO disputes(dispute_id, task_id, referee) VALUES(?, ?, ?)",
                (dispute_id, task_id, int(referee)),
            )

    def open_disputes(self) -> list[OpenDispute]:
        return [
            OpenDispute(int(a), int(b), bool(c))
            for a, b, c in self._rows(
                "SELECT dispute_id, task_id, referee FROM disputes WHERE done=0 "
                "ORDER BY referee, dispute_id"
            )
        ]

    def close_dispute(self, dispute_id: int, referee: bool = False) -> None:
        with self._tx() as db:
            db.execute("UPDATE disputes SET done=1 WHERE dispute_id=? AND referee=?",
                       (dispute_id, int(referee)))
