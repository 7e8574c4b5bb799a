"""The dispute timeline's rows and the two courts that number disputes (part of
``explorer.fold``): a dispute is keyed by its court and its id, since the jury's and the
referee's ids both count from 1."""

from __future__ import annotations

import json
import sqlite3
from enum import StrEnum
from typing import Any

from explorer.models import Court
from explorer.stakes import Ev

__all__ = ["REFEREE_CONTRACT", "Court", "MoveKind", "court_of", "record"]

#: The contract name (``explorer.indexer.CONTRACTS``) of the referee's events.
REFEREE_CONTRACT = "OneStepAdjudicator"


class MoveKind(StrEnum):
    """What happened in a dispute (the timeline's rows): the jury's moves, then the referee
    game's (docs/referee.md "The game")."""

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
    #: the node's state hashes before and after the step and its opRoot
    TRACE_POSTED = "trace-posted"
    #: a bisection round over the op tree: the node splits, the challenger picks
    OP_SPLIT = "op-split"
    OP_PICKED = "op-picked"
    #: op i's output chunk root and shape, then the rounds over its chunk tree
    SHAPE_REVEALED = "shape-revealed"
    CHUNK_SPLIT = "chunk-split"
    CHUNK_PICKED = "chunk-picked"
    CHUNK_REVEALED = "chunk-revealed"
    #: the challenger names the element; the node posts its program's results
    ELEMENT_NAMED = "element-named"
    PROGRAM_POSTED = "program-posted"
    #: the contract recomputed one scalar step (opcode, binary32's bits vs the node's)
    STEP_CHECKED = "step-checked"
    #: the state after the step is not what the step makes of it (pickFinal: not op i's
    #: output; disputeKept: a kept tensor changed; disputeState: a constant or the scalar leaf)
    FINAL_MISMATCH = "final-mismatch"
    KEPT_MISMATCH = "kept-mismatch"
    STATE_MISMATCH = "state-mismatch"
    #: the party to move missed its deadline (resolve)
    TIMED_OUT = "timed-out"


def court_of(ev: Ev) -> Court:
    """The court whose numbering an adjudicator event's disputeId follows."""
    return Court.REFEREE if ev.contract == REFEREE_CONTRACT else Court.JURY


def record(
    conn: sqlite3.Connection,
    ev: Ev,
    court: Court,
    dispute_id: int,
    kind: MoveKind,
    actor: str | None,
    **detail: Any,
) -> None:
    """One timeline row (JSON detail; uint256 beyond 2^53 as decimal strings)."""
    clean = {k: str(v) if isinstance(v, int) and v > 2**53 else v for k, v in detail.items()}
    conn.execute(
        "INSERT OR REPLACE INTO moves VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (court.value, dispute_id, ev.block, ev.log_index, kind.value, actor, json.dumps(clean),
         ev.tx),
    )
