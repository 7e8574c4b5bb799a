"""The referee game's events folded into the dispute timeline (part of ``explorer.fold``).

Every move of OneStepAdjudicator (docs/referee.md "The game") is a timeline row of its own
:class:`MoveKind`, under the referee's numbering (:class:`Court`). What locates the fault is kept
on the dispute row too (``disputes.fault``, JSON): the op, chunk and element named, the scalar
step checked with its opcode and the node's bits against binary32's (binary64's for the clip
coefficient's steps), a state tensor that is not what the step makes of it, or the move whose
deadline passed. The outcome, the slash and the payouts come from the events both adjudicators
emit (``explorer.fold``).
"""

from __future__ import annotations

import json
import sqlite3
import struct
from collections.abc import Callable
from typing import Any

from explorer.moves import Court, MoveKind, record
from explorer.stakes import Ev
from ledger.referee import GamePhase
from prover.trace.kinds import Opcode

#: FinalStateMismatch's opIndex when the tensor is not an op's output (a kept tensor, a
#: constant, the scalar leaf).
NOT_AN_OP = 2**256 - 1
#: Opcodes whose operands and results are binary64 (StepChecked's bits are 64 wide).
F64_OPCODES = frozenset({32, 33, 34, 35, 36})
_REF = Court.REFEREE.value


def bits_hex(bits: int, opcode: int) -> str:
    """Bits as hex: 16 digits for a binary64 step, 8 for binary32."""
    return f"0x{bits:016x}" if opcode in F64_OPCODES else f"0x{bits:08x}"


def bits_value(bits: int, opcode: int) -> str:
    """The float those bits encode (repr: nan and inf stay readable in JSON)."""
    if opcode in F64_OPCODES:
        return repr(struct.unpack(">d", bits.to_bytes(8, "big"))[0])
    return repr(struct.unpack(">f", (bits & 0xFFFFFFFF).to_bytes(4, "big"))[0])


def opcode_name(opcode: int) -> str:
    try:
        return Opcode(opcode).name
    except ValueError:
        return f"opcode {opcode}"


def _parties(conn: sqlite3.Connection, did: int) -> tuple[str | None, str | None]:
    row = conn.execute(
        "SELECT node, challenger FROM disputes WHERE court = ? AND id = ?", (_REF, did)
    ).fetchone()
    return (row[0], row[1]) if row else (None, None)


def _fault(conn: sqlite3.Connection, did: int, **found: Any) -> None:
    """Merge what this move tells of the fault into the dispute's ``fault`` JSON."""
    row = conn.execute(
        "SELECT fault FROM disputes WHERE court = ? AND id = ?", (_REF, did)
    ).fetchone()
    if row is None:
        return
    fault = {**json.loads(row[0] or "{}"), **found}
    conn.execute(
        "UPDATE disputes SET fault = ? WHERE court = ? AND id = ?", (json.dumps(fault), _REF, did)
    )


def _in_chunks(conn: sqlite3.Connection, did: int) -> bool:
    """Whether the op bisection is over (op i's shape revealed): rounds are then chunk rounds."""
    return (
        conn.execute(
            "SELECT 1 FROM moves WHERE court = ? AND dispute_id = ? AND kind = ?",
            (_REF, did, MoveKind.SHAPE_REVEALED.value),
        ).fetchone()
        is not None
    )


def _graph_registered(conn: sqlite3.Connection, ev: Ev) -> None:
    conn.execute(
        "UPDATE tasks SET graph_root = ? WHERE id = ?",
        (ev.args["graph"]["graphRoot"], ev.args["taskId"]),
    )


def _trace_posted(conn: sqlite3.Connection, ev: Ev) -> None:
    a, did = ev.args, ev.args["disputeId"]
    node, _ = _parties(conn, did)
    record(conn, ev, Court.REFEREE, did, MoveKind.TRACE_POSTED, node,
           stateBefore=a["stateBefore"], stateAfter=a["stateAfter"], opRoot=a["opRoot"],
           stateTensors=len(a["afterLeaves"]) - 1)


def _split(conn: sqlite3.Connection, ev: Ev) -> None:
    did = ev.args["disputeId"]
    node, _ = _parties(conn, did)
    kind = MoveKind.CHUNK_SPLIT if _in_chunks(conn, did) else MoveKind.OP_SPLIT
    record(conn, ev, Court.REFEREE, did, kind, node, nodes=len(ev.args["nodes"]))


def _picked(conn: sqlite3.Connection, ev: Ev) -> None:
    a, did = ev.args, ev.args["disputeId"]
    _, challenger = _parties(conn, did)
    kind = MoveKind.CHUNK_PICKED if _in_chunks(conn, did) else MoveKind.OP_PICKED
    record(conn, ev, Court.REFEREE, did, kind, challenger, which=a["which"], index=a["index"],
           depthLeft=a["depthLeft"])


