"""The challenger's side of the referee game (docs/referee.md "The bots"): play a game we opened
to the end from our own honest trace of the disputed step.

Each call reads the game and its events from the chain (what the node revealed), compares them
with our trace and sends the move that is due: the first differing node of a round, the first
differing lane of the revealed chunk, the first program step binary32 refutes (with its input
openings); or, when every op agrees and the state after does not, ``pickFinal`` or
``disputeKept``. When everything the node committed agrees with our trace (an end-state dispute
opened because the end checkpoint is withheld or is not the committed state), we demand a chunk
of its committed state instead (:func:`demanded`): the bisection descends to the op whose output
is a state tensor after the step and to one of its chunks, and the node must reveal that chunk
on chain or lose at the move's deadline. Only the move journal and the trace cache are kept
between calls, so a restart or an RPC outage loses nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from challenger.errors import NothingToProveError
from ledger.movelog import GameBot, Played
from ledger.protocol import Outcome
from ledger.referee import (
    ConstArg,
    GameEvent,
    GamePhase,
    GameView,
    KeptArg,
    OpeningArg,
    ScalarArg,
    StepOpArg,
)
from prover.trace.commit import CHUNK_ELEMS, TraceError
from prover.trace.game import KnownTree, depth_of, proof, round_width, tree
from prover.trace.kinds import RefKind
from prover.trace.openings import ConstClaim, ScalarClaim
from prover.trace.roots import final_leaf

if TYPE_CHECKING:
    from ledger.movelog import MoveLog
    from ledger.referee import Referee
    from prover.trace.game import StepView
    from prover.trace.graph import Op

log = logging.getLogger(__name__)

#: Our honest view of a game's disputed step.
ViewFor = Callable[[int, GameView], "StepView"]


@dataclass
class Trail:
    """What the node revealed so far, read back from the game's events."""

    after_leaves: list[bytes] = field(default_factory=list)
    op_root: bytes = b""
    known: KnownTree = field(default_factory=lambda: KnownTree(0))
    split: list[bytes] = field(default_factory=list)
    dims: tuple[int, ...] = ()
    chunk: bytes = b""
    results: bytes = b""


def read_trail(events: Sequence[GameEvent], n_ops: int) -> Trail:
    """Replay the game's events: the op-tree nodes revealed (for proofs under opRoot), the last
    round's nodes, the shape, chunk and program the node revealed."""
    t = Trail(known=KnownTree(depth_of(n_ops)))
    depth, index, chunks = depth_of(n_ops), 0, False
    for e in events:
        a = e.args
        if e.name == "TracePosted":
            t.after_leaves = [bytes(x) for x in a["afterLeaves"]]
            t.op_root = bytes(a["opRoot"])
        elif e.name == "Split":
            t.split = [bytes(x) for x in a["nodes"]]
            if not chunks:
                t.known.add_round(depth, index, t.split)
        elif e.name == "Picked":
            depth, index = int(a["depthLeft"]), int(a["index"])
        elif e.name == "ShapeRevealed":
            chunks, t.dims = True, tuple(int(d) for d in a["dims"])
        elif e.name == "ChunkRevealed":
            t.chunk = bytes(a["chunk"])
        elif e.name == "ProgramPosted":
            t.results = bytes(a["results"])
    return t


def op_arg(op: Op) -> StepOpArg:
    return StepOpArg(op.index, int(op.kind), tuple(int(r.kind) for r in op.inputs),
                     tuple(r.index & 0xFFFFFFFF for r in op.inputs), tuple(op.shape),
                     tuple(op.attrs))


@dataclass(frozen=True)
class Demand:
    """The chunk of the node's committed state we ask it to reveal when nothing it committed
    contradicts our trace: state tensor ``slot`` after the step, output of op ``op``."""

    slot: int
    op: int
    chunk: int


