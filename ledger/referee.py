"""Typed access to the referee game (``OneStepAdjudicator``, docs/referee.md "The game").

One ``Referee`` per signing account, over a :class:`ledger.protocol.Protocol`. Every move is a
method named after the contract's function; reads return frozen dataclasses; the events a bot
needs to follow a game (what the other party revealed) are read back per dispute. Reverts come
back as the named errors of ``ledger.errors`` (``revert_error("WrongPhase")``), as for every
contract call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar

from ledger.protocol import Outcome

if TYPE_CHECKING:
    from ledger.chain import Contract
    from ledger.protocol import Protocol


class GamePhase(IntEnum):
    """RefereeTypes.sol GamePhase: where a game stands (the phase fixes the party to move)."""

    NONE = 0
    TRACE = 1
    OP_SPLIT = 2
    OP_PICK = 3
    SHAPE = 4
    CHUNK_SPLIT = 5
    CHUNK_PICK = 6
    CHUNK = 7
    ELEMENT = 8
    PROGRAM = 9
    STEP = 10
    RESOLVED = 11

    @property
    def node_to_move(self) -> bool:
        return self in _NODE_MOVES


_NODE_MOVES = {GamePhase.TRACE, GamePhase.OP_SPLIT, GamePhase.SHAPE, GamePhase.CHUNK_SPLIT,
               GamePhase.CHUNK, GamePhase.PROGRAM}


@dataclass(frozen=True)
class GameView:
    """RefereeTypes.sol GameView."""

    taskId: int
    segment: int
    step: int
    node: str
    challenger: str
    taskEpoch: int
    phase: GamePhase
    deadline: int
    nodeToMove: bool
    nodeLeaf: bytes
    stateBefore: bytes
    stateAfter: bytes
    opRoot: bytes
    cursor: bytes
    depthLeft: int
    index: int
    opIndex: int
    element: int
    claimedBits: int
    programLength: int

    @property
    def in_chunks(self) -> bool:
        return self.phase in (GamePhase.CHUNK_SPLIT, GamePhase.CHUNK_PICK, GamePhase.CHUNK,
                              GamePhase.ELEMENT)


@dataclass(frozen=True)
class StepOpArg:
    """StepOp.sol StepOp: one graph op as the referee reads it."""

    index: int
    kind: int
    refKinds: tuple[int, ...]
    refIndices: tuple[int, ...]
    dims: tuple[int, ...]
    attrs: tuple[int, ...]

    def encode(self) -> tuple[Any, ...]:
        return (self.index, self.kind, list(self.refKinds), list(self.refIndices),
                list(self.dims), list(self.attrs))


@dataclass(frozen=True)
class OpeningArg:
    """IOneStepAdjudicator Opening: a tensor opened down to one chunk."""

    root: bytes
    dims: tuple[int, ...]
    commitProof: tuple[bytes, ...]
    chunk: bytes
    chunkProof: tuple[bytes, ...]

    def encode(self) -> tuple[Any, ...]:
        return (self.root, list(self.dims), list(self.commitProof), self.chunk,
                list(self.chunkProof))


@dataclass(frozen=True)
class KeptArg:
    """IOneStepAdjudicator KeptProof: a kept tensor that differs before and after the step."""

    slot: int
    origin: int
    finalProof: tuple[bytes, ...]
    afterLeaf: bytes
    afterProof: tuple[bytes, ...]
    beforeLeaf: bytes
    beforeProof: tuple[bytes, ...]

    def encode(self) -> tuple[Any, ...]:
        return (self.slot, self.origin, list(self.finalProof), self.afterLeaf,
                list(self.afterProof), self.beforeLeaf, list(self.beforeProof))


class StateClaim(IntEnum):
    """RefereeTypes.sol StateClaim: what ``disputeState`` claims of the node's state after."""

    CONST = 0
    SCALAR = 1


@dataclass(frozen=True)
class ConstArg:
    """IOneStepAdjudicator ConstProof: a tensor the graph sets to the constant ``bits`` is
    another commitment in the node's state after."""

    slot: int
    bits: int
    finalProof: tuple[bytes, ...]
    beforeRoot: bytes
    dims: tuple[int, ...]
    beforeProof: tuple[bytes, ...]
    afterLeaf: bytes
    afterProof: tuple[bytes, ...]

    claim: ClassVar[StateClaim] = StateClaim.CONST
    ABI: ClassVar[str] = "(uint256,uint32,bytes32[],bytes32,uint32[],bytes32[],bytes32,bytes32[])"

    def encode(self) -> tuple[Any, ...]:
        return (self.slot, self.bits, list(self.finalProof), self.beforeRoot, list(self.dims),
                list(self.beforeProof), self.afterLeaf, list(self.afterProof))


