"""The explorer's SQLite index: schema, connections and the few meta values it keeps.

Two kinds of tables:

* ``events`` holds every decoded contract event the indexer was delivered, in chain order. It is
  the source of truth: every other chain table is a fold over it (``explorer.fold``), so a reorg
  is undone by deleting the events from the fork point on and folding the rest again.
* ``specs``, ``leaves`` and ``losses`` hold IPFS metadata keyed by CID (content-addressed, so a
  reorg never makes them wrong); they survive refolds.

Token amounts are uint256 (beyond SQLite's 64-bit integers), so they are stored as decimal TEXT
and added up in Python.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from veritrain.errors import ExplorerError, leaf

#: Version 2: disputes and moves keyed by (court, id) (the jury's and the referee's ids collide),
#: tasks with their court and graphRoot, the referee game's fault. Version 3: the dispute payouts
#: each account claimed (PayoutClaimed of both adjudicators). An index of another version is
#: rebuilt from the chain on open (``connect``): its events are dropped and its cursor reset.
SCHEMA_VERSION = "3"

CHAIN_TABLES = ("tasks", "segments", "claims", "accounts", "disputes", "moves")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  block INTEGER NOT NULL, log_index INTEGER NOT NULL, tx TEXT NOT NULL, contract TEXT NOT NULL,
  name TEXT NOT NULL, args TEXT NOT NULL, PRIMARY KEY (block, log_index));
CREATE TABLE IF NOT EXISTS tasks (
  id INTEGER PRIMARY KEY, requester TEXT NOT NULL, spec_cid TEXT NOT NULL, spec_hash TEXT NOT NULL,
  reward TEXT NOT NULL, total_steps INTEGER NOT NULL, segment_steps INTEGER NOT NULL,
  challenge_window INTEGER NOT NULL, segment_deadline INTEGER NOT NULL, node_stake TEXT NOT NULL,
  status INTEGER NOT NULL, node TEXT, epoch INTEGER NOT NULL DEFAULT 0,
  next_segment INTEGER NOT NULL DEFAULT 0, due_block INTEGER,
  open_disputes INTEGER NOT NULL DEFAULT 0,
  created_block INTEGER NOT NULL, created_tx TEXT NOT NULL, paid TEXT, refunded TEXT,
  court TEXT NOT NULL DEFAULT 'jury', graph_root TEXT);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks (status, id);
CREATE INDEX IF NOT EXISTS tasks_node ON tasks (node);
CREATE TABLE IF NOT EXISTS segments (
  task_id INTEGER NOT NULL, k INTEGER NOT NULL, epoch INTEGER NOT NULL, node TEXT NOT NULL,
  trace_root TEXT NOT NULL, end_state_hash TEXT NOT NULL, checkpoint_cid TEXT NOT NULL,
  leaves_cid TEXT NOT NULL, block INTEGER NOT NULL, tx TEXT NOT NULL,
  open_disputes INTEGER NOT NULL DEFAULT 0, current INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (task_id, k, epoch));
CREATE INDEX IF NOT EXISTS segments_current ON segments (task_id, current, k);
CREATE TABLE IF NOT EXISTS claims (
  task_id INTEGER NOT NULL, node TEXT NOT NULL, block INTEGER NOT NULL, log_index INTEGER NOT NULL,
  PRIMARY KEY (block, log_index));
CREATE INDEX IF NOT EXISTS claims_node ON claims (node);
CREATE TABLE IF NOT EXISTS accounts (
  address TEXT PRIMARY KEY, staked TEXT NOT NULL DEFAULT '0', locked TEXT NOT NULL DEFAULT '0',
  pending TEXT NOT NULL DEFAULT '0', ready_at INTEGER NOT NULL DEFAULT 0,
  jailed_until INTEGER NOT NULL DEFAULT 0, juror INTEGER NOT NULL DEFAULT 0,
  tasks INTEGER NOT NULL DEFAULT 0, slashed TEXT NOT NULL DEFAULT '0',
  rewards TEXT NOT NULL DEFAULT '0', payouts TEXT NOT NULL DEFAULT '0',
  claimed TEXT NOT NULL DEFAULT '0');
CREATE TABLE IF NOT EXISTS disputes (
  court TEXT NOT NULL, id INTEGER NOT NULL, task_id INTEGER NOT NULL, k INTEGER NOT NULL,
  step INTEGER NOT NULL, node_leaf TEXT NOT NULL, challenger TEXT NOT NULL, node TEXT NOT NULL,
  bond TEXT NOT NULL, kind TEXT NOT NULL, epoch INTEGER NOT NULL, opened_block INTEGER NOT NULL,
  tx TEXT NOT NULL, round INTEGER NOT NULL DEFAULT 0, outcome INTEGER NOT NULL DEFAULT 0,
  majority_leaf TEXT, slashed TEXT, resolved_block INTEGER, fault TEXT,
  PRIMARY KEY (court, id));
CREATE INDEX IF NOT EXISTS disputes_task ON disputes (task_id, k);
CREATE TABLE IF NOT EXISTS moves (
  court TEXT NOT NULL, dispute_id INTEGER NOT NULL, block INTEGER NOT NULL,
  log_index INTEGER NOT NULL, kind TEXT NOT NULL, actor TEXT, detail TEXT NOT NULL,
  tx TEXT NOT NULL, PRIMARY KEY (court, dispute_id, block, log_index));
CREATE TABLE IF NOT EXISTS specs (
  cid TEXT PRIMARY KEY, state TEXT NOT NULL, summary TEXT, error TEXT);
CREATE TABLE IF NOT EXISTS leaves (
  cid TEXT PRIMARY KEY, state TEXT NOT NULL, error TEXT);
CREATE TABLE IF NOT EXISTS losses (
  cid TEXT NOT NULL, step INTEGER NOT NULL, loss REAL, PRIMARY KEY (cid, step));
"""


