"""#15, the findings where the bots matter, on the real contracts (anvil) with exact books.

Each test plays the exploit as a rational adversary would and checks that it fails: the named
revert, or every party's position to the wei (``Book.check``), the treasury included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.errors import revert_error
from ledger.protocol import DisputePhase, Outcome, TaskStatus
from prover import merkle
from tests.adversarial.test_adv_contracts import BOND, JURORS_WIN, SLASH, TO_REQUESTER, WIN
from tests.support.cast import (
    DEADLINE,
    NODE_DEPOSIT,
    NODE_STAKE,
    REWARD,
    SEG,
    TOTAL,
    WINDOW,
    Cast,
    honest_hash,
)

STALL = NODE_STAKE * 1000 // 10_000


def _wrong_segment(w: Cast) -> tuple[int, list[bytes]]:
    task = w.post()
    w.node.claim_task(task)
    return task, w.commit(w.node, task, 0, wrong_from=3)


def test_starved_jury_ends_void_and_the_keeper_resolves_it(world: Cast, tmp_path: Path) -> None:
    """Finding 1: with every juror out of the pool no quorum can be drawn. The keeper's draw is
    refused (QuorumUnavailable) and, once the draw window is over, its resolve ends the dispute
    Void: the cheater's segment is not final, it earns nothing, the challenger's bond comes back."""
    from challenger.keeper import Keeper

    w = world
    for j in w.jurors:
        j.opt_out_juror()
    w.book.snap()
    task, leaves = _wrong_segment(w)
    d = w.dispute(w.challenger, task, 0, 3, leaves)
    keeper = Keeper(w.node2, tmp_path / "keeper")
    w.anvil.mine(int(w.params.drawDelay))
    with pytest.raises(revert_error("QuorumUnavailable")) as info:
        w.deployer.draw_jury(d)
    assert info.value.error_args["available"] == 0
    keeper.run_once()  # the same refusal, logged; the keeper carries on
    assert DisputePhase(int(w.deployer.dispute(d).phase)) == DisputePhase.AWAITING_DRAW
    w.mine_past(int(w.deployer.dispute(d).drawAfter) + int(w.params.drawExpiry))
    assert DisputePhase(int(w.deployer.dispute(d).phase)) == DisputePhase.RESOLVABLE
    keeper.run_once()
    assert Outcome(int(w.deployer.dispute(d).outcome)) == Outcome.VOID
    t = w.node.task(task)
    assert TaskStatus(int(t.status)) == TaskStatus.OPEN and int(t.nextSegment) == 0
    assert not w.node.is_final(task, 0)
    w.book.check(requester={"wallet": -REWARD}, challenger={"wallet": -BOND, "owed": BOND})
    w.requester.cancel_task(task)
    w.book.check(challenger={"wallet": -BOND, "owed": BOND})


def test_stall_with_an_open_dispute_keeps_the_slash_locked(world: Cast) -> None:
    """Finding 6: the cheater stalls while disputed and asks to withdraw everything free. The
    stall keeps the dispute's slash locked; the jury then takes it in full."""
    w = world
    w.book.snap()
    task, leaves = _wrong_segment(w)
    d = w.dispute(w.challenger, task, 0, 3, leaves)
    w.mine_past(int(w.node.task(task).segmentDueBlock))
    w.node2.timeout_stall(task)
    assert int(w.node.stake_info().locked) == SLASH
    free = int(w.node.stake_info().staked) - int(w.node.stake_info().locked)
    w.node.request_withdrawal(free)
    honest = merkle.leaf(task, 3, honest_hash(task, 3))
    drawn = w.run_jury(d, lambda i, a: honest)
    assert Outcome(int(w.deployer.dispute(d).outcome)) == Outcome.NODE_WRONG
    names = {j.me: f"juror{i}" for i, j in enumerate(w.jurors)}
    per = JURORS_WIN // len(drawn)
    exp: dict[str, dict[str, int]] = {names[a]: {"owed": per} for a in drawn}
    exp[names[drawn[0]]]["owed"] += JURORS_WIN - per * len(drawn)
    w.book.check(node={"staked": -NODE_DEPOSIT, "pending": NODE_DEPOSIT - STALL - SLASH},
                 requester={"wallet": -REWARD + TO_REQUESTER}, treasury={"wallet": STALL},
                 challenger={"wallet": -BOND, "owed": WIN}, **exp)
    assert int(w.node.stake_info().locked) == 0


def test_cancel_after_partial_progress_pays_the_final_prefix(world: Cast) -> None:
    """Finding 9: after a stall reopens the task at segment 1, the requester cancels: the node is
    paid for its final segment, the rest of the reward comes back."""
    w = world
    w.book.snap()
    task = w.post()
    w.node.claim_task(task)
    w.commit(w.node, task, 0)
    w.anvil.mine(WINDOW + 1)
    w.mine_past(int(w.node.task(task).segmentDueBlock))
    w.node2.timeout_stall(task)
    assert int(w.node.task(task).nextSegment) == 1
    w.requester.cancel_task(task)
    per_segment = REWARD // (TOTAL // SEG)
    w.book.check(requester={"wallet": -REWARD + (REWARD - per_segment)}, treasury={"wallet": STALL},
                 node={"staked": -STALL, "wallet": per_segment})
    assert DEADLINE > WINDOW  # the segment was final before the stall


def test_deployment_refuses_parameters_out_of_bounds(anvil_node: Any) -> None:
    """The deployment names the parameter it refuses (here a quorum below a strict majority)."""
    from deploy.deployer import DeployConfig, JuryConfig, deploy_all
    from ledger.chain import Chain

    snap = anvil_node.rpc("evm_snapshot")
    try:
        with pytest.raises(revert_error("ParamOutOfBounds")) as info:
            deploy_all(Chain(anvil_node.url, anvil_node.accounts[0]),
                       DeployConfig(jury=JuryConfig(quorum=1)))
        assert info.value.error_args["name"] == "quorum"
        assert (info.value.error_args["min"], info.value.error_args["max"]) == (2, 3)
    finally:
        anvil_node.rpc("evm_revert", snap)
