"""The chain tables as a fold over the contracts' events, mirroring the contracts' own rules.

``apply(conn, ev)`` updates tasks, segments, accounts, disputes and the dispute timeline for one
event; applying the stored events in chain order rebuilds every chain table (``refold``). Stake
positions follow StakeManager exactly (a slash takes free stake first, then the pending
withdrawal, then locked stake), so the index agrees with ``stakeInfo`` to the wei.

Dispute moves are typed by :class:`MoveKind`. The jury's moves are those of today; a referee
(bisection) game adds its own kinds without changing the table.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ledger.protocol import TaskStatus


@dataclass(frozen=True)
class Ev:
    """One decoded event, JSON-clean (bytes as 0x-hex, big ints as ints)."""

    block: int
    log_index: int
    tx: str
    contract: str
    name: str
    args: dict[str, Any]


class MoveKind(StrEnum):
    """What happened in a dispute (the timeline's rows)."""

    OPENED = "opened"
    END_STATE_CLAIM = "end-state-claim"
    JURY_DRAWN = "jury-drawn"
    REDRAW_SCHEDULED = "redraw-scheduled"
    VOTE_COMMITTED = "vote-committed"
    VOTE_REVEALED = "vote-revealed"
    JUROR_PENALISED = "juror-penalised"
    PAYOUT_CREDITED = "payout-credited"
    RESOLVED = "resolved"
    NODE_SLASHED = "node-slashed"


def _amt(v: Any) -> int:
    return int(v or 0)


def _account(conn: sqlite3.Connection, address: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM accounts WHERE address = ?", (address,)).fetchone()
    if row is None:
        conn.execute("INSERT INTO accounts (address) VALUES (?)", (address,))
        row = conn.execute("SELECT * FROM accounts WHERE address = ?", (address,)).fetchone()
    return dict(row)


def _add(conn: sqlite3.Connection, address: str, **deltas: int) -> None:
    """Add integer deltas to an account's TEXT amounts (uint256 does not fit SQLite's INTEGER)."""
    acc = _account(conn, address)
    sets = ", ".join(f"{k} = ?" for k in deltas)
    conn.execute(f"UPDATE accounts SET {sets} WHERE address = ?",
                 (*(str(_amt(acc[k]) + d) for k, d in deltas.items()), address))


def _move(conn: sqlite3.Connection, ev: Ev, dispute_id: int, kind: MoveKind, actor: str | None,
          **detail: Any) -> None:
    conn.execute("INSERT OR REPLACE INTO moves VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (dispute_id, ev.block, ev.log_index, kind.value, actor, json.dumps(detail), ev.tx))


# ---- TaskMarket ------------------------------------------------------------------------------
def _task_created(conn: sqlite3.Connection, ev: Ev) -> None:
    a, p = ev.args, ev.args["params"]
    conn.execute(
        "INSERT OR REPLACE INTO tasks (id, requester, spec_cid, spec_hash, reward, total_steps, "
        "segment_steps, challenge_window, segment_deadline, node_stake, status, created_block, "
        "created_tx) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (a["taskId"], a["requester"], a["specCid"], a["specHash"], str(a["reward"]),
         p["totalSteps"], p["segmentSteps"], p["challengeWindow"], p["segmentDeadline"],
         str(p["nodeStake"]), int(TaskStatus.OPEN), ev.block, ev.tx))


def _task_cancelled(conn: sqlite3.Connection, ev: Ev) -> None:
    conn.execute("UPDATE tasks SET status = ?, refunded = ? WHERE id = ?",
                 (int(TaskStatus.CANCELLED), str(ev.args["refunded"]), ev.args["taskId"]))


def _task_claimed(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    conn.execute("UPDATE tasks SET status = ?, node = ?, next_segment = ?, due_block = ? WHERE id = ?",
                 (int(TaskStatus.CLAIMED), a["node"], a["nextSegment"], a["dueBlock"], a["taskId"]))
    _account(conn, a["node"])
    conn.execute("UPDATE accounts SET tasks = tasks + 1 WHERE address = ?", (a["node"],))
    conn.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?)",
                 (a["taskId"], a["node"], ev.block, ev.log_index))


def _latest_segment(conn: sqlite3.Connection, tid: int, k: int) -> sqlite3.Row | None:
    return conn.execute("SELECT epoch, open_disputes FROM segments WHERE task_id = ? AND k = ? "
                        "ORDER BY epoch DESC LIMIT 1", (tid, k)).fetchone()


def _segment_committed(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    tid, k = a["taskId"], a["k"]
    row = conn.execute("SELECT epoch, segment_deadline FROM tasks WHERE id = ?", (tid,)).fetchone()
    epoch, deadline = (row[0], row[1]) if row else (0, 0)
    prev = _latest_segment(conn, tid, k)
    # The contract keeps one dispute counter per (task, k) slot across recommits: carry it over.
    open_disputes = prev["open_disputes"] if prev is not None else 0
    conn.execute("UPDATE segments SET current = 0 WHERE task_id = ? AND k = ?", (tid, k))
    conn.execute("INSERT OR REPLACE INTO segments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                 (tid, k, epoch, a["node"], a["traceRoot"], a["endStateHash"], a["checkpointCid"],
                  a["leavesCid"], ev.block, ev.tx, open_disputes))
    conn.execute("UPDATE tasks SET next_segment = ?, due_block = ? WHERE id = ?",
                 (k + 1, ev.block + deadline, tid))


def _task_reopened(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    conn.execute("UPDATE tasks SET status = ?, node = NULL, next_segment = ?, epoch = ?, "
                 "due_block = NULL WHERE id = ?",
                 (int(TaskStatus.OPEN), a["fromSegment"], a["epoch"], a["taskId"]))
    conn.execute("UPDATE segments SET current = 0 WHERE task_id = ? AND k >= ?",
                 (a["taskId"], a["fromSegment"]))


def _segment_dispute_count(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    tid, k = a["taskId"], a["k"]
    prev = _latest_segment(conn, tid, k)
    if prev is None:
        return
    delta = a["openDisputes"] - prev["open_disputes"]
    conn.execute("UPDATE segments SET open_disputes = ? WHERE task_id = ? AND k = ? AND epoch = ?",
                 (a["openDisputes"], tid, k, prev["epoch"]))
    conn.execute("UPDATE tasks SET open_disputes = MAX(0, open_disputes + ?) WHERE id = ?", (delta, tid))


def _reward_claimed(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    conn.execute("UPDATE tasks SET status = ?, paid = ? WHERE id = ?",
                 (int(TaskStatus.COMPLETED), str(a["reward"]), a["taskId"]))
    _add(conn, a["node"], rewards=_amt(a["reward"]))


def _node_slashed(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    if a["disputeId"]:
        _move(conn, ev, a["disputeId"], MoveKind.NODE_SLASHED, a["node"], amount=str(a["amount"]))


# ---- StakeManager ----------------------------------------------------------------------------
def _deposited(conn: sqlite3.Connection, ev: Ev) -> None:
    _add(conn, ev.args["account"], staked=_amt(ev.args["amount"]))


def _withdrawal_requested(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    amount = _amt(a["amount"])
    _add(conn, a["account"], staked=-amount, pending=amount)
    conn.execute("UPDATE accounts SET ready_at = ? WHERE address = ?", (a["readyAt"], a["account"]))


def _withdrawn(conn: sqlite3.Connection, ev: Ev) -> None:
    _add(conn, ev.args["account"], pending=-_amt(ev.args["amount"]))


def _locked(conn: sqlite3.Connection, ev: Ev) -> None:
    _add(conn, ev.args["account"], locked=_amt(ev.args["amount"]))


def _unlocked(conn: sqlite3.Connection, ev: Ev) -> None:
    _add(conn, ev.args["account"], locked=-_amt(ev.args["amount"]))


def _slashed(conn: sqlite3.Connection, ev: Ev) -> None:
    """StakeManager.slash: free stake first, then the pending withdrawal, then locked stake."""
    a = ev.args
    acc = _account(conn, a["account"])
    staked, locked, pending = _amt(acc["staked"]), _amt(acc["locked"]), _amt(acc["pending"])
    rest = _amt(a["amount"])
    from_free = min(rest, staked - locked)
    rest -= from_free
    from_pending = min(rest, pending)
    rest -= from_pending
    from_locked = min(rest, locked)
    _add(conn, a["account"], staked=-(from_free + from_locked), locked=-from_locked,
         pending=-from_pending, slashed=_amt(a["amount"]))


def _jailed(conn: sqlite3.Connection, ev: Ev) -> None:
    _account(conn, ev.args["account"])
    conn.execute("UPDATE accounts SET jailed_until = ? WHERE address = ?",
                 (ev.args["untilBlock"], ev.args["account"]))


def _juror(flag: int) -> Callable[[sqlite3.Connection, Ev], None]:
    def apply(conn: sqlite3.Connection, ev: Ev) -> None:
        _account(conn, ev.args["account"])
        conn.execute("UPDATE accounts SET juror = ? WHERE address = ?", (flag, ev.args["account"]))
    return apply


# ---- JuryAdjudicator -------------------------------------------------------------------------
def _dispute_opened(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    row = conn.execute("SELECT epoch FROM tasks WHERE id = ?", (a["taskId"],)).fetchone()
    conn.execute("INSERT OR REPLACE INTO disputes (id, task_id, k, step, node_leaf, challenger, node, "
                 "bond, kind, epoch, opened_block, tx) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'leaf', ?, ?, ?)",
                 (a["disputeId"], a["taskId"], a["k"], a["step"], a["nodeLeaf"], a["challenger"],
                  a["node"], str(a["bond"]), row[0] if row else 0, ev.block, ev.tx))
    _move(conn, ev, a["disputeId"], MoveKind.OPENED, a["challenger"], step=a["step"], k=a["k"],
          nodeLeaf=a["nodeLeaf"], bond=str(a["bond"]))


def _end_state_opened(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    conn.execute("UPDATE disputes SET kind = 'end-state' WHERE id = ?", (a["disputeId"],))
    _move(conn, ev, a["disputeId"], MoveKind.END_STATE_CLAIM, None, endStateHash=a["endStateHash"])


def _jury_drawn(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    conn.execute("UPDATE disputes SET round = ? WHERE id = ?", (a["round"], a["disputeId"]))
    _move(conn, ev, a["disputeId"], MoveKind.JURY_DRAWN, None, round=a["round"], jurors=a["jurors"],
          commitDeadline=a["commitDeadline"], revealDeadline=a["revealDeadline"])


def _dispute_resolved(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    conn.execute("UPDATE disputes SET outcome = ?, majority_leaf = ?, slashed = ?, resolved_block = ? "
                 "WHERE id = ?", (a["outcome"], a["majorityLeaf"], str(a["slashed"]), ev.block,
                                  a["disputeId"]))
    _move(conn, ev, a["disputeId"], MoveKind.RESOLVED, None, outcome=a["outcome"],
          majorityLeaf=a["majorityLeaf"], slashed=str(a["slashed"]))


def _payout_credited(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    _add(conn, a["account"], payouts=_amt(a["amount"]))
    _move(conn, ev, a["disputeId"], MoveKind.PAYOUT_CREDITED, a["account"], amount=str(a["amount"]))


def _simple_move(kind: MoveKind, actor_key: str | None, *keys: str
                 ) -> Callable[[sqlite3.Connection, Ev], None]:
    def apply(conn: sqlite3.Connection, ev: Ev) -> None:
        a = ev.args
        _move(conn, ev, a["disputeId"], kind, a[actor_key] if actor_key else None,
              **{k: (str(a[k]) if isinstance(a[k], int) and a[k] > 2**53 else a[k]) for k in keys})
    return apply


HANDLERS: dict[str, Callable[[sqlite3.Connection, Ev], None]] = {
    "TaskCreated": _task_created,
    "TaskCancelled": _task_cancelled,
    "TaskClaimed": _task_claimed,
    "SegmentCommitted": _segment_committed,
    "TaskReopened": _task_reopened,
    "SegmentDisputeCount": _segment_dispute_count,
    "RewardClaimed": _reward_claimed,
    "NodeSlashed": _node_slashed,
    "StakeDeposited": _deposited,
    "WithdrawalRequested": _withdrawal_requested,
    "StakeWithdrawn": _withdrawn,
    "StakeLocked": _locked,
    "StakeUnlocked": _unlocked,
    "StakeSlashed": _slashed,
    "Jailed": _jailed,
    "JurorOptedIn": _juror(1),
    "JurorOptedOut": _juror(0),
    "DisputeOpened": _dispute_opened,
    "EndStateDisputeOpened": _end_state_opened,
    "JuryDrawn": _jury_drawn,
    "RedrawScheduled": _simple_move(MoveKind.REDRAW_SCHEDULED, None, "drawAfter"),
    "VoteCommitted": _simple_move(MoveKind.VOTE_COMMITTED, "juror"),
    "VoteRevealed": _simple_move(MoveKind.VOTE_REVEALED, "juror", "leaf"),
    "JurorPenalised": _simple_move(MoveKind.JUROR_PENALISED, "juror", "amount"),
    "PayoutCredited": _payout_credited,
    "DisputeResolved": _dispute_resolved,
}


def apply(conn: sqlite3.Connection, ev: Ev) -> None:
    """Fold one event into the chain tables (events the explorer does not show are kept only raw)."""
    handler = HANDLERS.get(ev.name)
    if handler is not None:
        handler(conn, ev)


def refold(conn: sqlite3.Connection) -> int:
    """Rebuild every chain table from the stored events; returns how many were applied."""
    from explorer.db import CHAIN_TABLES

    for table in CHAIN_TABLES:
        conn.execute(f"DELETE FROM {table}")
    n = 0
    for row in conn.execute("SELECT * FROM events ORDER BY block, log_index").fetchall():
        apply(conn, Ev(row["block"], row["log_index"], row["tx"], row["contract"], row["name"],
                       json.loads(row["args"])))
        n += 1
    return n
