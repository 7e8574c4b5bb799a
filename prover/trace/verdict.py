"""The verdict of a settled referee game in words (docs/referee.md "What the demo shows"): pure
computation over what ``ledger.verdict.read_game_end`` read from the chain, no chain code.

For a game decided by ``checkStep`` the report names the op (its kind, its label and the state
tensors it reads when the task's step graph is given, and its shapes), the element, the scalar
step of the element's program and its opcode, every operand (an earlier result of the program
as the node posted it, an input element as the challenger opened it, or a literal) as bits and
value, the node's result and the one binary32 gives, and how many ulps apart they are. Games
decided otherwise (the final state, a kept tensor, a deadline, a padding leaf, the op's shape)
say so.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from prover.trace import commit
from prover.trace.commit import TraceError
from prover.trace.evaluate import Tensors, Value, apply, from_bits
from prover.trace.game import posted_results, value_bits
from prover.trace.graph import KIND_ATTRS, Level, Op, Ref, Slot, StepGraph
from prover.trace.kinds import MapLevel, Opcode, OpKind, RefKind
from prover.trace.programs import IN, PREV, program
from prover.trace.verdict_types import CheckedLike, GameEndLike, StepOpLike

E18 = 10**18
#: The decisions of ``ledger.verdict.Decision``, in words (by member name).
DECIDED_BY = {
    "STEP": "checkStep: one scalar operation recomputed with Float32",
    "FINAL_STATE": "pickFinal: the state after the step does not hold the output of the op "
                   "the graph makes it",
    "KEPT_TENSOR": "disputeKept: a tensor the step keeps changed between the states before "
                   "and after",
    "TIMEOUT": "resolve: the party to move missed its deadline",
    "PADDING": "pick: the node's tree holds something other than zero at a padding leaf",
    "ELEMENT": "nameElement: the node's op output is not the graph's shape (or a padding "
               "element is not zero)",
}
_SLOT_NAMES = {OpKind.GEMM: ("A", "B", "bias")}


# ---- the op from its on-chain encoding -----------------------------------------------------
def op_of(x: StepOpLike) -> Op:
    """The graph op a ``StepOp`` encodes (the inverse of ``Op.attrs``: the kind's attrs, then
    per input slot its logical rank and dims, nLevels and the levels)."""
    kind = OpKind(int(x.kind))
    attrs = list(x.attrs)
    n = KIND_ATTRS.get(kind, 0)
    kattrs, at = tuple(attrs[:n]), n
    slots = []
    try:
        for rk, ri in zip(x.refKinds, x.refIndices, strict=True):
            rank = attrs[at]
            shape = tuple(attrs[at + 1:at + 1 + rank])
            at += 1 + rank
            levels = []
            for _ in range(attrs[at]):
                if attrs[at + 1] == MapLevel.GATHER:
                    levels.append(Level(MapLevel.GATHER, ids_slot=attrs[at + 2],
                                        row_len=attrs[at + 3]))
                    at += 3
                    continue
                r = attrs[at + 3]
                levels.append(Level(MapLevel.STRIDED, attrs[at + 2],
                                    tuple(attrs[at + 4:at + 4 + r]),
                                    tuple(attrs[at + 4 + r:at + 4 + 2 * r])))
                at += 3 + 2 * r
            at += 1
            slots.append(Slot(Ref(RefKind(int(rk)), int(ri)), shape, tuple(levels)))
    except (IndexError, ValueError) as exc:
        raise TraceError(f"op {x.index}'s attrs do not parse as its {kind.name} slots") from exc
    if at != len(attrs):
        raise TraceError(f"op {x.index}'s attrs have {len(attrs) - at} values left over")
    return Op(int(x.index), kind, tuple(int(d) for d in x.dims), tuple(slots), kattrs)


# ---- numbers --------------------------------------------------------------------------------
def ulp_distance(a: int, b: int) -> int | None:
    """How many binary32 values lie between bit patterns a and b, plus one (0: the same value
    bits; None when either is a NaN). -0 and +0 are one apart, as the bits differ."""
    if _is_nan(a) or _is_nan(b):
        return None
    return abs(_ordered(a) - _ordered(b))


def _is_nan(b: int) -> bool:
    return (b & 0x7F800000) == 0x7F800000 and (b & 0x007FFFFF) != 0


def _ordered(b: int) -> int:
    """Bit patterns on one integer line in the order of their values (-0 just below +0)."""
    return b & 0x7FFFFFFF if not b & 0x80000000 else -(b & 0x7FFFFFFF) - 1


def show_bits(b: int) -> str:
    return f"0x{b:08x} ({float(from_bits(b)):.9g})"


def _index(pos: int, dims: Sequence[int]) -> str:
    """Row-major position as ``[i, j, ...]`` over ``dims``."""
    out = []
    for d in reversed(dims):
        pos, i = divmod(pos, d) if d else (pos, 0)
        out.append(i)
    return "[" + ", ".join(str(i) for i in reversed(out)) + "]"


def _tokens(wei: int) -> str:
    s = f"{Decimal(wei) / E18:f}"
    return (s.rstrip("0").rstrip(".") if "." in s else s) + " VERI"


# ---- the report -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Operand:
    """One operand of the checked step: where its bits come from and the bits."""

    #: "result" (an earlier step of the program, as the node posted it), "input" (an element
    #: the challenger opened, proven against the game's roots) or "literal".
    kind: str
    source: str
    bits: int

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source, "bits": f"0x{self.bits:08x}",
                "value": float(from_bits(self.bits))}


@dataclass(frozen=True)
class StepVerdict:
    """The scalar step a checkStep decided on."""

    op: Op
    name: str
    element: int
    element_index: str
    s: int
    steps: int
    opcode: Opcode
    operands: tuple[Operand, ...]
    claimed: int
    computed: int
    #: What this module's binary32 model gives for the operands (it must equal ``computed``).
    reference: int

    @property
    def ulps(self) -> int | None:
        return ulp_distance(self.claimed, self.computed)


def name_op(op: Op, graph: StepGraph | None) -> str:
    """``op 41 GEMM <label> reading <state tensors> (MxK @ KxN + bias)``."""
    words = [f"op {op.index}", op.kind.name]
    if graph is not None:
        if graph.ops[op.index].label:
            words.append(graph.ops[op.index].label)
        reads = [graph.state_names[s.ref.index] for s in op.slots
                 if s.ref.kind is RefKind.STATE]
        if reads:
            words.append("reading " + ", ".join(reads))
    if op.kind is OpKind.GEMM:
        nb, m, n, k, _, bias = op.kattrs
        shapes = f"{m}x{k} @ {k}x{n}" + (" + bias" if bias else "")
        words.append(f"({nb} x {shapes})" if nb > 1 else f"({shapes})")
    else:
        words.append(f"(output {'x'.join(str(d) for d in op.shape) or 'scalar'})")
    return " ".join(words)


def _slot_name(op: Op, slot: int) -> str:
    names = _SLOT_NAMES.get(op.kind, ())
    return names[slot] if slot < len(names) else f"X{slot}"


def _source(ref: Ref, at: int, dims: Sequence[int], graph: StepGraph | None) -> str:
    names = None if graph is None else {RefKind.STATE: graph.state_names,
                                        RefKind.TEACHER: graph.teacher_names,
                                        RefKind.SCALAR: graph.scalar_names}.get(ref.kind)
    label = str(ref) + (f" {names[ref.index]}" if names else "")
    if ref.kind is RefKind.OP and graph is not None:
        src = graph.ops[ref.index]
        label += " " + " ".join(w for w in (src.kind.name, src.label) if w)
    if ref.kind is RefKind.SCALAR:
        return label
    return f"{label}{_index(at, dims)}"


def step_verdict(c: CheckedLike, element: int, graph: StepGraph | None) -> StepVerdict:
    """The checked step's op, operands and results from the checkStep calldata."""
    op = op_of(c.op)
    locate = Tensors([], [], [], [], [])  # index maps only (GATHER levels need the ids: none)
    steps = program(op, element)
    code, operands = steps[c.s]
    posted = posted_results(steps, bytes(c.results))
    openings = iter(c.openings)
    out: list[Operand] = []
    values: list[Value] = []
    for o in operands:
        if o[0] == PREV:
            out.append(Operand("result", f"s{o[1]}", value_bits(posted[o[1]])))
        elif o[0] == IN and op.slots[o[1]].ref.kind is not RefKind.CONST:
            ref, at = locate.locate(op, o[1], o[2])
            opening = next(openings)
            lane = ref.index if ref.kind is RefKind.SCALAR else at % commit.CHUNK_ELEMS
            (b_,) = struct.unpack_from("<I", bytes(opening.chunk), 4 * lane)
            slot = op.slots[o[1]]
            out.append(Operand("input", f"{_slot_name(op, o[1])}{_index(o[2], slot.shape)} = "
                               f"{_source(ref, at, opening.dims, graph)}", b_))
        else:
            bits_ = op.slots[o[1]].ref.index if o[0] == IN else o[1]
            out.append(Operand("literal", "Const", bits_ & 0xFFFFFFFF))
        values.append(from_bits(out[-1].bits))
    reference = value_bits(apply(code, values))
    return StepVerdict(op, name_op(op, graph), element, _index(element, op.shape), c.s,
                       len(steps), Opcode(int(c.opcode)), tuple(out), int(c.claimed),
                       int(c.computed), reference)


