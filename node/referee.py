"""The node's side of the referee game (docs/referee.md "The bots"): answer every move of a game
opened on our leaf from our own re-trace of the disputed step.

The step is re-traced once (from our checkpoint of the segment before, replayed to step t-1) and
cached on disk under ``workdir/referee/<dispute>``; every answer is then a read of that trace.
Where the game stands is read from the chain on every call, so a restart or an RPC outage loses
nothing; the move journal (``ledger.movelog``) keeps a move from being sent twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.movelog import GameBot, Played, move_key
from ledger.protocol import Outcome
from ledger.referee import GamePhase, GameView

if TYPE_CHECKING:
    from ledger.movelog import MoveLog
    from ledger.referee import Referee
    from prover.trace.game import StepView
    from prover.trace.tracer import Mutation

log = logging.getLogger(__name__)

#: The step view of a game's disputed step (re-traced once, then read from its cache).
ViewFor = Callable[[int, GameView], "StepView"]
#: Our state hash of step t-1 and its proof in our committed trace (empty for t = 1).
AnchorFor = Callable[[GameView], tuple[bytes, list[bytes]]]
#: Fault injection: the change made to the state before step t of task i (None: none).
RetraceMutation = Callable[[int, int], "Mutation | None"]


@dataclass(frozen=True)
class Answer:
    """One move: its journal key, the contract function and the seconds spent computing it."""

    key: str
    name: str
    compute_s: float


class NodeReferee(GameBot["StepView"]):
    """Answers the games opened against ``referee.me``."""

    def __init__(self, referee: Referee, log_: MoveLog, view_for: ViewFor,
                 anchor_for: AnchorFor, progress: Callable[[str], None] | None = None) -> None:
        super().__init__(referee, log_, view_for, True,
                         progress or (lambda msg: log.info("%s", msg)))
        self.anchor_for = anchor_for
        #: Seconds each answer took to compute (the re-trace is in the Trace move's).
        self.answers: list[Answer] = []

    def play(self, dispute_id: int) -> Played:
        """Make the move that is due from us in game ``dispute_id``, if any."""
        g, block, skip = self.due(dispute_id)
        if skip is not None:
            return skip
        key = move_key(g)
        t0 = time.perf_counter()
        name, send = self._answer(dispute_id, g)
        spent = time.perf_counter() - t0
        played = self.send(dispute_id, g, block, name, send)
        if played is Played.MOVED:
            self.answers.append(Answer(key, name, spent))
            self.progress(f"game {dispute_id} (step {g.step}): {name} at {key} "
                          f"({spent:.2f}s to compute)")
        return played

    def _answer(self, did: int, g: GameView) -> tuple[str, Callable[[], object]]:
        r, view = self.referee, self.view_for(did, g)
        if g.phase == GamePhase.TRACE:
            before, proof = self.anchor_for(g)
            after = view.recorded.state_hash_after
            return "postTrace", lambda: r.post_trace(did, before, proof, after,
                                                     view.after_leaves, view.op_root())
        if g.phase in (GamePhase.OP_SPLIT, GamePhase.CHUNK_SPLIT):
            nodes = view.split(g.phase == GamePhase.CHUNK_SPLIT, g.opIndex, g.depthLeft, g.index)
            return "split", lambda: r.split(did, nodes)
        if g.phase == GamePhase.SHAPE:
            root, dims = view.shape(g.opIndex)
            return "revealShape", lambda: r.reveal_shape(did, root, dims)
        if g.phase == GamePhase.CHUNK:
            chunk = view.chunk(g.opIndex, g.index)
            return "revealChunk", lambda: r.reveal_chunk(did, chunk)
        if g.phase == GamePhase.PROGRAM:
            results = view.results(g.opIndex, g.element)
            return "postProgram", lambda: r.post_program(did, results)
        raise ValueError(f"game {did}: phase {g.phase.name} is not the node's to move")

    def outcome(self, dispute_id: int) -> Outcome:
        return self.referee.outcome(dispute_id)


def for_daemon(protocol: Any, journal: Any, materials: Any, workdir: Path,
               progress: Callable[[str], None] | None = None,
               retrace_mutation: RetraceMutation | None = None) -> NodeReferee:
    """The daemon's referee bot (it plays the games of tasks created with a step graph). It
    re-traces a disputed step once from our checkpoint of the segment before (the initial
    state for segment 0) into ``workdir/referee/<dispute>``; leaf t-1 comes with its proof from
    our leaves file of the segment that holds it (node.journal rows). ``retrace_mutation``
    (fault injection, the demo's cheating node) gives the change a node made to its state
    before step t of task i, so its answers defend what it trained."""
    from ledger.movelog import MoveLog
    from ledger.referee import Referee
    from prover import merkle
    from prover.trace.retrace import cached_retrace

    referee = Referee(protocol)

    def spec_of(task_id: int) -> Any:
        row = journal.task(task_id)
        return materials.spec(row.spec_cid, bytes(protocol.task(task_id).specHash))

    def view_for(did: int, g: GameView) -> StepView:
        spec = spec_of(g.taskId)
        k = (g.step - 1) // spec.segment_steps
        start = journal.segment(g.taskId, k - 1).checkpoint_dir if k else None
        mutate = retrace_mutation(g.taskId, g.step) if retrace_mutation is not None else None
        return cached_retrace(workdir / "referee" / str(did), spec, g.taskId, g.step, start,
                              materials.teacher_dir(spec), materials.dataset_dir(spec),
                              mutate=mutate)

    def anchor_for(g: GameView) -> tuple[bytes, list[bytes]]:
        if g.step == 1:
            return referee.step_graph(g.taskId).initialState, []
        S = spec_of(g.taskId).segment_steps
        seg = journal.segment(g.taskId, (g.step - 2) // S)
        doc = merkle.read_leaves_file(seg.leaves_file)
        hashes = [merkle.to_bytes32(h) for h in doc["stateHashes"]]
        i = (g.step - 2) % S
        return hashes[i], merkle.proof(merkle.leaves_for(g.taskId, seg.k * S, hashes), i)

    return NodeReferee(referee, MoveLog(workdir / "referee" / "moves.sqlite"), view_for,
                       anchor_for, progress)
