"""Honest nodes are never disputed; a dishonest challenger loses its bond to the node and jurors."""

from __future__ import annotations

import random
from typing import Any

import pytest

from ledger.protocol import Outcome, TaskStatus
from tests.support.actors import GriefingChallenger
from tests.support.bots import JURORS

E18 = 10**18


@pytest.mark.parametrize("accounts", [
    (2, 6),
    pytest.param((2, 6, 7, 8, 9), marks=pytest.mark.heavy),
])
def test_honest_node_audited_many_times_is_never_disputed(
    world: Any, accounts: tuple[int, ...]
) -> None:
    task_id = world.post_task(challenge_window=30)
    node = world.node()
    node.claim(task_id)
    auditors = [world.auditor(acct, rng=random.Random(acct)) for acct in accounts]
    for k in range(world.published.spec.num_segments()):
        node.commit(task_id, k)
        for a in auditors:
            a.run_once()
    for a in auditors:
        s = a.status()
        assert s["audits"] == {"ok": 2}, [dict(r) for r in a.journal.rows("SELECT * FROM audits")]
        assert s["disputes"]["open"] == 0 and s["bond_at_risk"] == 0
        reasons = [
            r["reason"] for r in a.journal.decisions("audit") if r["decision"] == "no dispute"
        ]
        assert len(reasons) == 2 and all(
            "all 8 leaves, the end state and the end checkpoint match" in r for r in reasons
        ), [dict(r) for r in a.journal.decisions()]
    p = node.protocol
    assert p.dispute_count() == 0
    world.anvil.mine(31)
    p.claim_reward(task_id)
    assert TaskStatus(int(p.task(task_id).status)) == TaskStatus.COMPLETED


def test_dishonest_challenger_loses_its_bond(world: Any) -> None:
    from challenger.keeper import Keeper

    jurors = [world.juror(i) for i in JURORS]
    task_id = world.post_task()
    node = world.node()
    node.claim(task_id)
    c = node.commit(task_id, 0)
    griefer = GriefingChallenger(world.protocol(2))
    bond = int(griefer.protocol.jury_params().challengeBond)
    fee_bps = int(griefer.protocol.jury_params().jurorFeeBps)
    before = griefer.protocol.balance()
    node_before = node.protocol.balance()
    stake_before = int(node.protocol.stake_info().staked)
    did = griefer.dispute(c, step_in_segment=2)
    keeper = Keeper(world.protocol(6), world.tmp / "keeper")
    p = griefer.protocol
    world.drive([keeper, *jurors], lambda: int(p.dispute(did).outcome) != 0)

    assert Outcome(int(p.dispute(did).outcome)) == Outcome.NODE_RIGHT
    assert p.balance() == before - bond and p.owed() == 0
    node_share = bond - bond * fee_bps // 10_000
    assert node.protocol.owed() == node_share
    node.protocol.claim_payout()
    assert node.protocol.balance() == node_before + node_share
    assert int(node.protocol.stake_info().staked) == stake_before and not node.protocol.is_jailed()
    # the majority jurors were paid (claimed by the bots) and each revealed the node's own leaf
    paid = sum(
        int(r["amount"]) for j in jurors for r in j.journal.rows("SELECT amount FROM payouts")
    )
    assert paid == bond * fee_bps // 10_000
    for j in jurors:
        v = j.journal.one("SELECT * FROM votes WHERE dispute_id = ?", did)
        assert v["status"] == "revealed" and v["leaf"] == "0x" + c.result.leaves[1].hex()
    assert TaskStatus(int(p.task(task_id).status)) == TaskStatus.CLAIMED
