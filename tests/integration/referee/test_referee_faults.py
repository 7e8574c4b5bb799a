"""Every node fault class of docs/security.md's Node table, settled by the referee game on the real
stack: a ``tests.support.actors`` node with one fault (trained with ``run_segment`` and the
fault's hooks, uploaded, committed) answers with the node bot from its re-trace of what it
trained (``tests.support.referee.fault_bot``); the real auditor audits, disputes and plays. The
node must lose, be slashed and jailed, with every party's books exact to the wei.

Two classes run by default (a lazy node, a made-up leaf); the rest are ``heavy``. A right end state
with another or no end checkpoint is no class of the referee's: the auditor attests it as a
fault and does not bet its bond on a game it would lose (last test; docs/security.md, "Referee
game").
"""

from __future__ import annotations

from typing import Any

import pytest

from ledger.protocol import Outcome
from ledger.referee import GamePhase, Referee
from tests.support.actors import E18, DishonestNode, Fault
from tests.support.referee import Moves, audit_first_segment, check_node_lost_books, fault_bot

REQUESTER, NODE, CHALLENGER = 0, 1, 2
REWARD, NODE_STAKE = 100 * E18, 1000 * E18
SEGMENT_STEPS = 8

_heavy = pytest.mark.heavy


#: (fault, step within the segment, how the game ends: the event that settles it)
CASES = [
    pytest.param(Fault.SKIPPED_STEPS, 3, "FinalStateMismatch", id="skipped_steps-3"),
    pytest.param(Fault.WRONG_LEAF_AT_STEP, 2, "MoveTimedOut", id="wrong_leaf_at_step-2"),
    pytest.param(Fault.PERTURBED_WEIGHT, 2, "FinalStateMismatch", marks=_heavy,
                 id="perturbed_weight-2"),
    pytest.param(Fault.WRONG_END_STATE, 1, "MoveTimedOut", marks=_heavy, id="wrong_end_state"),
    pytest.param(Fault.DIFFERENT_LR, 2, "StepChecked", marks=_heavy, id="different_lr-2"),
    # step 1 opens the parameter against the initial state, which holds no optimizer state yet
    # (StepGraph.nState1 tensors, not nState: issue #19)
    pytest.param(Fault.DIFFERENT_LR, 1, "StepChecked", marks=_heavy, id="different_lr-1"),
    pytest.param(Fault.SWAPPED_BATCHES, 4, "StepChecked", marks=_heavy, id="swapped_batches-4"),
]


@pytest.mark.parametrize(("fault", "step", "settled_by"), CASES)
def test_node_fault_settled_by_the_referee(world: Any, fault: Fault, step: int,
                                           settled_by: str) -> None:
    node = world.node(DishonestNode, fault=fault, step=step)
    auditor, book, task, row = audit_first_segment(world, node, REWARD, NODE_STAKE)
    did = int(row["dispute_id"])
    p = world.protocol(REQUESTER)
    referee = Referee(p)
    assert referee.game(did).step == fault.disputed_step(0, SEGMENT_STEPS, step), row["reason"]
    world.drive([Moves(fault_bot(node), did), auditor],
                lambda: referee.game(did).phase == GamePhase.RESOLVED, max_blocks=90)
    auditor.run_once()  # records the outcome, pulls the payout
    assert referee.outcome(did) == Outcome.NODE_WRONG, " ".join(
        f"{e.name}{e.args.get('phase', '')}" for e in referee.events(did))
    assert referee.events(did, [settled_by])
    if settled_by == "MoveTimedOut":  # the node had nothing it could post: its own trace
        (timeout,) = referee.events(did, ["MoveTimedOut"])
        assert timeout.args["nodeLost"]
        assert GamePhase(int(timeout.args["phase"])) == GamePhase.TRACE
    assert p.is_jailed(node.protocol.me)
    check_node_lost_books(p, book, task, REWARD)


@pytest.mark.parametrize("fault", [Fault.CHECKPOINT_MISMATCH, Fault.WITHHELD_CHECKPOINT],
                         ids=lambda f: f.value)
def test_checkpoint_fault_is_attested_not_disputed(world: Any, fault: Fault) -> None:
    """Every leaf and the committed end state are right; the end checkpoint holds another state
    (one weight moved by an ulp) or is never published. Nothing committed on chain is wrong and
    the node holds the committed state, so it would reveal every chunk a game demanded and win
    the auditor's bond (the jury said NodeWrong here; the referee judges the chain). The auditor
    replays, finds the checkpoint bad, opens no game, journals ``checkpoint-fault`` and attests
    Fault in the AuditRegistry (what consumers count); nobody's tokens move (docs/security.md:
    consumers and the next node refuse the checkpoint, the next node's release rolls the
    segment back and forfeits its pay)."""
    from challenger.auditor import Auditor
    from challenger.journal import AuditStatus
    from challenger.policy import AuditPolicy
    from ledger import audits
    from ledger.audits import AuditResult
    from tests.support.cast import Book
    from tests.support.referee import refereed_task

    node = world.node(DishonestNode, fault=fault, step=1)
    auditor = Auditor(world.protocol(CHALLENGER), world.client, world.tmp / "auditor",
                      AuditPolicy(probability=1.0), cache_dir=world.cache)
    p = world.protocol(REQUESTER)
    book = Book(p, {"requester": p.me, "node": node.protocol.me, "auditor": auditor.protocol.me})
    node.protocol.deposit(NODE_STAKE)
    # staked so its audits are attested (AuditRegistry minAuditorStake)
    auditor.protocol.deposit(int(audits.registry(p).call("minAuditorStake")))
    task = refereed_task(world, REWARD, NODE_STAKE)
    book.snap()
    node.protocol.claim_task(task)
    node.commit(task, 0)
    auditor.run_once()
    assert auditor.journal.rows("SELECT * FROM disputes") == []
    (row,) = auditor.journal.rows("SELECT * FROM audits WHERE task_id = ?", task)
    assert row["status"] == AuditStatus.CHECKPOINT_FAULT, row["reason"]
    assert "end checkpoint" in row["reason"] and "not disputed" in row["reason"]
    seg = p.segment(task, 0)
    seen = audits.segment_audits(p, task, 0, seg)
    assert [(a.auditor, a.result) for a in seen.attestations] == [
        (auditor.protocol.me, AuditResult.FAULT)]
    assert Referee(p).total_held() == 0 and not p.is_jailed(node.protocol.me)
    book.check()  # no bond posted, nothing slashed: every wallet and stake as it was
    auditor.run_once()  # audited once: nothing more happens
    assert auditor.journal.rows("SELECT * FROM disputes") == []