def _check_graph(end: GameEndLike, graph: StepGraph | None, op: Op | None) -> None:
    if graph is None:
        return
    if graph.root() != bytes(end.graph_root):
        raise TraceError(f"the step graph given hashes to 0x{graph.root().hex()}, not to task "
                         f"{end.task_id}'s graphRoot 0x{bytes(end.graph_root).hex()}",
                         hint="give the graph of the task's spec (`veritrain spec graph SPEC "
                              "--out FILE`) or the trace of the disputed step")
    if op is not None and graph.ops[op.index].leaf() != op.leaf():
        raise TraceError(f"op {op.index} of the graph given is not the op the game checked")


def report(end: GameEndLike, graph: StepGraph | None = None) -> dict[str, Any]:
    """The verdict as JSON-ready data (``text`` renders it)."""
    step = (step_verdict(end.checked, int(end.element), graph)
            if end.checked is not None and end.element is not None else None)
    _check_graph(end, graph, step.op if step is not None else None)
    outcome = getattr(end.outcome, "name", str(end.outcome))
    doc: dict[str, Any] = {
        "dispute": end.dispute_id, "task": end.task_id, "segment": end.segment,
        "step": end.step, "outcome": outcome, "winner": end.winner, "node": end.node,
        "challenger": end.challenger, "slashed": str(end.slashed),
        "slashToChallenger": str(end.slash_to_adjudicator),
        "decidedBy": getattr(end.decision, "name", str(end.decision)),
        "block": end.block, "tx": end.tx_hash,
    }
    if end.op_index is not None:
        doc["op"] = {"index": end.op_index, "dims": list(end.op_dims or ())}
    if end.element is not None:
        doc["element"] = {"index": end.element, "programSteps": end.program_length,
                          "nodeBits": f"0x{int(end.element_bits or 0):08x}"}
    if step is not None:
        doc["op"] |= {"kind": step.op.kind.name, "name": step.name}
        doc["element"]["at"] = step.element_index
        doc["check"] = {"s": step.s, "opcode": step.opcode.name,
                        "operands": [o.to_json() for o in step.operands],
                        "claimed": f"0x{step.claimed:08x}", "computed": f"0x{step.computed:08x}",
                        "claimedValue": float(from_bits(step.claimed)),
                        "computedValue": float(from_bits(step.computed)),
                        "ulps": step.ulps, "reference": f"0x{step.reference:08x}"}
    if end.final is not None:
        f = end.final
        doc["final"] = {"slot": f.slot, "op": f.op_index, "stateLeaf": "0x" + f.state_leaf.hex()}
        if graph is not None:
            doc["final"]["tensor"] = graph.state_names[f.slot]
    if end.timed_out is not None:
        doc["timeout"] = {"phase": getattr(end.timed_out, "name", str(end.timed_out)),
                          "nodeLost": end.node_lost}
    return doc


