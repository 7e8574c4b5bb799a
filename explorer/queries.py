"""Read side of the index: the models of ``explorer.models`` from SQLite (no chain access).

Finality is computed as the contract computes it, at the last indexed block: segment k of the
current trace is final when its challenge window has passed and no segment j <= k has an open
dispute.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer import db
from explorer.disputes import dispute, dispute_summary, disputes
from explorer.errors import AmbiguousDisputeError, NotFoundError
from explorer.models import (
    ChainInfo,
    Commit,
    Counts,
    Court,
    DisputeSummary,
    EventRow,
    FinalCheckpoint,
    LossCurve,
    NodeDetail,
    NodeInfo,
    Overview,
    SegmentInfo,
    SegmentState,
    TaskDetail,
    TaskPage,
    TaskSummary,
)
from ledger.protocol import TaskStatus, format_amount

__all__ = [
    "AmbiguousDisputeError",
    "NotFoundError",
    "dispute",
    "disputes",
    "node",
    "nodes",
    "overview",
    "task",
    "tasks",
]

PAGE_SIZE = 50


@dataclass(frozen=True)
class Access:
    """How a reader reaches this chain (shown in the pull command; never a key)."""

    rpc_url: str
    ipfs_api: str
    addresses_file: Path | None


def _head(conn: sqlite3.Connection) -> int | None:
    v = db.get_meta(conn, "indexed_block")
    return None if v is None else int(v)


def _commit(r: sqlite3.Row) -> Commit:
    return Commit(
        epoch=r["epoch"],
        node=r["node"],
        traceRoot=r["trace_root"],
        endStateHash=r["end_state_hash"],
        checkpointCid=r["checkpoint_cid"],
        leavesCid=r["leaves_cid"],
        block=r["block"],
        tx=r["tx"],
    )


def _states(
    task: sqlite3.Row, current: dict[int, sqlite3.Row], had: set[int], head: int | None
) -> list[SegmentState]:
    """Each slot's state (see SegmentState), with the contract's finality rule."""
    out: list[SegmentState] = []
    disputed_before = False
    n = task["total_steps"] // task["segment_steps"]
    for k in range(n):
        seg = current.get(k)
        if seg is None:
            out.append(SegmentState.REOPENED if k in had else SegmentState.PENDING)
            continue
        disputed_before = disputed_before or seg["open_disputes"] > 0
        closed = head is not None and head > seg["block"] + task["challenge_window"]
        if disputed_before:
            out.append(SegmentState.DISPUTED)
        elif closed:
            out.append(SegmentState.FINAL)
        else:
            out.append(SegmentState.COMMITTED)
    return out


def _summary(task: sqlite3.Row, states: list[SegmentState]) -> TaskSummary:
    return TaskSummary(
        id=task["id"],
        status=TaskStatus(task["status"]).name.lower(),
        court=Court(task["court"]),
        requester=task["requester"],
        node=task["node"],
        reward=task["reward"],
        rewardVeri=format_amount(int(task["reward"])),
        segments=len(states),
        committed=sum(
            s in (SegmentState.COMMITTED, SegmentState.DISPUTED, SegmentState.FINAL) for s in states
        ),
        final=sum(s is SegmentState.FINAL for s in states),
        openDisputes=task["open_disputes"],
        totalSteps=task["total_steps"],
        segmentSteps=task["segment_steps"],
        epoch=task["epoch"],
        createdBlock=task["created_block"],
    )


def _segment_rows(
    conn: sqlite3.Connection, task_ids: list[int], columns: str = "*"
) -> tuple[dict[int, dict[int, sqlite3.Row]], dict[int, set[int]]]:
    current: dict[int, dict[int, sqlite3.Row]] = {t: {} for t in task_ids}
    had: dict[int, set[int]] = {t: set() for t in task_ids}
    if not task_ids:
        return current, had
    marks = ",".join("?" * len(task_ids))
    for r in conn.execute(f"SELECT {columns} FROM segments WHERE task_id IN ({marks})", task_ids):
        had[r["task_id"]].add(r["k"])
        if r["current"]:
            current[r["task_id"]][r["k"]] = r
    return current, had


def overview(conn: sqlite3.Connection, limit: int = 20) -> Overview:
    head = _head(conn)
    by_status = {s.name.lower(): 0 for s in TaskStatus if s is not TaskStatus.NONE}
    for r in conn.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status"):
        by_status[TaskStatus(r[0]).name.lower()] = r[1]
    finals = 0
    if head is not None:
        finals = conn.execute(
            "SELECT COUNT(*) FROM segments s JOIN tasks t ON t.id = s.task_id WHERE s.current = 1 "
            "AND ? > s.block + t.challenge_window AND t.open_disputes = 0",
            (head,),
        ).fetchone()[0]
    counts = Counts(
        tasks=sum(by_status.values()),
        tasksByStatus=by_status,
        segments=conn.execute("SELECT COUNT(*) FROM segments WHERE current = 1").fetchone()[0],
        finalSegments=finals,
        disputes=conn.execute("SELECT COUNT(*) FROM disputes").fetchone()[0],
        openDisputes=conn.execute("SELECT COUNT(*) FROM disputes WHERE outcome = 0").fetchone()[0],
        nodes=conn.execute("SELECT COUNT(*) FROM accounts WHERE tasks > 0").fetchone()[0],
        events=conn.execute("SELECT COUNT(*) FROM events").fetchone()[0],
    )
    return Overview(chain=chain_info(conn), counts=counts, latestEvents=latest_events(conn, limit))


def chain_info(conn: sqlite3.Connection) -> ChainInfo:
    synced = db.get_meta(conn, "synced_at")
    return ChainInfo(
        chainId=int(db.get_meta(conn, "chain_id") or 0),
        addresses=json.loads(db.get_meta(conn, "addresses") or "{}"),
        indexedBlock=_head(conn),
        syncedAt=float(synced) if synced else None,
    )


def latest_events(conn: sqlite3.Connection, limit: int = 20) -> list[EventRow]:
    rows = conn.execute(
        "SELECT * FROM events ORDER BY block DESC, log_index DESC LIMIT ?", (limit,)
    )
    return [
        EventRow(
            block=r["block"],
            logIndex=r["log_index"],
            tx=r["tx"],
            contract=r["contract"],
            name=r["name"],
            args=json.loads(r["args"]),
        )
        for r in rows
    ]


def tasks(conn: sqlite3.Connection, page: int = 1, status: TaskStatus | None = None) -> TaskPage:
    where, args = ("WHERE status = ?", [int(status)]) if status is not None else ("", [])
    total = conn.execute(f"SELECT COUNT(*) FROM tasks {where}", args).fetchone()[0]
    pages = max(1, -(-total // PAGE_SIZE))
    if page > pages:
        raise NotFoundError(f"page {page} is past the last page ({pages})", what="page", key=page)
    rows = conn.execute(
        f"SELECT * FROM tasks {where} ORDER BY id DESC LIMIT ? OFFSET ?",
        [*args, PAGE_SIZE, (page - 1) * PAGE_SIZE],
    ).fetchall()
    return TaskPage(
        page=page,
        pages=pages,
        total=total,
        status=status.name.lower() if status is not None else None,
        tasks=_summaries(conn, rows),
    )


def _summaries(conn: sqlite3.Connection, rows: list[sqlite3.Row]) -> list[TaskSummary]:
    head = _head(conn)
    # lists need only what decides each slot's state
    current, had = _segment_rows(
        conn, [r["id"] for r in rows], "task_id, k, current, block, open_disputes"
    )
    return [_summary(r, _states(r, current[r["id"]], had[r["id"]], head)) for r in rows]


def _pull_command(access: Access, task_id: int, k: int) -> str:
    parts = [
        "veritrain",
        "pull",
        "--task",
        str(task_id),
        "--segment",
        str(k),
        "--out",
        f"./task{task_id}-segment{k}",
        "--rpc",
        access.rpc_url,
        "--ipfs",
        access.ipfs_api,
    ]
    if access.addresses_file is not None:
        parts += ["--addresses", str(access.addresses_file)]
    return shlex.join(parts)


def task(conn: sqlite3.Connection, task_id: int, access: Access) -> TaskDetail:
    t = conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
    if t is None:
        raise NotFoundError(f"task {task_id} is not in the index", what="task", key=task_id)
    head = _head(conn)
    current, had = _segment_rows(conn, [task_id])
    states = _states(t, current[task_id], had[task_id], head)
    all_rows = conn.execute(
        "SELECT * FROM segments WHERE task_id = ? ORDER BY k, epoch", (task_id,)
    ).fetchall()
    leaves_state = {
        r["cid"]: r["state"]
        for r in conn.execute(
            "SELECT l.cid, l.state FROM leaves l JOIN segments s ON s.leaves_cid = l.cid "
            "WHERE s.task_id = ?",
            (task_id,),
        )
    }
    disputes = [
        dispute_summary(r)
        for r in conn.execute(
            "SELECT * FROM disputes WHERE task_id = ? ORDER BY court, id", (task_id,)
        )
    ]
    S = t["segment_steps"]
    segs = []
    for k, state in enumerate(states):
        cur = current[task_id].get(k)
        segs.append(
            SegmentInfo(
                k=k,
                firstStep=k * S + 1,
                lastStep=(k + 1) * S,
                state=state,
                current=_commit(cur) if cur is not None else None,
                openDisputes=cur["open_disputes"] if cur is not None else 0,
                finalAfterBlock=cur["block"] + t["challenge_window"] if cur is not None else None,
                disputes=[d.id for d in disputes if d.k == k],
                replaced=[_commit(r) for r in all_rows if r["k"] == k and not r["current"]],
                leavesState=leaves_state.get(cur["leaves_cid"]) if cur is not None else None,
            )
        )
    spec = conn.execute("SELECT * FROM specs WHERE cid = ?", (t["spec_cid"],)).fetchone()
    finals = [s for s in segs if s.state is SegmentState.FINAL and s.current is not None]
    checkpoints = [
        FinalCheckpoint(
            k=s.k,
            step=s.lastStep,
            checkpointCid=s.current.checkpointCid,
            pullCommand=_pull_command(access, task_id, s.k),
        )
        for s in reversed(finals)
        if s.current is not None
    ]
    return TaskDetail(
        **_summary(t, states).model_dump(),
        graphRoot=t["graph_root"],
        specCid=t["spec_cid"],
        specHash=t["spec_hash"],
        spec=json.loads(spec["summary"]) if spec is not None and spec["summary"] else None,
        specState=spec["state"] if spec is not None else None,
        challengeWindow=t["challenge_window"],
        segmentDeadline=t["segment_deadline"],
        nodeStake=t["node_stake"],
        dueBlock=t["due_block"],
        paid=t["paid"],
        createdTx=t["created_tx"],
        indexedBlock=head,
        segmentList=segs,
        disputeList=disputes,
        finalCheckpoints=checkpoints,
        lossCurve=_curve(conn, task_id, len(states), S, disputes),
    )


def _curve(
    conn: sqlite3.Connection, task_id: int, n: int, S: int, disputes: list[DisputeSummary]
) -> LossCurve:
    cur: list[tuple[int, float | None]] = []
    old: list[tuple[int, float | None]] = []
    for r in conn.execute(
        "SELECT s.current, l.step, l.loss FROM segments s JOIN losses l "
        "ON l.cid = s.leaves_cid WHERE s.task_id = ? ORDER BY l.step",
        (task_id,),
    ):
        (cur if r[0] else old).append((r[1], r[2]))
    return LossCurve(
        steps=[s for s, _ in cur],
        losses=[v for _, v in cur],
        replacedSteps=[s for s, _ in old],
        replacedLosses=[v for _, v in old],
        boundaries=[(k + 1) * S for k in range(n)],
        disputeSteps=sorted({d.step for d in disputes}),
    )


def _node(r: sqlite3.Row, head: int | None) -> NodeInfo:
    return NodeInfo(
        address=r["address"],
        staked=r["staked"],
        locked=r["locked"],
        pending=r["pending"],
        jailedUntil=r["jailed_until"],
        jailedNow=head is not None and head < r["jailed_until"],
        juror=bool(r["juror"]),
        tasks=r["tasks"],
        slashed=r["slashed"],
        rewards=r["rewards"],
        payouts=r["payouts"],
        claimed=r["claimed"],
        owed=str(int(r["payouts"]) - int(r["claimed"])),
        stakedVeri=format_amount(int(r["staked"])),
        lockedVeri=format_amount(int(r["locked"])),
        slashedVeri=format_amount(int(r["slashed"])),
        rewardsVeri=format_amount(int(r["rewards"])),
    )


def nodes(conn: sqlite3.Connection) -> list[NodeInfo]:
    """Every account with stake history (nodes and jurors), the busiest first."""
    head = _head(conn)
    rows = conn.execute("SELECT * FROM accounts ORDER BY tasks DESC, address").fetchall()
    return [_node(r, head) for r in rows]


def node(conn: sqlite3.Connection, address: str) -> NodeDetail:
    r = conn.execute(
        "SELECT * FROM accounts WHERE lower(address) = lower(?)", (address,)
    ).fetchone()
    if r is None:
        raise NotFoundError(
            f"account {address} has no stake history in the index", what="node", key=address
        )
    claimed = conn.execute(
        "SELECT * FROM tasks WHERE id IN (SELECT task_id FROM claims WHERE node = ?) "
        "ORDER BY id DESC LIMIT 200",
        (r["address"],),
    ).fetchall()
    disputes = [
        dispute_summary(d)
        for d in conn.execute(
            "SELECT * FROM disputes WHERE lower(node) = lower(?) OR lower(challenger) = lower(?) "
            "ORDER BY opened_block DESC, court, id DESC",
            (address, address),
        )
    ]
    return NodeDetail(
        **_node(r, _head(conn)).model_dump(),
        taskList=_summaries(conn, claimed),
        disputeList=disputes,
    )


def as_json(model: Any) -> str:
    return str(model.model_dump_json())
