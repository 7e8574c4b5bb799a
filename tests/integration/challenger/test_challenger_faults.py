"""A dishonest node is caught at audit probability 1: the auditor disputes the right step, three
juror bots replay and out-vote the node, which is slashed and jailed; the challenger is paid and
the task reopens. A wrong leaf is disputed with its proof (openDispute); a wrong end state or end
checkpoint, and any wrong segment whose leaves file is withheld, with openEndStateDispute. The
default run checks three cases (a wrong leaf, a withheld checkpoint, a lazy node withholding its
leaves); the rest of the enum runs under ``-m heavy``."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.disputes import dispute_phase
from ledger.protocol import DisputePhase, Outcome, TaskStatus
from tests.support.actors import DishonestNode, Fault
from tests.support.bots import JURORS

E18 = 10**18

#: (fault, step, leaves withheld too)
DEFAULT = [(Fault.WRONG_LEAF_AT_STEP, 3, False), (Fault.WITHHELD_CHECKPOINT, 1, False),
           (Fault.SKIPPED_STEPS, 3, True)]
HEAVY = [(Fault.PERTURBED_WEIGHT, 5, False), (Fault.SKIPPED_STEPS, 4, False),
         (Fault.DIFFERENT_LR, 2, False),
         (Fault.SWAPPED_BATCHES, 6, False), (Fault.CHECKPOINT_MISMATCH, 1, False),
         (Fault.WRONG_LEAF_AT_STEP, 8, False), (Fault.WRONG_END_STATE, 1, False),
         (Fault.PERTURBED_WEIGHT, 8, True),
         (Fault.CHECKPOINT_MISMATCH, 1, True)]


def _id(case: tuple[Fault, int, bool]) -> str:
    return f"{case[0].value}-{case[1]}" + ("-leaves-withheld" if case[2] else "")


def catch(world: Any, fault: Fault, step: int, withhold_leaves: bool = False) -> None:
    jurors = [world.juror(i) for i in JURORS]
    task_id = world.post_task()
    node = world.node(DishonestNode, fault=fault, step=step, withhold_leaves=withhold_leaves)
    node.claim(task_id)
    node.commit(task_id, 0)
    auditor = world.auditor()
    p = auditor.protocol
    stake_before = int(p.stake_info(node.protocol.me).staked)
    balance_before = p.balance()

    auditor.run_once()  # ingest + audit + dispute
    (row,) = auditor.journal.rows("SELECT * FROM disputes")
    S = world.published.spec.segment_steps
    assert row["step"] == fault.disputed_step(0, S, step, withhold_leaves), row["reason"]
    did = int(row["dispute_id"])
    end_state = fault.end_state_disputed(withhold_leaves)
    assert (p.end_state_dispute_of(task_id, 0) == did) == end_state, row["reason"]
    world.drive([auditor, *jurors], lambda: auditor.status()["disputes"]["won"] == 1)

    d = p.dispute(did)
    assert Outcome(int(d.outcome)) == Outcome.NODE_WRONG
    params, slash = p.jury_params(), p.dispute_slash(task_id)
    assert int(p.stake_info(node.protocol.me).staked) == stake_before - slash
    assert p.is_jailed(node.protocol.me)
    task = p.task(task_id)
    assert TaskStatus(int(task.status)) == TaskStatus.OPEN and int(task.nextSegment) == 0
    # the challenger pulled its bond back (less the jurors' fee) plus its share of the adjudicator's
    # part of the slash (the requester's share went to the requester)
    to_jury = slash - slash * int(p.market_params().requesterShareBps) // 10_000
    share = to_jury * int(params.challengerShareBps) // 10_000
    fee = int(params.challengeBond) * int(params.jurorFeeBps) // 10_000
    # bond out (openDispute), bond - fee + share back
    assert p.balance() == balance_before + share - fee
    status = auditor.status()
    assert status["earnings"] == share - fee and status["bond_at_risk"] == 0
    votes = [j.journal.one("SELECT * FROM votes WHERE dispute_id = ?", did) for j in jurors]
    assert all(v["status"] == "revealed" for v in votes)
    assert len({v["leaf"] for v in votes}) == 1
    assert votes[0]["leaf"] != "0x" + bytes(d.nodeLeaf).hex()


@pytest.mark.parametrize(("fault", "step", "withhold_leaves"), DEFAULT,
                         ids=[_id(c) for c in DEFAULT])
def test_dishonest_node_is_caught(world: Any, fault: Fault, step: int,
                                  withhold_leaves: bool) -> None:
    catch(world, fault, step, withhold_leaves)


@pytest.mark.heavy
@pytest.mark.parametrize(("fault", "step", "withhold_leaves"), HEAVY, ids=[_id(c) for c in HEAVY])
def test_dishonest_node_is_caught_heavy(world: Any, fault: Fault, step: int,
                                        withhold_leaves: bool) -> None:
    catch(world, fault, step, withhold_leaves)


def test_withheld_leaves_file_of_honest_work_is_audited_from_the_chain(world: Any) -> None:
    """Honest training whose leaves file is withheld: the leaves are in SegmentCommitted (#14), so
    the auditor checks every leaf, the end state and the end checkpoint against its replay, records
    the segment as ok and opens nothing (before #14 it could only record it as unprovable)."""
    task_id = world.post_task()
    node = world.node(DishonestNode, fault=Fault.WITHHELD_LEAVES)
    node.claim(task_id)
    node.commit(task_id, 0)
    auditor = world.auditor()
    auditor.run_once()
    (row,) = auditor.journal.rows("SELECT * FROM audits")
    assert row["status"] == "ok", row["reason"]
    assert "all 8 leaves" in row["reason"], row["reason"]
    assert int(row["steps"]) == 8
    assert auditor.journal.rows("SELECT * FROM disputes") == []
    assert auditor.protocol.dispute_count() == 0


@pytest.mark.heavy
def test_end_state_dispute_judged_on_its_own_commitment_after_a_reopen(world: Any) -> None:
    """A wrong leaf mid-segment, honest end state: the auditor's leaf dispute wins and reopens the
    task (segment 0 cleared); an end-state dispute someone opened on the same commitment is drawn
    only then. Its jurors replay the commitment it is bound to (not the cleared segment) and
    reveal the node's end-state leaf: NodeRight, no second slash for one fault."""
    from challenger.keeper import Keeper

    jurors = [world.juror(i) for i in JURORS]
    task_id = world.post_task()
    node = world.node(DishonestNode, fault=Fault.WRONG_LEAF_AT_STEP, step=4)
    node.claim(task_id)
    c = node.commit(task_id, 0)
    auditor = world.auditor()
    p = auditor.protocol
    auditor.run_once()
    (row,) = auditor.journal.rows("SELECT * FROM disputes")
    leaf_did = int(row["dispute_id"])
    other = world.protocol(7)
    end_did = other.open_end_state_dispute(task_id, 0)
    assert p.end_state_dispute_of(task_id, 0) == end_did and int(p.dispute(end_did).step) == 8
    world.drive([auditor, *jurors],
                lambda: dispute_phase(p, leaf_did) == DisputePhase.RESOLVED)  # nobody draws end_did
    assert Outcome(int(p.dispute(leaf_did).outcome)) == Outcome.NODE_WRONG
    assert not p.segment(task_id, 0).committed  # reopened: segment 0 cleared
    staked = int(p.stake_info(node.protocol.me).staked)
    keeper = Keeper(world.protocol(6), world.tmp / "keeper")
    world.drive([keeper, *jurors], lambda: dispute_phase(p, end_did) == DisputePhase.RESOLVED)
    assert Outcome(int(p.dispute(end_did).outcome)) == Outcome.NODE_RIGHT
    assert int(p.stake_info(node.protocol.me).staked) == staked
    node_leaf = "0x" + bytes(p.dispute(end_did).nodeLeaf).hex()
    assert node_leaf == "0x" + c.result.leaves[-1].hex()
    for j in jurors:
        v = j.journal.one("SELECT * FROM votes WHERE dispute_id = ?", end_did)
        if v is not None:
            assert v["status"] == "revealed" and v["leaf"] == node_leaf, v["reason"]