@dataclass(frozen=True)
class ScalarArg:
    """IOneStepAdjudicator ScalarProof: the state before's scalar leaf preimage and the node's
    scalar leaf after, which is not it advanced by one step."""

    step: int
    rngDigest: bytes
    cursor: int
    beforeProof: tuple[bytes, ...]
    afterLeaf: bytes
    afterProof: tuple[bytes, ...]

    claim: ClassVar[StateClaim] = StateClaim.SCALAR
    ABI: ClassVar[str] = "(uint64,bytes32,uint64,bytes32[],bytes32,bytes32[])"

    def encode(self) -> tuple[Any, ...]:
        return (self.step, self.rngDigest, self.cursor, list(self.beforeProof), self.afterLeaf,
                list(self.afterProof))


@dataclass(frozen=True)
class GameEvent:
    """One event of a game, in chain order: its name, block, log position and arguments."""

    name: str
    block: int
    position: tuple[int, int]
    args: dict[str, Any]


#: Events a bot reads to follow a game (all indexed by disputeId).
GAME_EVENTS = ("TracePosted", "Split", "Picked", "ShapeRevealed", "ChunkRevealed",
               "ElementNamed", "ProgramPosted", "StepChecked", "FinalStateMismatch",
               "MoveTimedOut", "DisputeResolved")


def _b(xs: Sequence[bytes]) -> list[bytes]:
    return [bytes(x) for x in xs]


