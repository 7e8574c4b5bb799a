"""The chain tables as a fold over the contracts' events, mirroring the contracts' own rules.

``apply(conn, ev)`` updates tasks, segments, accounts, disputes and the dispute timeline for one
event; applying the stored events in chain order rebuilds every chain table (``refold``). Stake
positions follow StakeManager's rules as far as its events tell them; the indexer sets each
touched account's position from ``stakeInfo`` at the indexed block, so it is exact to the wei.

Dispute moves are typed by :class:`MoveKind` and keyed by the court that numbers the dispute
(:class:`Court`: the jury's and the referee's ids both count from 1). The referee game's own
events are folded by ``explorer.game``; the events both adjudicators emit (DisputeOpened,
EndStateDisputeOpened, PayoutCredited, DisputeResolved) are folded here, under the emitter's
court.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from explorer.game import GAME_HANDLERS
from explorer.moves import Court, MoveKind, court_of, record
from explorer.stakes import STAKE_HANDLERS, Ev, account_row, add_amounts, amt
from ledger.protocol import TaskStatus

__all__ = ["Court", "MoveKind", "apply", "refold"]


# ---- TaskMarket ------------------------------------------------------------------------------
def _task_created(conn: sqlite3.Connection, ev: Ev) -> None:
    a, p = ev.args, ev.args["params"]
    conn.execute(
        "INSERT OR REPLACE INTO tasks (id, requester, spec_cid, spec_hash, reward, total_steps, "
        "segment_steps, challenge_window, segment_deadline, node_stake, status, created_block, "
        "created_tx) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            a["taskId"],
            a["requester"],
            a["specCid"],
            a["specHash"],
            str(a["reward"]),
            p["totalSteps"],
            p["segmentSteps"],
            p["challengeWindow"],
            p["segmentDeadline"],
            str(p["nodeStake"]),
            int(TaskStatus.OPEN),
            ev.block,
            ev.tx,
        ),
    )


def _task_cancelled(conn: sqlite3.Connection, ev: Ev) -> None:
    """A cancel pays the committers of the final prefix pro rata (TaskMarket's payPrefix: runs
    of one committer, ``reward * run / count`` each) and refunds the rest; no event per payee."""
    a = ev.args
    t = conn.execute(
        "SELECT reward, total_steps, segment_steps, next_segment FROM tasks WHERE id = ?",
        (a["taskId"],),
    ).fetchone()
    paid = amt(a.get("paid"))
    conn.execute(
        "UPDATE tasks SET status = ?, refunded = ?, paid = ? WHERE id = ?",
        (int(TaskStatus.CANCELLED), str(a["refunded"]), str(paid) if paid else None, a["taskId"]),
    )
    if t is None or not paid:
        return
    count, reward = t["total_steps"] // t["segment_steps"], amt(t["reward"])
    committers = [
        r[0]
        for r in conn.execute(
            "SELECT node FROM segments WHERE task_id = ? AND current = 1 AND k < ? ORDER BY k",
            (a["taskId"], t["next_segment"]),
        )
    ]
    k = 0
    while k < len(committers):
        run = k
        while run < len(committers) and committers[run] == committers[k]:
            run += 1
        add_amounts(conn, committers[k], rewards=reward * (run - k) // count)
        k = run


def _task_claimed(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    conn.execute(
        "UPDATE tasks SET status = ?, node = ?, next_segment = ?, due_block = ? WHERE id = ?",
        (int(TaskStatus.CLAIMED), a["node"], a["nextSegment"], a["dueBlock"], a["taskId"]),
    )
    account_row(conn, a["node"])
    conn.execute("UPDATE accounts SET tasks = tasks + 1 WHERE address = ?", (a["node"],))
    conn.execute(
        "INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?)",
        (a["taskId"], a["node"], ev.block, ev.log_index),
    )


def _latest_segment(conn: sqlite3.Connection, tid: int, k: int) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT epoch, open_disputes FROM segments WHERE task_id = ? AND k = ? "
        "ORDER BY epoch DESC LIMIT 1",
        (tid, k),
    ).fetchone()


def _segment_committed(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    tid, k = a["taskId"], a["k"]
    row = conn.execute("SELECT epoch, segment_deadline FROM tasks WHERE id = ?", (tid,)).fetchone()
    epoch, deadline = (row[0], row[1]) if row else (0, 0)
    prev = _latest_segment(conn, tid, k)
    # The contract keeps one dispute counter per (task, k) slot across recommits: carry it over.
    open_disputes = prev["open_disputes"] if prev is not None else 0
    conn.execute("UPDATE segments SET current = 0 WHERE task_id = ? AND k = ?", (tid, k))
    conn.execute(
        "INSERT OR REPLACE INTO segments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
        (
            tid,
            k,
            epoch,
            a["node"],
            a["traceRoot"],
            a["endStateHash"],
            a["checkpointCid"],
            a["leavesCid"],
            ev.block,
            ev.tx,
            open_disputes,
        ),
    )
    conn.execute(
        "UPDATE tasks SET next_segment = ?, due_block = ? WHERE id = ?",
        (k + 1, ev.block + deadline, tid),
    )


def _task_reopened(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    conn.execute(
        "UPDATE tasks SET status = ?, node = NULL, next_segment = ?, epoch = ?, "
        "due_block = NULL WHERE id = ?",
        (int(TaskStatus.OPEN), a["fromSegment"], a["epoch"], a["taskId"]),
    )
    conn.execute(
        "UPDATE segments SET current = 0 WHERE task_id = ? AND k >= ?",
        (a["taskId"], a["fromSegment"]),
    )


def _segment_dispute_count(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    tid, k = a["taskId"], a["k"]
    prev = _latest_segment(conn, tid, k)
    if prev is None:
        return
    delta = a["openDisputes"] - prev["open_disputes"]
    conn.execute(
        "UPDATE segments SET open_disputes = ? WHERE task_id = ? AND k = ? AND epoch = ?",
        (a["openDisputes"], tid, k, prev["epoch"]),
    )
    conn.execute(
        "UPDATE tasks SET open_disputes = MAX(0, open_disputes + ?) WHERE id = ?", (delta, tid)
    )


def _reward_claimed(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    conn.execute(
        "UPDATE tasks SET status = ?, paid = ? WHERE id = ?",
        (int(TaskStatus.COMPLETED), str(a["reward"]), a["taskId"]),
    )
    add_amounts(conn, a["node"], rewards=amt(a["reward"]))


def _node_slashed(conn: sqlite3.Connection, ev: Ev) -> None:
    """A slash for a lost dispute: its id is numbered by the task's court."""
    a = ev.args
    if a["disputeId"]:
        row = conn.execute("SELECT court FROM tasks WHERE id = ?", (a["taskId"],)).fetchone()
        court = Court(row[0]) if row else Court.JURY
        record(conn, ev, court, a["disputeId"], MoveKind.NODE_SLASHED, a["node"],
               amount=str(a["amount"]))


