"""The referee game played by the bots on the real stack (anvil, the real contracts with a market
wired to OneStepAdjudicator, the embedded store over HTTP, real tiny-preset training and
tracing): a node whose step is wrong at one GEMM element loses to the auditor bot; a griefing
challenger loses its bond to the honest node bot; a node that goes silent loses by resolve; a
restart of either bot mid-game changes nothing. Every party's books are checked to the wei."""

from __future__ import annotations

from typing import Any

import pytest

from challenger.journal import DisputeStatus
from ledger.chain import Chain
from ledger.errors import RpcUnavailableError
from ledger.protocol import Outcome
from ledger.referee import GamePhase, Referee
from prover.trace.kinds import Opcode, OpKind, RefKind
from tests.support.actors import E18
from tests.support.cast import Book
from tests.support.referee import (
    WEIGHT,
    GameDriver,
    SteppedNode,
    cached_view,
    check_node_lost_books,
    one_ulp,
    refereed_task,
)

REQUESTER, NODE, CHALLENGER = 0, 1, 2
REWARD, NODE_STAKE = 100 * E18, 1000 * E18
FAULT_STEP = 3


def _task(world: Any) -> tuple[int, Any]:
    """A task created with its step graph: the referee is its adjudicator."""
    return refereed_task(world, REWARD, NODE_STAKE), world.protocol(REQUESTER)


def _auditor(world: Any, protocol: Any = None) -> Any:
    from challenger.auditor import Auditor
    from challenger.policy import AuditPolicy

    return Auditor(protocol or world.protocol(CHALLENGER), world.client, world.tmp / "auditor",
                   AuditPolicy(probability=1.0), cache_dir=world.cache)


def _cheater(world: Any, **fault: Any) -> SteppedNode:
    """A node whose step FAULT_STEP is wrong as ``fault`` says (SteppedNode's mutations)."""
    return SteppedNode(world.protocol(NODE), world.client, world.tmp / "node", world.cache,
                       fault_step=FAULT_STEP, **fault)


def _disputed(world: Any, node: SteppedNode, auditor: Any) -> tuple[int, Any]:
    """A task the (staked) node claims and commits segment 0 of; the auditor's first pass
    audits it and opens its dispute: the task and the auditor's journal row of that dispute."""
    task, _ = _task(world)
    node.protocol.claim_task(task)
    node.commit(task, 0)
    auditor.run_once()
    (row,) = auditor.journal.rows("SELECT * FROM disputes")
    return task, row


def _resolved(referee: Referee, did: int) -> bool:
    return referee.game(did).phase == GamePhase.RESOLVED


def test_gemm_fault_loses_to_the_auditor_bot(world: Any) -> None:
    node = _cheater(world, mutate=one_ulp)
    auditor = _auditor(world)
    assert auditor.referee is not None, "the market's adjudicator is a referee"
    p = world.protocol(REQUESTER)
    book = Book(p, {"requester": p.me, "node": node.protocol.me, "auditor": auditor.protocol.me})
    node.protocol.deposit(NODE_STAKE)
    book.snap()
    task, row = _disputed(world, node, auditor)
    assert row["step"] == FAULT_STEP, row["reason"]
    did = int(row["dispute_id"])
    referee = Referee(p)
    bot = node.bot()
    # both bots restart mid-game (new processes: journals and trace caches from disk)
    world.drive([GameDriver(bot, did), auditor],
                lambda: referee.game(did).phase >= GamePhase.SHAPE, max_blocks=30)
    bot, auditor = node.bot(), _auditor(world)
    # then the RPC goes away for an iteration: each bot's call fails with the transient error
    # its loop rides out (challenger.loop.TRANSIENT, the daemon's outage backoff), sends nothing
    moved = len(bot.moves.rows(did))
    world.drive([GameDriver(bot, did), auditor],
                lambda: referee.game(did).phase >= GamePhase.CHUNK, max_blocks=30)
    down = Chain("http://127.0.0.1:9", world.anvil.accounts[NODE], retries=1, backoff=0.01,
                 timeout=1.0)
    with pytest.raises(RpcUnavailableError):
        node.bot(Referee(node.protocol.as_account(down))).play(did)
    blind = _auditor(world, node.protocol.as_account(down.with_account(
        world.anvil.accounts[CHALLENGER])))
    with pytest.raises(RpcUnavailableError):
        blind.follow_disputes()
    assert len(bot.moves.rows(did)) > moved
    world.drive([GameDriver(bot, did), auditor], lambda: _resolved(referee, did), max_blocks=60)
    assert referee.outcome(did) == Outcome.NODE_WRONG
    (checked,) = referee.events(did, ["StepChecked"])
    assert checked.args["computed"] != checked.args["claimed"]
    # found where the fault entered: the GEMM that reads the weight, at a product of it
    (named,) = referee.events(did, ["ElementNamed"])
    view = cached_view(world.tmp / "auditor" / "referee" / str(did))
    op = view.ops[int(named.args["opIndex"])]
    assert op.kind is OpKind.GEMM and any(
        s.ref.kind is RefKind.STATE and view.recorded.graph.state_names[s.ref.index] == WEIGHT
        for s in op.slots), op
    assert Opcode(int(checked.args["opcode"])) in (Opcode.MUL, Opcode.FMA)
    assert p.is_jailed(node.protocol.me)
    auditor.run_once()  # records the outcome, pulls the payout
    (row,) = auditor.journal.rows("SELECT * FROM disputes")
    assert row["status"] == DisputeStatus.WON
    check_node_lost_books(p, book, task, REWARD)
    moves = [m.name for m in bot.moves.rows(did)]
    assert moves[0] == "postTrace" and moves[-1] == "postProgram", moves
    assert len(moves) == len({m.move for m in bot.moves.rows(did)}), "a move was sent twice"


