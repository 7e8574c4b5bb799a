"""End-state disputes and the state the step keeps, played by both bots on the real stack (anvil,
the real contracts with a market wired to OneStepAdjudicator, the embedded store over HTTP, real
tiny-preset training and tracing of a tree-v2 task).

- A node whose committed end state (and end checkpoint) is not what its last step computed, with
  every leaf honest, loses the auditor's end-state dispute by ``pickFinal``.
- A node whose state after a step changes a tensor the step keeps loses by ``disputeKept``.
- When the node's committed hashes all agree with the auditor's trace (its end checkpoint is
  withheld), the auditor demands a chunk of its committed state: a node that does not reveal it
  loses at that move's deadline, and an honest node daemon reveals it and wins the bond of the
  challenger that opened the end-state dispute.

Every party's books are checked to the wei; the adjudicator holds nothing after the payouts.
"""

from __future__ import annotations

from typing import Any

from challenger.journal import DisputeStatus
from challenger.referee import demanded
from explorer.fold import MoveKind
from ledger.protocol import Outcome
from ledger.referee import GamePhase, Referee
from prover.trace.kinds import OpKind, RefKind
from tests.support.actors import E18, DishonestNode, Fault
from tests.support.cast import Book
from tests.support.referee import (
    WEIGHT,
    Moves,
    SteppedNode,
    Withholding,
    cached_view,
    check_node_lost_books,
    explorer_game,
    fault_bot,
    one_ulp,
    refereed_task,
    ulp_up,
)

REQUESTER, NODE, CHALLENGER = 0, 1, 2
REWARD, NODE_STAKE = 100 * E18, 1000 * E18
SEGMENT_STEPS = 8
#: A tensor the step leaves unchanged (no gradient reaches the pooler in the KD loss).
KEPT = "pooler.dense.weight"


def _auditor(world: Any, demand_state: bool = False) -> Any:
    from challenger.auditor import Auditor
    from challenger.policy import AuditPolicy

    return Auditor(world.protocol(CHALLENGER), world.client, world.tmp / "auditor",
                   AuditPolicy(probability=1.0, demand_state=demand_state), cache_dir=world.cache)


def _resolved(referee: Referee, did: int) -> bool:
    return referee.game(did).phase == GamePhase.RESOLVED


def _books(world: Any, node: str, challenger: str) -> Book:
    p = world.protocol(REQUESTER)
    book = Book(p, {"requester": p.me, "node": node, "challenger": challenger})
    book.snap()
    return book


def _node_lost(world: Any, book: Book, task: int) -> None:
    """The books of a game the node lost: slashed, the requester's share to the requester, the
    rest and the bond back to the challenger (pulled), nothing left in the adjudicator."""
    check_node_lost_books(world.protocol(REQUESTER), book, task, REWARD, "challenger")


def _audit_and_play(world: Any, node_bot: Any, auditor: Any, max_blocks: int = 60) -> int:
    """The auditor's first pass opens its dispute; both bots play it to the end; the id."""
    auditor.run_once()
    (row,) = auditor.journal.rows("SELECT * FROM disputes")
    did = int(row["dispute_id"])
    referee = Referee(world.protocol(REQUESTER))
    world.drive([Moves(node_bot, did), auditor], lambda: _resolved(referee, did),
                max_blocks=max_blocks)
    auditor.run_once()  # records the outcome, pulls the payout
    return did


def test_wrong_end_state_loses_the_end_state_dispute_by_pick_final(world: Any) -> None:
    """Every leaf is honest, but the committed end state (and its checkpoint) holds the weight
    one ulp off what the last step's AdamW computed: the auditor opens the end-state dispute,
    the node posts its trace of step 8 ending in that state, and the auditor ends at the ADAMW_P
    op that makes the weight (pickFinal)."""
    node = SteppedNode(world.protocol(NODE), world.client, world.tmp / "node", world.cache,
                       end_after=one_ulp)
    auditor = _auditor(world)
    node.protocol.deposit(NODE_STAKE)
    book = _books(world, node.protocol.me, auditor.protocol.me)
    task = refereed_task(world, REWARD, NODE_STAKE)
    node.protocol.claim_task(task)
    node.commit(task, 0)
    did = _audit_and_play(world, node.bot(), auditor)
    referee = Referee(world.protocol(REQUESTER))
    g = referee.game(did)
    assert g.step == SEGMENT_STEPS and referee.events(did, ["EndStateDisputeOpened"])
    assert referee.outcome(did) == Outcome.NODE_WRONG
    (mismatch,) = referee.events(did, ["FinalStateMismatch"])
    view = cached_view(world.tmp / "auditor" / "referee" / str(did))
    assert view.recorded.graph.state_names[int(mismatch.args["slot"])] == WEIGHT
    assert view.ops[int(mismatch.args["opIndex"])].kind is OpKind.ADAMW_P
    (row,) = auditor.journal.rows("SELECT * FROM disputes")
    assert row["status"] == DisputeStatus.WON and "committed endStateHash" in row["reason"]
    assert world.protocol(REQUESTER).is_jailed(node.protocol.me)
    _node_lost(world, book, task)