def _task_adjudicator(conn: sqlite3.Connection, ev: Ev) -> None:
    court = Court.REFEREE if ev.args["refereed"] else Court.JURY
    conn.execute("UPDATE tasks SET court = ? WHERE id = ?", (court.value, ev.args["taskId"]))


# ---- JuryAdjudicator and OneStepAdjudicator --------------------------------------------------
def _dispute_opened(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    court = court_of(ev)
    row = conn.execute("SELECT epoch FROM tasks WHERE id = ?", (a["taskId"],)).fetchone()
    conn.execute(
        "INSERT OR REPLACE INTO disputes (court, id, task_id, k, step, node_leaf, challenger, "
        "node, bond, kind, epoch, opened_block, tx) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'leaf', ?, ?, ?)",
        (
            court.value,
            a["disputeId"],
            a["taskId"],
            a["k"],
            a["step"],
            a["nodeLeaf"],
            a["challenger"],
            a["node"],
            str(a["bond"]),
            row[0] if row else 0,
            ev.block,
            ev.tx,
        ),
    )
    record(
        conn,
        ev,
        court,
        a["disputeId"],
        MoveKind.OPENED,
        a["challenger"],
        step=a["step"],
        k=a["k"],
        nodeLeaf=a["nodeLeaf"],
        bond=str(a["bond"]),
    )


def _end_state_opened(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    court = court_of(ev)
    conn.execute(
        "UPDATE disputes SET kind = 'end-state' WHERE court = ? AND id = ?",
        (court.value, a["disputeId"]),
    )
    record(conn, ev, court, a["disputeId"], MoveKind.END_STATE_CLAIM, None,
           endStateHash=a["endStateHash"])


def _jury_drawn(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    conn.execute(
        "UPDATE disputes SET round = ? WHERE court = 'jury' AND id = ?",
        (a["round"], a["disputeId"]),
    )
    record(
        conn,
        ev,
        Court.JURY,
        a["disputeId"],
        MoveKind.JURY_DRAWN,
        None,
        round=a["round"],
        jurors=a["jurors"],
        commitDeadline=a["commitDeadline"],
        revealDeadline=a["revealDeadline"],
    )


def _dispute_resolved(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    court = court_of(ev)
    conn.execute(
        "UPDATE disputes SET outcome = ?, majority_leaf = ?, slashed = ?, resolved_block = ? "
        "WHERE court = ? AND id = ?",
        (a["outcome"], a["majorityLeaf"], str(a["slashed"]), ev.block, court.value,
         a["disputeId"]),
    )
    record(
        conn,
        ev,
        court,
        a["disputeId"],
        MoveKind.RESOLVED,
        None,
        outcome=a["outcome"],
        slashed=str(a["slashed"]),
        # the referee has no majority (its DisputeResolved carries zero there)
        **({"majorityLeaf": a["majorityLeaf"]} if court is Court.JURY else {}),
    )


def _payout_credited(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    add_amounts(conn, a["account"], payouts=amt(a["amount"]))
    record(conn, ev, court_of(ev), a["disputeId"], MoveKind.PAYOUT_CREDITED, a["account"],
           amount=str(a["amount"]))


def _payout_claimed(conn: sqlite3.Connection, ev: Ev) -> None:
    """A pull of credited payouts (either adjudicator): what the account has taken out."""
    add_amounts(conn, ev.args["account"], claimed=amt(ev.args["amount"]))


def _simple_move(
    kind: MoveKind, actor_key: str | None, *keys: str
) -> Callable[[sqlite3.Connection, Ev], None]:
    def apply(conn: sqlite3.Connection, ev: Ev) -> None:
        a = ev.args
        record(conn, ev, Court.JURY, a["disputeId"], kind, a[actor_key] if actor_key else None,
               **{k: a[k] for k in keys})

    return apply


HANDLERS: dict[str, Callable[[sqlite3.Connection, Ev], None]] = {
    **STAKE_HANDLERS,
    "TaskCreated": _task_created,
    "TaskCancelled": _task_cancelled,
    "TaskClaimed": _task_claimed,
    "SegmentCommitted": _segment_committed,
    "TaskReopened": _task_reopened,
    "SegmentDisputeCount": _segment_dispute_count,
    "RewardClaimed": _reward_claimed,
    "NodeSlashed": _node_slashed,
    "TaskAdjudicator": _task_adjudicator,
    "DisputeOpened": _dispute_opened,
    "EndStateDisputeOpened": _end_state_opened,
    "JuryDrawn": _jury_drawn,
    "RedrawScheduled": _simple_move(MoveKind.REDRAW_SCHEDULED, None, "drawAfter"),
    "VoteCommitted": _simple_move(MoveKind.VOTE_COMMITTED, "juror"),
    "VoteRevealed": _simple_move(MoveKind.VOTE_REVEALED, "juror", "leaf"),
    "JurorPenalised": _simple_move(MoveKind.JUROR_PENALISED, "juror", "amount"),
    "PayoutCredited": _payout_credited,
    "PayoutClaimed": _payout_claimed,
    "DisputeResolved": _dispute_resolved,
    **GAME_HANDLERS,
}


def apply(conn: sqlite3.Connection, ev: Ev) -> None:
    """Fold one event into the chain tables (events it does not show are kept only raw)."""
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
        apply(
            conn,
            Ev(
                row["block"],
                row["log_index"],
                row["tx"],
                row["contract"],
                row["name"],
                json.loads(row["args"]),
            ),
        )
        n += 1
    return n