def test_silent_node_loses_by_resolve(world: Any) -> None:
    node = _cheater(world, mutate=one_ulp)
    auditor = _auditor(world)
    p = world.protocol(REQUESTER)
    node.protocol.deposit(NODE_STAKE)
    _, row = _disputed(world, node, auditor)
    did = int(row["dispute_id"])
    referee = Referee(p)
    silent = node.bot(silent_after=2)  # posts its trace and one split, then nothing
    moved = world.drive([GameDriver(silent, did), auditor], lambda: _resolved(referee, did),
                        max_blocks=80)
    assert moved > int(referee.params().moveBlocks)
    (timeout,) = referee.events(did, ["MoveTimedOut"])
    assert timeout.args["nodeLost"] and referee.outcome(did) == Outcome.NODE_WRONG
    assert p.is_jailed(node.protocol.me)


def test_state_after_not_from_its_ops_loses_by_pick_final(world: Any) -> None:
    """The node's ops are all right but the state after step 3 holds the weight one ulp off
    what AdamW computed: the auditor descends to that AdamW op and ends with pickFinal."""
    node = _cheater(world, mutate_after=one_ulp)
    auditor = _auditor(world)
    p = world.protocol(REQUESTER)
    node.protocol.deposit(NODE_STAKE)
    _, row = _disputed(world, node, auditor)
    assert row["step"] == FAULT_STEP, row["reason"]
    did = int(row["dispute_id"])
    referee = Referee(p)
    world.drive([GameDriver(node.bot(), did), auditor], lambda: _resolved(referee, did),
                max_blocks=40)
    assert referee.outcome(did) == Outcome.NODE_WRONG
    (mismatch,) = referee.events(did, ["FinalStateMismatch"])
    view = cached_view(world.tmp / "auditor" / "referee" / str(did))
    names = view.recorded.graph.state_names
    slot = int(mismatch.args["slot"])
    assert names[slot] == WEIGHT
    assert view.ops[int(mismatch.args["opIndex"])].kind is OpKind.ADAMW_P
    assert not referee.events(did, ["ShapeRevealed"])  # settled in the op rounds
    assert p.is_jailed(node.protocol.me)


def test_griefing_challenger_loses_its_bond_to_the_honest_node_daemon(world: Any) -> None:
    """The real node daemon trains and commits; a griefer disputes its right leaf 3 and plays
    every move towards a GEMM of its choice; the daemon answers each move from its re-trace."""
    from node.daemon import NodeDaemon
    from prover import merkle
    from prover.trace.kinds import MapLevel, OpKind, RefKind
    from prover.trace.retrace import retrace
    from tests.support.referee import griefer

    node, g, p = world.protocol(NODE), world.protocol(CHALLENGER), world.protocol(REQUESTER)
    node.deposit(NODE_STAKE)
    book = Book(p, {"requester": p.me, "node": node.me, "griefer": g.me})
    book.snap()
    task, _ = _task(world)
    node.claim_task(task)
    daemon = NodeDaemon(node, world.client, world.tmp / "node")
    try:
        assert daemon.referee is not None
        world.drive([daemon], lambda: bool(p.segment(task, 0).committed), max_blocks=20)
        doc = merkle.read_leaves_file(daemon.journal.segment(task, 0).leaves_file)
        leaves = merkle.leaves_for(task, 0, doc["stateHashes"])
        referee = Referee(g)
        bond = referee.challenge_bond()
        did = referee.open_dispute(task, 0, FAULT_STEP, leaves[FAULT_STEP - 1],
                                   merkle.proof(leaves, FAULT_STEP - 1))
        spec = world.published.spec
        from materials import Materials

        m = Materials(world.client, world.cache)
        view = retrace(spec, task, FAULT_STEP, None, m.teacher_dir(spec), m.dataset_dir(spec))
        checkable = {RefKind.STATE, RefKind.OP, RefKind.CONST}
        target = next(op.index for op in view.ops if op.kind is OpKind.GEMM and all(
            s.ref.kind in checkable and all(lv.kind is MapLevel.STRIDED for lv in s.levels)
            for s in op.slots))
        bad = griefer(g, world.tmp / "griefer", lambda d, gv: view, target)
        world.drive([daemon, GameDriver(bad, did)],
                    lambda: referee.game(did).phase >= GamePhase.CHUNK_SPLIT, max_blocks=30)
        daemon.close()  # the daemon restarts mid-game: its journal and trace cache are on disk
        daemon = NodeDaemon(node, world.client, world.tmp / "node")
        world.drive([daemon, GameDriver(bad, did)], lambda: _resolved(referee, did), max_blocks=60)
        sent = daemon.referee.moves.rows(did) if daemon.referee is not None else []
        assert len({m.move for m in sent}) == len(sent) and sent[-1].name == "postProgram"
        assert referee.outcome(did) == Outcome.NODE_RIGHT
        (checked,) = referee.events(did, ["StepChecked"])
        assert checked.args["computed"] == checked.args["claimed"]
        assert not p.is_jailed(node.me)
        world.drive([daemon], lambda: referee.owed(node.me) == 0, max_blocks=5)  # it claims
    finally:
        daemon.close()
    book.check(requester={"wallet": -REWARD}, node={"wallet": bond}, griefer={"wallet": -bond})
    assert referee.total_held() == 0