def test_changed_kept_tensor_loses_by_dispute_kept(world: Any) -> None:
    """The node's state after step 3 holds the pooler's weight (which the step keeps: no
    gradient reaches it) one ulp off its value before the step: every op agrees, and the
    auditor settles it at once with disputeKept."""
    node = SteppedNode(world.protocol(NODE), world.client, world.tmp / "node", world.cache,
                       fault_step=3, mutate_after=ulp_up(KEPT, 5))
    auditor = _auditor(world)
    node.protocol.deposit(NODE_STAKE)
    book = _books(world, node.protocol.me, auditor.protocol.me)
    task = refereed_task(world, REWARD, NODE_STAKE)
    node.protocol.claim_task(task)
    node.commit(task, 0)
    did = _audit_and_play(world, node.bot(), auditor)
    referee = Referee(world.protocol(REQUESTER))
    assert referee.game(did).step == 3 and referee.outcome(did) == Outcome.NODE_WRONG
    (mismatch,) = referee.events(did, ["FinalStateMismatch"])
    assert int(mismatch.args["opIndex"]) == 2**256 - 1  # a kept tensor, not an op's output
    view = cached_view(world.tmp / "auditor" / "referee" / str(did))
    slot = int(mismatch.args["slot"])
    assert view.recorded.graph.state_names[slot] == KEPT
    assert view.recorded.graph.final[slot][1].kind is RefKind.STATE
    assert not referee.events(did, ["ShapeRevealed"])  # settled in the op rounds
    # the explorer tells disputeKept from disputeState by the call in the transaction
    page = explorer_game(world, did)
    assert [m.kind for m in page.moves].count(MoveKind.KEPT_MISMATCH) == 1
    assert page.fault is not None and page.fault.stateWhat == "not the tensor the step keeps"
    assert page.fault.stateSlot == slot
    _node_lost(world, book, task)


def test_node_that_withholds_its_state_loses_at_the_demanded_chunk(world: Any) -> None:
    """The node's hashes are all honest but its end checkpoint is never made available: the
    auditor (``--demand-state``: it bets its bond that the node cannot reveal its state) opens
    the end-state dispute, finds nothing it can refute and demands a chunk of the committed
    state after step 8. The node posts its trace and answers the rounds but does not reveal the
    chunk: it loses at that move's deadline (resolve)."""
    node = world.node(DishonestNode, fault=Fault.WITHHELD_CHECKPOINT, step=1)
    auditor = _auditor(world, demand_state=True)
    node.protocol.deposit(NODE_STAKE)
    book = _books(world, node.protocol.me, auditor.protocol.me)
    task = refereed_task(world, REWARD, NODE_STAKE)
    node.protocol.claim_task(task)
    node.commit(task, 0)
    did = _audit_and_play(world, Withholding(fault_bot(node), GamePhase.CHUNK), auditor,
                          max_blocks=90)
    referee = Referee(world.protocol(REQUESTER))
    assert referee.events(did, ["EndStateDisputeOpened"])
    (timeout,) = referee.events(did, ["MoveTimedOut"])
    assert timeout.args["nodeLost"] and GamePhase(int(timeout.args["phase"])) == GamePhase.CHUNK
    view = cached_view(world.tmp / "auditor" / "referee" / str(did))
    want = demanded(view, referee.game(did))
    assert want is not None
    (shape,) = referee.events(did, ["ShapeRevealed"])
    assert int(shape.args["opIndex"]) == want.op
    assert referee.outcome(did) == Outcome.NODE_WRONG
    _node_lost(world, book, task)


def test_honest_daemon_reveals_the_demanded_chunk_and_wins_the_end_state_dispute(
        world: Any) -> None:
    """A challenger opens an end-state dispute on the real node daemon's honest segment and
    plays it with the auditor's bot, which can only demand a chunk of the committed state: the
    daemon reveals it (the same bytes as its end checkpoint holds) and wins the bond."""
    from challenger.referee import ChallengerReferee
    from ledger.movelog import MoveLog
    from materials import Materials
    from node.daemon import NodeDaemon
    from prover.trace.retrace import retrace
    from prover.trace.stateopen import open_checkpoint_element

    node, c = world.protocol(NODE), world.protocol(CHALLENGER)
    node.deposit(NODE_STAKE)
    book = _books(world, node.me, c.me)
    task = refereed_task(world, REWARD, NODE_STAKE)
    node.claim_task(task)
    daemon = NodeDaemon(node, world.client, world.tmp / "node")
    referee = Referee(c)
    try:
        world.drive([daemon], lambda: bool(world.protocol(REQUESTER).segment(task, 0).committed),
                    max_blocks=20)
        did = referee.open_end_state_dispute(task, 0)
        bond = referee.challenge_bond()
        spec = world.published.spec
        m = Materials(world.client, world.cache)
        view = retrace(spec, task, SEGMENT_STEPS, None, m.teacher_dir(spec), m.dataset_dir(spec))
        bot = ChallengerReferee(referee, MoveLog(world.tmp / "challenger" / "moves.sqlite"),
                                lambda d, g: view)
        world.drive([daemon, Moves(bot, did)], lambda: _resolved(referee, did), max_blocks=90)
        assert referee.outcome(did) == Outcome.NODE_RIGHT
        (timeout,) = referee.events(did, ["MoveTimedOut"])
        assert not timeout.args["nodeLost"]
        assert GamePhase(int(timeout.args["phase"])) == GamePhase.ELEMENT
        want = demanded(view, referee.game(did))
        assert want is not None
        (shape,) = referee.events(did, ["ShapeRevealed"])
        (revealed,) = referee.events(did, ["ChunkRevealed"])
        assert int(shape.args["opIndex"]) == want.op
        assert int(revealed.args["chunkIndex"]) == want.chunk
        ckpt = daemon.journal.segment(task, 0).checkpoint_dir
        held = open_checkpoint_element(ckpt, spec, task, want.slot, want.chunk * 256)
        assert bytes(revealed.args["chunk"]) == held.chunk
        assert not world.protocol(REQUESTER).is_jailed(node.me)
        world.drive([daemon], lambda: referee.owed(node.me) == 0, max_blocks=5)  # it claims
    finally:
        daemon.close()
    book.check(requester={"wallet": -REWARD}, node={"wallet": bond},
               challenger={"wallet": -bond})
    assert referee.total_held() == 0
