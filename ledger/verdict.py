"""How a settled referee game ended, read from public data only (docs/referee.md "What the demo
shows"): the adjudicator's views and events, and the calldata of the transaction that decided it.

:func:`read_game_end` returns a :class:`GameEnd`: the outcome, who won, the disputed step and,
as far as the game got, the op, the element, and for a game decided by ``checkStep`` the scalar
step with its opcode, the node's claimed bits, the bits binary32 gives, the op as the graph
encodes it, the posted program results and the input openings (the operands' public sources).
A game decided otherwise names its decision: the final state (``pickFinal``), a kept tensor
(``disputeKept``), a missed deadline (``resolve``), a padding leaf the node filled (``pick``) or
an output that is not the graph's shape (``nameElement``). ``prover.trace.verdict`` turns it into
a readable report (pure computation, no chain code).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from ledger.errors import ContractRevertError
from ledger.protocol import Outcome
from ledger.referee import GamePhase, OpeningArg, StepOpArg
from veritrain.errors import LedgerError, leaf

if TYPE_CHECKING:
    from ledger.referee import Referee


class Decision(IntEnum):
    """The move that settled the game."""

    #: ``checkStep``: one scalar step recomputed with Float32 (``StepChecked``).
    STEP = 1
    #: ``pickFinal``: the state after the step does not hold op i's output at slot j.
    FINAL_STATE = 2
    #: ``disputeKept``: a tensor the step keeps differs between the states before and after.
    KEPT_TENSOR = 3
    #: ``resolve``: the party to move missed its deadline.
    TIMEOUT = 4
    #: ``pick``: a bisection reached a tree padding leaf the node's tree does not hold as zero.
    PADDING = 5
    #: ``nameElement``: the node's op output has another shape than the graph's, or a non-zero
    #: padding element.
    ELEMENT = 6


_DECISIONS = {"checkStep": Decision.STEP, "pickFinal": Decision.FINAL_STATE,
              "disputeKept": Decision.KEPT_TENSOR, "resolve": Decision.TIMEOUT,
              "pick": Decision.PADDING, "nameElement": Decision.ELEMENT}


@leaf
class UnknownDisputeError(LedgerError):
    """The adjudicator holds no game with this id."""

    dispute_id: int
    adjudicator: str
    hint = "check the id (DisputeOpened events) and the adjudicator address (--adjudicator)"


@leaf
class GameNotSettledError(LedgerError):
    """The game is still being played: it has no verdict yet."""

    dispute_id: int
    #: Where the game stands and the block after which the party to move loses.
    phase: GamePhase
    deadline: int


@dataclass(frozen=True)
class CheckedStep:
    """The last move of a game decided by ``checkStep`` (event ``StepChecked`` and its calldata)."""

    #: The scalar step of the element's program, its opcode (prover.trace.kinds.Opcode).
    s: int
    opcode: int
    #: The node's result of step s (its posted results) and Float32's from the bound operands.
    claimed: int
    computed: int
    #: The op as the graph encodes it (its leaf is proven under graphRoot).
    op: StepOpArg
    #: Every result of the element's program as the node posted it (4 bytes big-endian a step).
    results: bytes
    #: The openings of step s's input operands, in operand order (Const inputs take none).
    openings: tuple[OpeningArg, ...]


@dataclass(frozen=True)
class FinalState:
    """A game decided by ``pickFinal`` or ``disputeKept`` (event ``FinalStateMismatch``)."""

    #: The op whose output state tensor ``slot`` must be (None: a tensor the step keeps).
    op_index: int | None
    slot: int
    #: What the node's state after the step holds there.
    state_leaf: bytes


@dataclass(frozen=True)
class GameEnd:
    """A settled game, from public data."""

    dispute_id: int
    adjudicator: str
    task_id: int
    segment: int
    #: The disputed step t (the first leaf the challenger says is wrong).
    step: int
    node: str
    challenger: str
    outcome: Outcome
    decision: Decision
    #: Block and transaction of the deciding move.
    block: int
    tx_hash: str
    #: Stake slashed from the node (0 when it won; the market's NodeSlashed) and the part of it
    #: the adjudicator received (credited to the challenger; the requester's share went to the
    #: requester).
    slashed: int
    slash_to_adjudicator: int
    #: The task's registered graphRoot (what a step graph must hash to, to name the op).
    graph_root: bytes
    #: The op, its output shape and the element the game reached (None: it ended before).
    op_index: int | None = None
    op_dims: tuple[int, ...] | None = None
    element: int | None = None
    #: The node's bits of that element and the length of its program.
    element_bits: int | None = None
    program_length: int | None = None
    checked: CheckedStep | None = None
    final: FinalState | None = None
    #: For a timeout: the phase whose move was missed and whether the node missed it.
    timed_out: GamePhase | None = None
    node_lost: bool | None = None

    @property
    def winner(self) -> str:
        """The address that won the game."""
        return self.challenger if self.outcome == Outcome.NODE_WRONG else self.node


def read_game_end(referee: Referee, dispute_id: int) -> GameEnd:
    """The end of game ``dispute_id`` (raises :class:`UnknownDisputeError` or
    :class:`GameNotSettledError` when there is none yet)."""
    try:
        g = referee.game(dispute_id)
    except ContractRevertError as exc:
        if exc.name != "UnknownDispute":
            raise
        raise UnknownDisputeError(f"the adjudicator {referee.contract.address} has no game "
                                  f"{dispute_id} (it holds {referee.dispute_count()})",
                                  dispute_id=dispute_id,
                                  adjudicator=referee.contract.address) from None
    if g.phase != GamePhase.RESOLVED:
        who = "the node" if g.nodeToMove else "the challenger"
        raise GameNotSettledError(
            f"game {dispute_id} is not settled: it is at {g.phase.name}, {who} to move by block "
            f"{g.deadline}", dispute_id=dispute_id, phase=g.phase, deadline=int(g.deadline),
            hint="run this again once the game ends (after the deadline anyone may call "
                 "resolve, and the party to move loses)")
    logs = _logs(referee, dispute_id)
    (resolved,) = logs["DisputeResolved"]
    fn, args = _decoded_input(referee, resolved["transactionHash"])
    slashed = _slashed(referee, resolved["transactionHash"], dispute_id)
    decision = _DECISIONS.get(fn)
    if decision is None:
        raise LedgerError(f"game {dispute_id} was settled by an unexpected call {fn}",
                          hint="is this adjudicator a OneStepAdjudicator?")
    named = logs["ElementNamed"][-1]["args"] if logs["ElementNamed"] else None
    shape = logs["ShapeRevealed"][-1]["args"] if logs["ShapeRevealed"] else None
    end: dict[str, Any] = {}
    if decision is Decision.STEP:
        (ev,) = logs["StepChecked"]
        a = ev["args"]
        end["checked"] = CheckedStep(int(a["s"]), int(a["opcode"]), int(a["claimed"]),
                                     int(a["computed"]), _step_op(args["op"]),
                                     bytes(args["results"]),
                                     tuple(_opening(o) for o in args["openings"]))
    elif decision in (Decision.FINAL_STATE, Decision.KEPT_TENSOR):
        (ev,) = logs["FinalStateMismatch"]
        a = ev["args"]
        op = int(a["opIndex"])
        end["final"] = FinalState(None if op == 2**256 - 1 else op, int(a["slot"]),
                                  bytes(a["stateLeaf"]))
    elif decision is Decision.TIMEOUT:
        (ev,) = logs["MoveTimedOut"]
        end["timed_out"] = GamePhase(int(ev["args"]["phase"]))
        end["node_lost"] = bool(ev["args"]["nodeLost"])
    return GameEnd(
        dispute_id=dispute_id, adjudicator=referee.contract.address, task_id=int(g.taskId),
        segment=int(g.segment), step=int(g.step), node=str(g.node),
        challenger=str(g.challenger), outcome=referee.outcome(dispute_id), decision=decision,
        block=int(resolved["blockNumber"]), tx_hash="0x" + bytes(resolved["transactionHash"]).hex(),
        slashed=slashed, slash_to_adjudicator=int(resolved["args"]["slashed"]),
        graph_root=referee.step_graph(int(g.taskId)).graphRoot,
        op_index=int(g.opIndex) if shape is not None else None,
        op_dims=tuple(int(d) for d in shape["dims"]) if shape is not None else None,
        element=int(named["element"]) if named is not None else None,
        element_bits=int(named["bits"]) if named is not None else None,
        program_length=int(named["steps"]) if named is not None else None, **end)


_EVENTS = ("DisputeResolved", "ShapeRevealed", "ElementNamed", "StepChecked",
           "FinalStateMismatch", "MoveTimedOut")


def _logs(referee: Referee, dispute_id: int) -> dict[str, list[Any]]:
    """The game's logs of the events a verdict reads (raw: with their transaction hashes)."""
    start = referee.protocol.addresses.deployBlock
    return {name: referee.contract.events(name, from_block=start, disputeId=dispute_id)
            for name in _EVENTS}