def _shape_revealed(conn: sqlite3.Connection, ev: Ev) -> None:
    a, did = ev.args, ev.args["disputeId"]
    node, _ = _parties(conn, did)
    record(conn, ev, Court.REFEREE, did, MoveKind.SHAPE_REVEALED, node, opIndex=a["opIndex"],
           root=a["root"], dims=a["dims"])
    _fault(conn, did, opIndex=a["opIndex"], dims=a["dims"])


def _chunk_revealed(conn: sqlite3.Connection, ev: Ev) -> None:
    a, did = ev.args, ev.args["disputeId"]
    node, _ = _parties(conn, did)
    size = (len(a["chunk"]) - 2) // 2
    record(conn, ev, Court.REFEREE, did, MoveKind.CHUNK_REVEALED, node,
           chunkIndex=a["chunkIndex"], bytes=size)
    _fault(conn, did, chunk=a["chunkIndex"])


def _element_named(conn: sqlite3.Connection, ev: Ev) -> None:
    a, did = ev.args, ev.args["disputeId"]
    _, challenger = _parties(conn, did)
    record(conn, ev, Court.REFEREE, did, MoveKind.ELEMENT_NAMED, challenger,
           opIndex=a["opIndex"], element=a["element"], bits=f"0x{a['bits']:08x}",
           programSteps=a["steps"])
    _fault(conn, did, opIndex=a["opIndex"], element=a["element"], elementBits=a["bits"],
           programSteps=a["steps"])


def _program_posted(conn: sqlite3.Connection, ev: Ev) -> None:
    did = ev.args["disputeId"]
    node, _ = _parties(conn, did)
    size = (len(ev.args["results"]) - 2) // 2
    record(conn, ev, Court.REFEREE, did, MoveKind.PROGRAM_POSTED, node, bytes=size)


def _step_checked(conn: sqlite3.Connection, ev: Ev) -> None:
    a, did = ev.args, ev.args["disputeId"]
    _, challenger = _parties(conn, did)
    op, computed, claimed = a["opcode"], a["computed"], a["claimed"]
    record(conn, ev, Court.REFEREE, did, MoveKind.STEP_CHECKED, challenger, s=a["s"],
           opcode=opcode_name(op), computed=bits_hex(computed, op), claimed=bits_hex(claimed, op),
           agrees=computed == claimed)
    _fault(conn, did, scalarStep=a["s"], opcode=op, opcodeName=opcode_name(op),
           computedHex=bits_hex(computed, op),
           claimedHex=bits_hex(claimed, op), computedValue=bits_value(computed, op),
           claimedValue=bits_value(claimed, op), binary64=op in F64_OPCODES)


def _state_mismatch(conn: sqlite3.Connection, ev: Ev) -> None:
    """pickFinal names op i (its output is not where the graph puts it); disputeKept and
    disputeState (told apart by the call the indexer decoded: ``call``, ``claim``) say a tensor
    the step keeps, a constant or the scalar leaf is wrong."""
    a, did = ev.args, ev.args["disputeId"]
    _, challenger = _parties(conn, did)
    if a["opIndex"] != NOT_AN_OP:
        kind, what = MoveKind.FINAL_MISMATCH, f"not op {a['opIndex']}'s output"
    elif a.get("call") == "disputeKept":
        kind, what = MoveKind.KEPT_MISMATCH, "not the tensor the step keeps"
    elif a.get("claim") == 1:
        kind, what = MoveKind.STATE_MISMATCH, "not the scalar leaf advanced by one step"
    elif a.get("claim") == 0:
        kind, what = MoveKind.STATE_MISMATCH, "not the constant the step sets"
    else:
        kind, what = MoveKind.STATE_MISMATCH, "not what the step makes of it"
    op = None if a["opIndex"] == NOT_AN_OP else a["opIndex"]
    record(conn, ev, Court.REFEREE, did, kind, challenger, slot=a["slot"], opIndex=op,
           stateLeaf=a["stateLeaf"])
    _fault(conn, did, stateSlot=a["slot"], stateOp=op, stateLeaf=a["stateLeaf"], stateWhat=what)


def _timed_out(conn: sqlite3.Connection, ev: Ev) -> None:
    a, did = ev.args, ev.args["disputeId"]
    phase = GamePhase(a["phase"]).name.lower()
    record(conn, ev, Court.REFEREE, did, MoveKind.TIMED_OUT, None, phase=phase,
           nodeLost=a["nodeLost"])
    _fault(conn, did, timedOut=phase, nodeLost=a["nodeLost"])


GAME_HANDLERS: dict[str, Callable[[sqlite3.Connection, Ev], None]] = {
    "StepGraphRegistered": _graph_registered,
    "TracePosted": _trace_posted,
    "Split": _split,
    "Picked": _picked,
    "ShapeRevealed": _shape_revealed,
    "ChunkRevealed": _chunk_revealed,
    "ElementNamed": _element_named,
    "ProgramPosted": _program_posted,
    "StepChecked": _step_checked,
    "FinalStateMismatch": _state_mismatch,
    "MoveTimedOut": _timed_out,
}
