"""Deploy the real contracts with the shared deployer and walk one task through the facade."""

from __future__ import annotations

import pytest

from ledger.errors import revert_error
from ledger.protocol import TaskStatus
from prover import merkle

E18 = 10**18


def test_deploy_wires_everything(protocol, deployed_addresses):
    p = protocol(0)
    assert p.stake.call("isAuthorised", deployed_addresses.taskMarket)
    assert p.stake.call("isAuthorised", deployed_addresses.adjudicator)
    assert p.stake.call("isAuthorised", deployed_addresses.referee)
    assert p.market.call("jury") == deployed_addresses.adjudicator
    assert p.market.call("referee") == deployed_addresses.referee
    assert p.referee.call("market") == deployed_addresses.taskMarket
    assert deployed_addresses.stepGraphByDefault is True  # the referee for tasks that can have it
    assert p.jury_params().jurySize == 3


def test_tasks_go_to_the_adjudicator_fixed_at_creation(protocol):
    """A task without a step graph is the jury's; the referee has no graph for it."""
    p = protocol(1)
    task = p.create_task("bafyspec", b"\x11" * 32, 10**18, total_steps=16, segment_steps=8,
                         challenge_window=40, segment_deadline=200, node_stake=10**18)
    assert p.adjudicator_of(task) == p.addresses.adjudicator and not p.is_refereed(task)
    assert bytes(p.step_graph(task).graphRoot) == b"\x00" * 32


def test_task_round_trip_and_named_revert(protocol, anvil):
    requester, node = protocol(1), protocol(2)
    task_id = requester.create_task(
        "bafy-spec",
        b"\x11" * 32,
        50 * E18,
        total_steps=16,
        segment_steps=8,
        challenge_window=5,
        segment_deadline=100,
        node_stake=1000 * E18,
    )
    assert requester.task(task_id).status == TaskStatus.OPEN
    node.deposit(2000 * E18)
    node.claim_task(task_id)
    assert node.task(task_id).node == node.me
    with pytest.raises(revert_error("SegmentOutOfOrder")) as info:
        node.commit_segment(task_id, 1, b"\x01" * 32, b"\x02" * 32, "cid", "leaves", leaves=[])
    assert info.value.error_args["k"] == 1 and info.value.error_args["expected"] == 0
    for k in range(2):
        ls = merkle.leaves_for(task_id, 8 * k, [bytes([k + 1]) * 32] * 8)
        node.commit_segment(task_id, k, merkle.trace_root(ls), bytes([k + 9]) * 32, f"ckpt{k}",
                            f"leaves{k}", leaves=ls)
    anvil.mine(6)
    assert node.is_final(task_id, 1)
    before = node.balance()
    node.claim_reward(task_id)
    assert node.balance() - before == 50 * E18
    assert node.task(task_id).status == TaskStatus.COMPLETED
