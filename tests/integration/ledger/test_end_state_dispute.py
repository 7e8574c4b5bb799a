"""openEndStateDispute against a real anvil: a node that withholds its leaves is still disputable.

The challenger gives only (task, segment); the contract computes the node's claim from the committed
endStateHash (leaf of step (k+1)*S, PROTOCOL.md encoding) and the jury replays the segment.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_hash.auto import keccak

from ledger.errors import revert_error
from ledger.protocol import DisputePhase, Outcome, TaskStatus
from prover import merkle

E18 = 10**18
SEG, TOTAL, WINDOW = 8, 16, 40
NODE_STAKE = 1000 * E18
REQUESTER, NODE, CHALLENGER, OTHER = 1, 2, 3, 4
JURORS = (6, 7, 8)


def state(task: int, t: int, wrong_from: int = 0) -> bytes:
    """State hash after step t of a trace that diverges from step ``wrong_from`` on (0: honest)."""
    tag = b"divergent" if wrong_from and t >= wrong_from else b"honest"
    return keccak(tag + task.to_bytes(32, "big") + t.to_bytes(32, "big"))


def leaves(task: int, k: int, wrong_from: int = 0) -> list[bytes]:
    return [
        merkle.leaf(task, t, state(task, t, wrong_from))
        for t in range(k * SEG + 1, (k + 1) * SEG + 1)
    ]


def setup_segment(protocol: Any, wrong_from: int) -> tuple[Any, int]:
    """A claimed task whose node committed segment 0 (its leaves file is never published)."""
    for j in JURORS:
        protocol(j).deposit(100 * E18)
        protocol(j).opt_in_juror()
    node = protocol(NODE)
    node.deposit(2 * NODE_STAKE)
    task = protocol(REQUESTER).create_task(
        "bafy-spec",
        b"\x11" * 32,
        50 * E18,
        total_steps=TOTAL,
        segment_steps=SEG,
        challenge_window=WINDOW,
        segment_deadline=200,
        node_stake=NODE_STAKE,
    )
    node.claim_task(task)
    ls = leaves(task, 0, wrong_from)
    node.commit_segment(task, 0, merkle.trace_root(ls), state(task, SEG, wrong_from),
                        "bafy-ckpt", "bafy-leaves-withheld", leaves=ls)
    return node, task


def run_jury(protocol: Any, anvil: Any, d: int, leaf: bytes) -> Outcome:
    """Draw; every drawn juror commits, then reveals, ``leaf``; resolve."""
    p = protocol(CHALLENGER)
    anvil.mine(int(p.jury_params().drawDelay))
    p.draw_jury(d)
    drawn = p.jurors(d)
    by_addr = {protocol(j).me: protocol(j) for j in JURORS}
    salt = b"\x07" * 32
    for a in drawn:
        by_addr[a].commit_vote(d, by_addr[a].vote_commitment(d, leaf, salt))
    for a in drawn:
        by_addr[a].reveal_vote(d, leaf, salt)
    p.resolve(d)
    return Outcome(p.dispute(d).outcome)


def test_withheld_leaves_wrong_end_state_is_slashed(protocol: Any, anvil: Any) -> None:
    node, task = setup_segment(protocol, wrong_from=3)
    challenger = protocol(CHALLENGER)
    before = challenger.balance()
    d = challenger.open_end_state_dispute(task, 0)
    assert challenger.balance() == before - challenger.jury.call("challengeBond")
    view = challenger.dispute(d)
    assert view.step == SEG
    assert view.nodeLeaf == merkle.leaf(task, SEG, state(task, SEG, 3)), (
        "claim computed from endStateHash"
    )
    assert view.phase == DisputePhase.AWAITING_DRAW
    assert challenger.end_state_dispute_of(task, 0) == d
    (ev,) = challenger.jury.events("EndStateDisputeOpened", from_block=0, to_block="latest")
    assert ev["args"]["disputeId"] == d and ev["args"]["endStateHash"] == state(task, SEG, 3)

    # Jurors replay the segment and reveal the honest leaf of its last step.
    assert (
        run_jury(protocol, anvil, d, merkle.leaf(task, SEG, state(task, SEG))) == Outcome.NODE_WRONG
    )
    assert node.is_jailed()
    assert node.task(task).status == TaskStatus.OPEN
    assert challenger.owed() > int(challenger.jury.call("challengeBond"))


def test_honest_end_state_wins_and_second_open_is_refused(protocol: Any, anvil: Any) -> None:
    node, task = setup_segment(protocol, wrong_from=0)
    d = protocol(CHALLENGER).open_end_state_dispute(task, 0)
    with pytest.raises(revert_error("EndStateDisputeOpen")) as info:
        protocol(OTHER).open_end_state_dispute(task, 0)
    assert info.value.error_args["disputeId"] == d
    with pytest.raises(revert_error("ChallengerIsNode")):
        node.open_end_state_dispute(task, 0)
    assert (
        run_jury(protocol, anvil, d, merkle.leaf(task, SEG, state(task, SEG))) == Outcome.NODE_RIGHT
    )
    assert not node.is_jailed()
    assert protocol(CHALLENGER).owed() == 0
    anvil.mine(WINDOW + 1)
    assert node.is_final(task, 0)
    with pytest.raises(revert_error("ChallengeWindowClosed")):
        protocol(OTHER).open_end_state_dispute(task, 0)
