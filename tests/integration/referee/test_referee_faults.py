"""Every node fault class of docs/security.md's Node table, settled by the referee game on the real
stack: a ``tests.support.actors`` node with one fault (trained with ``run_segment`` and the
fault's hooks, uploaded, committed) answers with the node bot from its re-trace of what it
trained (``tests.support.referee.fault_bot``); the real auditor audits, disputes and plays. The
node must lose, be slashed and jailed, with every party's books exact to the wei.

Two classes run by default (a lazy node, a made-up leaf); the rest are ``heavy``. A class the
referee cannot settle yet is a strict xfail that says why (docs/security.md, "Referee game").
"""

from __future__ import annotations

from typing import Any

import pytest

from ledger.protocol import Outcome
from ledger.referee import GamePhase, Referee
from tests.support.actors import E18, DishonestNode, Fault
from tests.support.referee import Moves, audit_first_segment, fault_bot

REQUESTER, NODE, CHALLENGER = 0, 1, 2
REWARD, NODE_STAKE = 100 * E18, 1000 * E18
SEGMENT_STEPS = 8

_heavy = pytest.mark.heavy


def _cannot(reason: str) -> Any:
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)


#: A right end state with another (or no) checkpoint: nothing the node committed on chain is
#: wrong, and it holds its state, so it reveals every chunk the auditor demands.
_DATA_ONLY = ("the referee judges what is committed on chain: the end state hash is right and "
              "the node holds that state, so it reveals every chunk demanded and wins; the "
              "checkpoint's CID is not bound on chain (consumers refuse it; the next node's "
              "release rolls the segment back: docs/security.md)")

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
    pytest.param(Fault.CHECKPOINT_MISMATCH, 1, "MoveTimedOut", marks=[_heavy, _cannot(_DATA_ONLY)],
                 id="checkpoint_mismatch"),
    pytest.param(Fault.WITHHELD_CHECKPOINT, 1, "MoveTimedOut", marks=[_heavy, _cannot(_DATA_ONLY)],
                 id="withheld_checkpoint"),
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
    slash = p.dispute_slash(task)
    share = slash * int(p.market_params().requesterShareBps) // 10_000
    book.check(requester={"wallet": -REWARD + share}, node={"staked": -slash},
               auditor={"wallet": slash - share})
    assert referee.total_held() == 0