class Referee:
    """The referee game seen by one account: ``Referee(protocol)`` uses the market's referee
    (or ``address``)."""

    def __init__(self, protocol: Protocol, address: str | None = None) -> None:
        self.protocol = protocol
        self.contract: Contract = (protocol.chain.contract("OneStepAdjudicator", address)
                                   if address else protocol.referee)

    @property
    def me(self) -> str:
        return self.protocol.me

    def _send(self, fn: str, *args: Any) -> Any:
        return self.contract.transact(fn, *args)

    # --- challenger ----------------------------------------------------------------------------
    def _approve_bond(self) -> None:
        bond = self.challenge_bond()
        token = self.protocol.token
        if int(token.call("allowance", self.me, self.contract.address)) < bond:
            token.transact("approve", self.contract.address, bond)

    def _roots(self, task_id: int,
               k: int) -> tuple[tuple[bytes, bytes], tuple[bytes, bytes]]:
        """Segment k's committed roots and segment k-1's (zeros for k = 0), which an open names
        (the market checks them against its records; the referee anchors leaf t-1 in k-1's)."""
        p = self.protocol
        return p.roots(task_id, k), (p.roots(task_id, k - 1) if k else (bytes(32), bytes(32)))

    def open_dispute(self, task_id: int, k: int, step: int, leaf: bytes,
                     proof: Sequence[bytes]) -> int:
        """Dispute the node's ``leaf`` at ``step`` (bond approved here); returns the game id."""
        self._approve_bond()
        roots, previous = self._roots(task_id, k)
        receipt = self._send("openDispute", task_id, k, roots, previous, step, bytes(leaf),
                             _b(proof))
        (event,) = self.contract.decode_events(receipt, "DisputeOpened")
        return int(event["args"]["disputeId"])

    def open_end_state_dispute(self, task_id: int, k: int) -> int:
        self._approve_bond()
        roots, previous = self._roots(task_id, k)
        receipt = self._send("openEndStateDispute", task_id, k, roots, previous)
        (event,) = self.contract.decode_events(receipt, "DisputeOpened")
        return int(event["args"]["disputeId"])

    def pick(self, dispute_id: int, nodes: Sequence[bytes], which: int) -> Any:
        return self._send("pick", dispute_id, _b(nodes), which)

    def pick_final(self, dispute_id: int, nodes: Sequence[bytes], which: int, slot: int,
                   final_proof: Sequence[bytes], state_leaf: bytes,
                   state_proof: Sequence[bytes]) -> Any:
        return self._send("pickFinal", dispute_id, _b(nodes), which, slot, _b(final_proof),
                          bytes(state_leaf), _b(state_proof))

    def dispute_kept(self, dispute_id: int, kept: KeptArg) -> Any:
        return self._send("disputeKept", dispute_id, kept.encode())

    def dispute_state(self, dispute_id: int, arg: ConstArg | ScalarArg) -> Any:
        """The node's state after is not what the step makes of it besides its ops' outputs
        (``disputeState``; the proof travels abi-encoded, as the contract decodes it)."""
        from eth_abi import encode

        return self._send("disputeState", dispute_id, int(arg.claim),
                          encode([arg.ABI], [arg.encode()]))

    def name_element(self, dispute_id: int, lane: int, chunk: bytes, op: StepOpArg,
                     graph_proof: Sequence[bytes]) -> Any:
        return self._send("nameElement", dispute_id, lane, bytes(chunk), op.encode(),
                          _b(graph_proof))

    def check_step(self, dispute_id: int, s: int, op: StepOpArg, results: bytes,
                   openings: Sequence[OpeningArg]) -> Any:
        return self._send("checkStep", dispute_id, s, op.encode(), bytes(results),
                          [o.encode() for o in openings])

    # --- node ----------------------------------------------------------------------------------
    def post_trace(self, dispute_id: int, state_before: bytes, proof_before: Sequence[bytes],
                   state_after: bytes, after_leaves: Sequence[bytes], op_root: bytes) -> Any:
        return self._send("postTrace", dispute_id, bytes(state_before), _b(proof_before),
                          bytes(state_after), _b(after_leaves), bytes(op_root))

    def split(self, dispute_id: int, nodes: Sequence[bytes]) -> Any:
        return self._send("split", dispute_id, _b(nodes))

    def reveal_shape(self, dispute_id: int, root: bytes, dims: Sequence[int]) -> Any:
        return self._send("revealShape", dispute_id, bytes(root), list(dims))

    def reveal_chunk(self, dispute_id: int, chunk: bytes) -> Any:
        return self._send("revealChunk", dispute_id, bytes(chunk))

    def post_program(self, dispute_id: int, results: bytes) -> Any:
        return self._send("postProgram", dispute_id, bytes(results))

    # --- anyone --------------------------------------------------------------------------------
    def resolve(self, dispute_id: int) -> Any:
        """After the deadline of the move at hand: the party to move loses."""
        return self._send("resolve", dispute_id)

    def claim_payout(self) -> Any:
        return self._send("claimPayout")

    # --- reads ---------------------------------------------------------------------------------
    def game(self, dispute_id: int) -> GameView:
        rec = self.protocol.view(self.contract, "game", dispute_id)
        fields: dict[str, Any] = {k: (bytes(v) if isinstance(v, (bytes, bytearray)) else v)
                                  for k, v in rec.items()}
        fields["phase"] = GamePhase(int(fields["phase"]))
        return GameView(**fields)

    def step_graph(self, task_id: int) -> Any:
        """The StepGraph recorded with the task (a record by Solidity field name; zero roots
        for a jury task)."""
        return self.protocol.view(self.contract, "stepGraph", task_id)

    def outcome(self, dispute_id: int) -> Outcome:
        return Outcome(int(self.contract.call("outcome", dispute_id)))

    def owed(self, who: str | None = None) -> int:
        return int(self.contract.call("owed", who or self.me))

    def total_held(self) -> int:
        return int(self.contract.call("totalHeld"))

    def dispute_count(self) -> int:
        return int(self.contract.call("disputeCount"))

    def challenge_bond(self) -> int:
        return int(self.contract.call("challengeBond"))

    def params(self) -> Any:
        return self.protocol.view(self.contract, "params")

    # --- events --------------------------------------------------------------------------------
    def events(self, dispute_id: int, names: Sequence[str] = GAME_EVENTS,
               from_block: int | None = None) -> list[GameEvent]:
        """The game's events named ``names``, in chain order."""
        start = self.protocol.addresses.deployBlock if from_block is None else from_block
        out = []
        for name in names:
            for log in self.contract.events(name, from_block=start, disputeId=dispute_id):
                out.append(GameEvent(name, int(log["blockNumber"]),
                                     (int(log["blockNumber"]), int(log["logIndex"])),
                                     dict(log["args"])))
        return sorted(out, key=lambda e: e.position)

    def opened(self, from_block: int | None = None, node: str | None = None) -> list[GameEvent]:
        """DisputeOpened events (every game, or those against ``node``), in chain order."""
        start = self.protocol.addresses.deployBlock if from_block is None else from_block
        logs = self.contract.events("DisputeOpened", from_block=start)
        out = [GameEvent("DisputeOpened", int(x["blockNumber"]),
                         (int(x["blockNumber"]), int(x["logIndex"])), dict(x["args"]))
               for x in logs]
        if node is not None:
            out = [e for e in out if str(e.args["node"]).lower() == node.lower()]
        return out
