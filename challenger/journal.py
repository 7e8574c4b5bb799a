"""The bots' durable SQLite journal: audits, disputes, decisions, juror votes, watcher cursors.

Every write is one transaction with ``synchronous=FULL`` (WAL), so a row that ``commit`` returned
for is on disk (fsync) before the bot acts on it. The juror relies on this: a vote's salt and leaf
are journalled before the commit transaction is sent, so a juror killed between commit and reveal
reveals the same vote after a restart.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

from challenger.errors import JournalError
from ledger.watch import Cursor


class AuditStatus(StrEnum):
    """Where one commitment stands in the auditor's journal (``audits.status``)."""

    #: The secret coin hit: to be audited.
    QUEUED = "queued"
    #: The coin missed, or it is our own segment.
    SKIPPED = "skipped"
    #: The chain holds another commitment for the segment now.
    STALE = "stale"
    #: The challenge window closed (or closes too soon) before we could dispute.
    EXPIRED = "expired"
    #: The segment's data could not be read or the dispute transaction failed.
    ERROR = "error"
    #: Replayed; everything matches.
    OK = "ok"
    #: Replayed; the end state matches but the trace cannot be checked.
    UNPROVABLE = "unprovable"
    #: Not audited: the spec needs another determinism profile than this process runs.
    REFUSED = "refused"
    #: Replayed and disputed (``dispute_id`` says which dispute).
    DISPUTED = "disputed"
    #: Replayed; trace and end state right, the end checkpoint not that state, on a refereed
    #: task (not disputable there: attested Fault, see ``Verdict.CHECKPOINT_FAULT``).
    CHECKPOINT_FAULT = "checkpoint-fault"


#: Audit statuses that count as an audit done (the replay ran to a verdict).
AUDITED = (AuditStatus.OK, AuditStatus.DISPUTED, AuditStatus.UNPROVABLE,
           AuditStatus.CHECKPOINT_FAULT)


class DisputeStatus(StrEnum):
    """A dispute as the auditor (or keeper) journals it (``disputes.status``)."""

    OPEN = "open"
    #: Resolved NODE_WRONG: our dispute was right.
    WON = "won"
    #: Resolved NODE_RIGHT: our bond went to the node.
    LOST = "lost"
    #: Resolved VOID (no quorum drawn in time, or no majority after the redraw): bond back.
    VOID = "void"
    #: Resolved (the keeper does not care how).
    RESOLVED = "resolved"


class VoteStatus(StrEnum):
    """A juror's vote in one round (``votes.status``), in order."""

    DRAWN = "drawn"
    #: Leaf and salt journalled; the commit transaction is next.
    PREPARED = "prepared"
    COMMITTED = "committed"
    REVEALED = "revealed"
    #: A window passed before we committed or revealed.
    MISSED = "missed"
    #: Not voted: the spec needs another determinism profile than this process runs.
    REFUSED = "refused"


AUDITS = """
CREATE TABLE IF NOT EXISTS audits (
  task_id INTEGER, k INTEGER, trace_root TEXT, node TEXT, committed_block INTEGER,
  checkpoint_cid TEXT, leaves_cid TEXT, status TEXT, reason TEXT, steps INTEGER DEFAULT 0,
  cpu_s REAL DEFAULT 0, dispute_id INTEGER, updated REAL,
  PRIMARY KEY (task_id, k, trace_root, committed_block))"""

SCHEMA = AUDITS + """;
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, block INTEGER, hash TEXT);
CREATE TABLE IF NOT EXISTS disputes (
  dispute_id INTEGER, task_id INTEGER, k INTEGER, step INTEGER, node TEXT,
  bond TEXT, status TEXT, outcome INTEGER DEFAULT 0, reason TEXT, updated REAL,
  referee INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (referee, dispute_id));
CREATE TABLE IF NOT EXISTS payouts (id INTEGER PRIMARY KEY AUTOINCREMENT, amount TEXT, at REAL);
CREATE TABLE IF NOT EXISTS decisions (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL, kind TEXT, task_id INTEGER, k INTEGER,
  dispute_id INTEGER, decision TEXT, reason TEXT);
CREATE TABLE IF NOT EXISTS votes (
  dispute_id INTEGER, round INTEGER, leaf TEXT, salt TEXT, status TEXT, reason TEXT,
  commit_deadline INTEGER, reveal_deadline INTEGER, updated REAL,
  PRIMARY KEY (dispute_id, round));
"""


class Journal:
    """One SQLite file per bot (``auditor.sqlite``, ``juror.sqlite``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self._migrate()
            self.db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc}",
                               path=str(self.path)) from None

    def close(self) -> None:
        self.db.close()

    def _migrate(self) -> None:
        """Journals written before audits were keyed by commitment (task, k, root, block) get
        the new key; their rows are kept as they are. Disputes written before a market had two
        adjudicators (ids numbered per adjudicator) are the jury's: keyed (referee=0, id)."""
        dcols = {r["name"] for r in self.db.execute("PRAGMA table_info(disputes)")}
        if dcols and "referee" not in dcols:
            with self.tx() as db:
                db.execute("ALTER TABLE disputes RENAME TO disputes_v1")
                db.execute(SCHEMA[SCHEMA.index("CREATE TABLE IF NOT EXISTS disputes"):]
                           .split(";")[0])
                db.execute("INSERT INTO disputes (dispute_id, task_id, k, step, node, bond, "
                           "status, outcome, reason, updated) SELECT * FROM disputes_v1")
                db.execute("DROP TABLE disputes_v1")
        cols = {r["name"]: int(r["pk"]) for r in self.db.execute("PRAGMA table_info(audits)")}
        if not cols or cols.get("committed_block", 0) > 0:
            return
        with self.tx() as db:
            db.execute("ALTER TABLE audits RENAME TO audits_v1")
            db.execute(AUDITS)
            db.execute("INSERT INTO audits SELECT * FROM audits_v1")
            db.execute("DROP TABLE audits_v1")

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One durable transaction (fsynced when it returns)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def rows(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        return list(self.db.execute(sql, args))

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        return self.db.execute(sql, args).fetchone()

    # ---- cursors -------------------------------------------------------------------------
    def cursor(self, name: str) -> Cursor | None:
        row = self.one("SELECT block, hash FROM cursors WHERE name = ?", name)
        return Cursor(int(row["block"]), str(row["hash"])) if row else None

    def save_cursor(self, name: str, cursor: Cursor | None) -> None:
        if cursor is None:
            return
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO cursors VALUES (?, ?, ?)",
                       (name, cursor.block, cursor.block_hash))

    # ---- decisions -----------------------------------------------------------------------
    def decide(self, kind: str, decision: str, reason: str, *, task_id: int | None = None,
               k: int | None = None, dispute_id: int | None = None) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO decisions (at, kind, task_id, k, dispute_id, decision, reason) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", (time.time(), kind, task_id, k, dispute_id,
                                                        decision, reason))

    def decisions(self, kind: str | None = None) -> list[sqlite3.Row]:
        if kind is None:
            return self.rows("SELECT * FROM decisions ORDER BY id")
        return self.rows("SELECT * FROM decisions WHERE kind = ? ORDER BY id", kind)