@leaf
class IndexDbError(ExplorerError):
    """The index database cannot be opened or belongs to another chain."""

    exit_code = 2
    path: str


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection to the index (WAL: the web app reads while the indexer writes)."""
    p = Path(path)
    try:
        if readonly:
            conn = sqlite3.connect(
                f"file:{p}?mode=ro", uri=True, check_same_thread=False, timeout=10
            )
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(p, check_same_thread=False, timeout=10)
            conn.execute("PRAGMA journal_mode=WAL")
            _drop_if_outdated(conn)
            conn.executescript(SCHEMA)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            conn.commit()
    except sqlite3.Error as exc:
        raise IndexDbError(
            f"cannot open the explorer index {p}: {exc}",
            path=str(p),
            hint="check the path is writable, or delete the file to rebuild it from the chain",
        ) from None
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _drop_if_outdated(conn: sqlite3.Connection) -> None:
    """An index of an older schema is a rebuildable cache: drop its events and chain tables and
    its cursor, so the indexer indexes the chain again from the deployment block (the IPFS
    metadata, keyed by CID, is kept)."""
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if has_meta is None:
        return
    have = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    if have is None or have[0] == SCHEMA_VERSION:
        return
    for table in ("events", *CHAIN_TABLES):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(
        "DELETE FROM meta WHERE key IN "
        "('schema', 'cursor_block', 'cursor_hash', 'indexed_block', 'synced_at')"
    )


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: object) -> None:
    conn.execute(
        "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, str(value)),
    )


def bind_to_chain(conn: sqlite3.Connection, path: str | Path, chain_id: int, market: str) -> None:
    """Refuse an index built for another chain or deployment; stamp a new one."""
    have = (get_meta(conn, "chain_id"), get_meta(conn, "task_market"))
    want = (str(chain_id), market.lower())
    if have == (None, None):
        set_meta(conn, "chain_id", chain_id)
        set_meta(conn, "task_market", market.lower())
        conn.commit()
    elif have != want:
        raise IndexDbError(
            f"the index {path} was built for chain {have[0]} / TaskMarket {have[1]}, "
            f"not chain {want[0]} / {want[1]}",
            path=str(path),
            hint="pass another --db (or delete this one) for this deployment",
        )