def demanded(view: StepView, g: GameView) -> Demand | None:
    """Which chunk of the state after the step to demand in game ``g``: a state tensor made by
    an op (the graph's final refs) and a chunk of it, drawn from the game's disputed leaf and
    step, so the node cannot know it before it committed and a restarted bot draws the same one.
    None when no state tensor comes from an op."""
    final = view.recorded.graph.final
    made = [(j, ref.index) for j, (_, ref) in enumerate(final) if ref.kind is RefKind.OP]
    if not made:
        return None
    seed = int.from_bytes(hashlib.sha256(bytes(g.nodeLeaf) + g.step.to_bytes(32, "big"))
                          .digest(), "big")
    slot, op = made[seed % len(made)]
    size = 1
    for d in view.ops[op].shape:
        size *= int(d)
    chunks = max(1, -(-size // CHUNK_ELEMS))
    return Demand(slot, op, (seed // len(made)) % chunks)


def toward(target: int, depth_left: int) -> int:
    """The node of a round (``depth_left`` levels above the leaves) on the path to leaf
    ``target``."""
    w = round_width(depth_left)
    return (target >> (depth_left - w)) & ((1 << w) - 1)


class ChallengerReferee(GameBot["StepView"]):
    """Plays the games ``referee.me`` opened."""

    def __init__(self, referee: Referee, log_: MoveLog, view_for: ViewFor,
                 progress: Callable[[str], None] | None = None) -> None:
        super().__init__(referee, log_, view_for, False,
                         progress or (lambda msg: log.info("%s", msg)))

    def play(self, dispute_id: int) -> Played:
        """Make the move that is due from us in game ``dispute_id``, if any."""
        g, block, skip = self.due(dispute_id)
        if skip is not None:
            return skip
        view = self.view_for(dispute_id, g)
        trail = read_trail(self.referee.events(dispute_id), len(view.ops))
        try:
            name, what, send = self._move(dispute_id, g, view, trail)
        except (NothingToProveError, TraceError) as exc:
            self.progress(f"game {dispute_id}: {exc}")
            return Played.STUCK
        played = self.send(dispute_id, g, block, name, send)
        if played is Played.MOVED:
            self.progress(f"game {dispute_id} (step {g.step}): {name} {what}")
        return played

    def resolved(self, dispute_id: int) -> tuple[bool, Outcome]:
        """Whether the game is over, and its outcome."""
        g = self.referee.game(dispute_id)
        return g.phase == GamePhase.RESOLVED, self.referee.outcome(dispute_id)

    def _move(self, did: int, g: GameView, view: StepView,
              trail: Trail) -> tuple[str, str, Callable[[], Any]]:
        r = self.referee
        if g.phase == GamePhase.OP_PICK:
            return self._op_pick(did, g, view, trail)
        if g.phase == GamePhase.CHUNK_PICK:
            which: int | None = 0
            if trail.dims == tuple(view.ops[g.opIndex].shape):
                which = view.first_differing(trail.split, True, g.opIndex, g.depthLeft, g.index)
            if which is None:  # the op's chunks agree with ours: descend to the demanded chunk
                d = demanded(view, g)
                target = d.chunk if d is not None and d.op == g.opIndex else 0
                which = toward(target, g.depthLeft)
                what = f"chunk node {which} (towards demanded chunk {target})"
            else:
                what = f"chunk node {which}"
            pick = which
            return "pick", what, lambda: r.pick(did, trail.split, pick)
        op = view.ops[g.opIndex]
        if g.phase == GamePhase.ELEMENT:
            lane = 0
            if trail.dims == tuple(op.shape):
                if bytes(trail.chunk) == view.chunk(g.opIndex, g.index):
                    raise NothingToProveError(
                        f"the node revealed chunk {g.index} of op {g.opIndex}'s output as our "
                        "trace has it: its committed state is available", dispute_id=did)
                lane = view.first_wrong_lane(g.opIndex, g.index, trail.chunk)
            graph_proof = proof(tree([o.leaf() for o in view.ops]), g.opIndex)
            return ("nameElement", f"op {g.opIndex} ({op.kind.name}) chunk {g.index} lane {lane}",
                    lambda: r.name_element(did, lane, trail.chunk, op_arg(op), graph_proof))
        if g.phase == GamePhase.STEP:
            s = view.wrong_step(g.opIndex, g.element, trail.results)
            if s is None:
                raise NothingToProveError(f"every step of op {g.opIndex} element {g.element} "
                                          "checks out against our trace", dispute_id=did)
            openings = [OpeningArg(o.root, o.dims, tuple(o.commit_proof), o.chunk,
                                   tuple(o.chunk_proof))
                        for o in view.openings(g.opIndex, g.element, s, trail.known,
                                               trail.results)]
            return ("checkStep", f"op {g.opIndex} element {g.element} step {s}",
                    lambda: r.check_step(did, s, op_arg(op), trail.results, openings))
        raise ValueError(f"game {did}: phase {g.phase.name} is not the challenger's to move")

    def _op_pick(self, did: int, g: GameView, view: StepView,
                 trail: Trail) -> tuple[str, str, Callable[[], Any]]:
        r, nodes = self.referee, trail.split
        # the scalar leaf or a constant tensor after the step is wrong: settled at once
        claim = view.state_claim(trail.after_leaves)
        if claim is not None:
            arg = state_arg(claim)
            return ("disputeState", f"{arg.claim.name.lower()} leaf of the state after",
                    lambda: r.dispute_state(did, arg))
        if trail.op_root != view.op_root():
            which = view.first_differing(nodes, False, 0, g.depthLeft, g.index)
            if which is None:
                raise NothingToProveError("the node's revealed op nodes all agree with ours",
                                          dispute_id=did)
            return "pick", f"op node {which}", lambda: r.pick(did, nodes, which)
        # every op agrees with ours: the node's state after does not hold what they produce
        n = len(view.before_leaves) - 1
        theirs = trail.after_leaves
        slot = next((j for j in range(n) if theirs[j] != view.after_leaves[j]), None)
        if slot is None:
            return self._demand(did, g, view, nodes, theirs[n] != view.after_leaves[n])
        final = view.recorded.graph.final
        final_levels = tree([final_leaf(j, ref) for j, (_, ref) in enumerate(final)])
        ref = final[slot][1]
        after_levels = tree(theirs)
        if ref.kind is RefKind.STATE:
            before_levels = tree(view.before_leaves)
            kept = KeptArg(slot, ref.index, tuple(proof(final_levels, slot)), theirs[slot],
                           tuple(proof(after_levels, slot)), view.before_leaves[ref.index],
                           tuple(proof(before_levels, ref.index)))
            return ("disputeKept", f"state tensor {slot} (kept from {ref.index}) changed",
                    lambda: r.dispute_kept(did, kept))
        if ref.kind is not RefKind.OP:
            raise NothingToProveError(f"state tensor {slot} after the step comes from {ref}, "
                                      "which the referee cannot check yet", dispute_id=did)
        which = toward(ref.index, g.depthLeft)
        if g.depthLeft > round_width(g.depthLeft):
            return "pick", f"op node {which} (towards op {ref.index})", \
                lambda: r.pick(did, nodes, which)
        fp, sp = proof(final_levels, slot), proof(after_levels, slot)
        return ("pickFinal", f"op {ref.index} is state tensor {slot}, the node's state after "
                             "holds another",
                lambda: r.pick_final(did, nodes, which, slot, fp, theirs[slot], sp))

    def _demand(self, did: int, g: GameView, view: StepView, nodes: list[bytes],
                scalar_differs: bool) -> tuple[str, str, Callable[[], Any]]:
        """Every op and state tensor the node committed agrees with ours: descend to the
        demanded chunk of its state after the step (the node must reveal it or lose)."""
        d = demanded(view, g)
        if scalar_differs or d is None:
            why = ("only the state's scalar leaf differs" if scalar_differs
                   else "no state tensor comes from an op")
            raise NothingToProveError(f"every op and every state tensor after the step agree "
                                      f"with ours ({why})", dispute_id=did)
        which = toward(d.op, g.depthLeft)
        r = self.referee
        return ("pick", f"op node {which} (demanding chunk {d.chunk} of state tensor {d.slot}, "
                        f"op {d.op})", lambda: r.pick(did, nodes, which))


def state_arg(claim: ConstClaim | ScalarClaim) -> ConstArg | ScalarArg:
    """The ``disputeState`` proof of a claim our trace proves (prover/trace/openings.py)."""
    if isinstance(claim, ScalarClaim):
        return ScalarArg(claim.step, claim.rng_digest, claim.cursor, tuple(claim.before_proof),
                         claim.after_leaf, tuple(claim.after_proof))
    return ConstArg(claim.slot, claim.bits, tuple(claim.final_proof), claim.before_root,
                    claim.dims, tuple(claim.before_proof), claim.after_leaf,
                    tuple(claim.after_proof))


def for_auditor(protocol: Any, data: Any, workdir: Path,
                progress: Callable[[str], None] | None = None) -> ChallengerReferee:
    """The auditor's referee bot (it plays the games of tasks created with a step graph). It
    re-traces a disputed step once, from the segment's start checkpoint (``data``:
    challenger.segdata.SegmentData), into ``workdir/referee/<dispute>``."""
    from ledger.movelog import MoveLog
    from ledger.referee import Referee
    from prover.trace.retrace import cached_retrace

    def view_for(did: int, g: GameView) -> StepView:
        spec = data.spec(g.taskId)
        teacher, dataset = data.inputs(spec)
        start, start_hash = data.start_checkpoint(spec, g.taskId, g.segment)
        return cached_retrace(workdir / "referee" / str(did), spec, g.taskId, g.step, start,
                              teacher, dataset, start_hash)

    return ChallengerReferee(Referee(protocol), MoveLog(workdir / "moves.sqlite"), view_for,
                             progress)
