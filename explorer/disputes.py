"""Read side of the disputes of both courts (part of ``explorer.queries``): the jury's and the
referee's, keyed by (court, id) since both number theirs from 1, with one line of where the fault
was found and, for a referee game, the fault's location (:class:`RefereeFault`)."""

from __future__ import annotations

import json
import sqlite3

from explorer.errors import AmbiguousDisputeError, NotFoundError
from explorer.models import Court, DisputeDetail, DisputeSummary, Move, RefereeFault
from ledger.protocol import Outcome


def _jury_finding(r: sqlite3.Row, outcome: Outcome) -> str:
    if outcome is Outcome.NODE_WRONG:
        return (
            f"the node's end state of segment {r['k']} (step {r['step']})"
            if r["kind"] == "end-state"
            else f"step {r['step']} (segment {r['k']}): the node's leaf was wrong"
        )
    if outcome is Outcome.NODE_RIGHT:
        return "none: the jury upheld the node's leaf"
    if outcome is Outcome.VOID:
        return "void: no quorum or no majority (the segment reopens, the bond goes back)"
    return f"pending: the jury is judging step {r['step']}"


def _referee_finding(r: sqlite3.Row, outcome: Outcome, f: RefereeFault | None) -> str:
    """One line of where the referee game found the fault (RefereeFault has the fields)."""
    f = f or RefereeFault()
    at = f"step {r['step']}"
    if r["kind"] == "end-state":
        at = f"the end state of segment {r['k']} ({at})"
    if f.opIndex is not None:
        at += f", op {f.opIndex}"
    if f.element is not None:
        at += f", element {f.element}"
    if outcome is Outcome.NONE:
        return f"pending: the referee game is at {at}"
    if f.timedOut is not None:
        who = "the node" if f.nodeLost else "the challenger"
        verdict = "the node loses" if f.nodeLost else "none: the node keeps its leaf"
        return f"{verdict} ({who} missed its {f.timedOut} move at {at})"
    if f.scalarStep is not None and f.claimedHex is not None:
        fmt = "binary64" if f.binary64 else "binary32"
        where = f"{at}, scalar step {f.scalarStep} ({f.opcodeName})"
        if outcome is Outcome.NODE_WRONG:
            return (
                f"{where}: the node's bits {f.claimedHex} ({f.claimedValue}) vs {fmt}'s "
                f"{f.computedHex} ({f.computedValue})"
            )
        return f"none: {where} agrees with {fmt} ({f.computedHex}); the challenger loses its bond"
    if f.stateSlot is not None and outcome is Outcome.NODE_WRONG:
        return f"{at}: state tensor {f.stateSlot} after the step is {f.stateWhat}"
    if outcome is Outcome.NODE_WRONG:
        return f"{at}: the node lost the referee game"
    return "none: the referee game upheld the node's leaf"


def dispute_summary(r: sqlite3.Row) -> DisputeSummary:
    outcome = Outcome(r["outcome"])
    court = Court(r["court"])
    fault = RefereeFault(**json.loads(r["fault"])) if r["fault"] else None
    found = (
        _referee_finding(r, outcome, fault)
        if court is Court.REFEREE
        else _jury_finding(r, outcome)
    )
    return DisputeSummary(
        court=court,
        id=r["id"],
        taskId=r["task_id"],
        k=r["k"],
        step=r["step"],
        kind=r["kind"],
        challenger=r["challenger"],
        node=r["node"],
        bond=r["bond"],
        round=r["round"],
        outcome=outcome.name.lower(),
        open=outcome is Outcome.NONE,
        openedBlock=r["opened_block"],
        resolvedBlock=r["resolved_block"],
        slashed=r["slashed"],
        faultFound=found,
        fault=fault,
        url=f"/disputes/{court.value}/{r['id']}",
    )


def disputes(conn: sqlite3.Connection, court: Court | None = None) -> list[DisputeSummary]:
    """Every dispute of both courts (or of ``court``), the latest opened first."""
    where, args = ("WHERE court = ?", (court.value,)) if court is not None else ("", ())
    return [
        dispute_summary(r)
        for r in conn.execute(
            f"SELECT * FROM disputes {where} ORDER BY opened_block DESC, court, id DESC", args
        )
    ]


def _dispute_row(conn: sqlite3.Connection, dispute_id: int, court: Court | None) -> sqlite3.Row:
    if court is not None:
        rows = conn.execute(
            "SELECT * FROM disputes WHERE court = ? AND id = ?", (court.value, dispute_id)
        ).fetchall()
    else:
        rows = conn.execute("SELECT * FROM disputes WHERE id = ?", (dispute_id,)).fetchall()
    at = f"the {court.value}'s " if court is not None else ""
    if not rows:
        raise NotFoundError(
            f"{at}dispute {dispute_id} is not in the index", what="dispute", key=dispute_id
        )
    if len(rows) > 1:
        raise AmbiguousDisputeError(
            f"both the jury and the referee have a dispute {dispute_id}: open "
            f"/disputes/jury/{dispute_id} or /disputes/referee/{dispute_id}",
            dispute_id=dispute_id,
            hint=f"open /disputes/jury/{dispute_id} or /disputes/referee/{dispute_id}",
        )
    return rows[0]


def dispute(conn: sqlite3.Connection, dispute_id: int, court: Court | None = None) -> DisputeDetail:
    """A dispute and its timeline; without ``court``, the one dispute of that id (an id both
    courts have is refused with AmbiguousDisputeError)."""
    r = _dispute_row(conn, dispute_id, court)
    moves = [
        Move(
            block=m["block"],
            logIndex=m["log_index"],
            kind=m["kind"],
            actor=m["actor"],
            detail=json.loads(m["detail"]),
            tx=m["tx"],
        )
        for m in conn.execute(
            "SELECT * FROM moves WHERE court = ? AND dispute_id = ? ORDER BY block, log_index",
            (r["court"], r["id"]),
        )
    ]
    payouts: dict[str, int] = {}
    for m in moves:
        if m.kind == "payout-credited" and m.actor is not None:
            payouts[m.actor] = payouts.get(m.actor, 0) + int(m.detail["amount"])
    graph = conn.execute("SELECT graph_root FROM tasks WHERE id = ?", (r["task_id"],)).fetchone()
    return DisputeDetail(
        **dispute_summary(r).model_dump(),
        nodeLeaf=r["node_leaf"],
        majorityLeaf=r["majority_leaf"],
        epoch=r["epoch"],
        graphRoot=graph[0] if graph is not None else None,
        payouts={a: str(v) for a, v in payouts.items()},
        moves=moves,
    )
