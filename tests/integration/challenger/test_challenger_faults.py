"""A dishonest node is caught at audit probability 1: the auditor disputes the right step, three
juror bots replay and out-vote the node, which is slashed and jailed; the challenger is paid and
the task reopens. The default run checks two faults (a wrong leaf, withheld data); the full enum
runs under ``-m heavy``."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.protocol import Outcome, TaskStatus
from tests.integration.challenger.conftest import JURORS
from tests.support.actors import DishonestNode, Fault

E18 = 10**18

DEFAULT = [(Fault.WRONG_LEAF_AT_STEP, 3), (Fault.WITHHELD_CHECKPOINT, 1)]
HEAVY = [(Fault.PERTURBED_WEIGHT, 5), (Fault.SKIPPED_STEPS, 4), (Fault.DIFFERENT_LR, 2), (Fault.SWAPPED_BATCHES, 6),
         (Fault.CHECKPOINT_MISMATCH, 1), (Fault.WRONG_LEAF_AT_STEP, 8)]


def catch(world: Any, fault: Fault, step: int) -> None:
    jurors = [world.juror(i) for i in JURORS]
    task_id = world.post_task()
    node = world.node(DishonestNode, fault=fault, step=step)
    node.claim(task_id)
    node.commit(task_id, 0)
    auditor = world.auditor()
    p = auditor.protocol
    stake_before = int(p.stake_info(node.protocol.me).staked)
    balance_before = p.balance()

    auditor.run_once()  # ingest + audit + dispute
    (row,) = auditor.journal.rows("SELECT * FROM disputes")
    S = world.published.spec.segment_steps
    assert row["step"] == fault.disputed_step(0, S, step), row["reason"]
    did = int(row["dispute_id"])
    world.drive([auditor, *jurors], lambda: auditor.status()["disputes"]["won"] == 1)

    d = p.dispute(did)
    assert Outcome(int(d.outcome)) == Outcome.NODE_WRONG
    params = p.jury_params()
    assert int(p.stake_info(node.protocol.me).staked) == stake_before - int(params.slashAmount)
    assert p.is_jailed(node.protocol.me)
    task = p.task(task_id)
    assert TaskStatus(int(task.status)) == TaskStatus.OPEN and int(task.nextSegment) == 0
    # the challenger pulled its bond back plus its share of the slash
    share = int(params.slashAmount) * int(params.challengerShareBps) // 10_000
    assert p.balance() == balance_before + share  # bond out (openDispute), bond + share back
    status = auditor.status()
    assert status["earnings"] == share and status["bond_at_risk"] == 0
    votes = [j.journal.one("SELECT * FROM votes WHERE dispute_id = ?", did) for j in jurors]
    assert all(v["status"] == "revealed" for v in votes)
    assert len({v["leaf"] for v in votes}) == 1 and votes[0]["leaf"] != "0x" + bytes(d.nodeLeaf).hex()


@pytest.mark.parametrize(("fault", "step"), DEFAULT, ids=[f.value for f, _ in DEFAULT])
def test_dishonest_node_is_caught(world: Any, fault: Fault, step: int) -> None:
    catch(world, fault, step)


@pytest.mark.heavy
@pytest.mark.parametrize(("fault", "step"), HEAVY, ids=[f"{f.value}-{s}" for f, s in HEAVY])
def test_dishonest_node_is_caught_heavy(world: Any, fault: Fault, step: int) -> None:
    catch(world, fault, step)


def test_withheld_leaves_file_is_recorded_unprovable_not_disputed(world: Any) -> None:
    """Without the leaves file no leaf can be proven against traceRoot (v1 limit): the auditor
    records the segment as unprovable, with the reason, and opens nothing."""
    task_id = world.post_task()
    node = world.node(DishonestNode, fault=Fault.WITHHELD_LEAVES)
    node.claim(task_id)
    node.commit(task_id, 0)
    auditor = world.auditor()
    auditor.run_once()
    (row,) = auditor.journal.rows("SELECT * FROM audits")
    assert row["status"] == "unprovable" and "leaves" in row["reason"]
    assert auditor.journal.rows("SELECT * FROM disputes") == [] and auditor.protocol.dispute_count() == 0
    assert auditor.journal.decisions("audit")[-1]["decision"] == "no dispute (unprovable)"