def _decoded_input(referee: Referee, tx_hash: Any) -> tuple[str, dict[str, Any]]:
    """The adjudicator function a transaction called and its arguments, by name."""
    chain = referee.contract.chain
    tx = chain.retry(lambda: chain.w3.eth.get_transaction(tx_hash), "transaction")
    fn, args = referee.contract.web3_contract.decode_function_input(tx["input"])
    return str(fn.fn_name), dict(args)


def _slashed(referee: Referee, tx_hash: Any, dispute_id: int) -> int:
    """The node's stake the market slashed in the deciding transaction (NodeSlashed)."""
    chain, market = referee.contract.chain, referee.protocol.market
    receipt = chain.retry(lambda: chain.w3.eth.get_transaction_receipt(tx_hash), "receipt")
    return sum(int(e["args"]["amount"]) for e in market.decode_events(receipt, "NodeSlashed")
               if int(e["args"]["disputeId"]) == dispute_id)


def _field(x: Any, name: str, i: int) -> Any:
    """Field ``name`` of a decoded struct (a dict, or a tuple in ABI order)."""
    return x[name] if isinstance(x, dict) else x[i]


def _step_op(x: Any) -> StepOpArg:
    return StepOpArg(int(_field(x, "index", 0)), int(_field(x, "kind", 1)),
                     tuple(int(v) for v in _field(x, "refKinds", 2)),
                     tuple(int(v) for v in _field(x, "refIndices", 3)),
                     tuple(int(v) for v in _field(x, "dims", 4)),
                     tuple(int(v) for v in _field(x, "attrs", 5)))


def _opening(x: Any) -> OpeningArg:
    return OpeningArg(bytes(_field(x, "root", 0)), tuple(int(v) for v in _field(x, "dims", 1)),
                      tuple(bytes(p) for p in _field(x, "commitProof", 2)),
                      bytes(_field(x, "chunk", 3)),
                      tuple(bytes(p) for p in _field(x, "chunkProof", 4)))