def text(doc: dict[str, Any]) -> str:
    """The report a person reads."""
    won = "the challenger" if doc["outcome"] == "NODE_WRONG" else "the node"
    lines = [f"game {doc['dispute']}: task {doc['task']} segment {doc['segment']}, step "
             f"{doc['step']}: {doc['outcome'].replace('_', ' ')}, {won} {doc['winner']} won"
             + (f"; the node was slashed {_tokens(int(doc['slashed']))} "
                f"({_tokens(int(doc['slashToChallenger']))} of it to the challenger)"
                if int(doc["slashed"]) else ""),
             f"decided by {DECIDED_BY.get(doc['decidedBy'], doc['decidedBy'])} "
             f"(block {doc['block']}, tx {doc['tx']})"]
    op = doc.get("op")
    if op is not None:
        lines.append(f"  {op.get('name', 'op ' + str(op['index']))}, output "
                     f"{'x'.join(str(d) for d in op['dims'])}")
    el = doc.get("element")
    if el is not None:
        lines.append(f"  element {el['index']}{' ' + el['at'] if 'at' in el else ''} "
                     f"(a program of {el['programSteps']} scalar steps; the node's value "
                     f"{show_bits(int(el['nodeBits'], 16))})")
    chk = doc.get("check")
    if chk is not None:
        lines.append(f"  step s = {chk['s']}: {chk['opcode']} of")
        for i, o in enumerate(chk["operands"]):
            lines.append(f"    operand {i}: {show_bits(int(o['bits'], 16))}  {o['kind']} "
                         f"{o['source']}")
        claimed, computed = int(chk["claimed"], 16), int(chk["computed"], 16)
        lines.append(f"  the node's result: {show_bits(claimed)}")
        lines.append(f"  binary32 gives:    {show_bits(computed)}")
        ulps = chk["ulps"]
        lines.append("  the same bits: the node's step is right" if claimed == computed else
                     f"  {ulps} ulp apart" if ulps is not None else "  different (a NaN)")
        if chk["reference"] != chk["computed"]:
            lines.append(f"  (the Python reference gives {chk['reference']}: it disagrees with "
                         "the contract; please report it)")
    fin = doc.get("final")
    if fin is not None:
        what = fin.get("tensor", f"state tensor {fin['slot']}")
        lines.append(f"  {what} (slot {fin['slot']}) after the step holds {fin['stateLeaf']}, "
                     + (f"not op {fin['op']}'s output" if fin["op"] is not None else
                        "not the tensor the step keeps"))
    tmo = doc.get("timeout")
    if tmo is not None:
        lines.append(f"  {'the node' if tmo['nodeLost'] else 'the challenger'} did not move "
                     f"in phase {tmo['phase']}")
    return "\n".join(lines)
