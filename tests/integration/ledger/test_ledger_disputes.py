"""ledger.disputes.advance_dispute on a real anvil: it draws when due, resolves when due, does
nothing in between, and reports a call someone else made first as SKIPPED (never raises)."""

from __future__ import annotations

from typing import Any

from ledger.disputes import DisputeAction, advance_dispute, dispute_phase
from ledger.protocol import DisputePhase, Outcome
from prover import merkle
from tests.integration.ledger.test_end_state_dispute import (
    CHALLENGER,
    JURORS,
    OTHER,
    SEG,
    setup_segment,
    state,
)


def _vote_honestly(protocol: Any, task: int, d: int) -> None:
    """Every drawn juror commits, then reveals, the honest end-state leaf."""
    honest = merkle.leaf(task, SEG, state(task, SEG))
    by_addr = {protocol(j).me: protocol(j) for j in JURORS}
    salt = b"\x05" * 32
    drawn = protocol(OTHER).jurors(d)
    for a in drawn:
        by_addr[a].commit_vote(d, by_addr[a].vote_commitment(d, honest, salt))
    for a in drawn:
        by_addr[a].reveal_vote(d, honest, salt)


def test_advance_dispute_moves_a_dispute_from_draw_to_resolved(protocol: Any, anvil: Any) -> None:
    _, task = setup_segment(protocol, wrong_from=3)
    challenger, keeper = protocol(CHALLENGER), protocol(OTHER)
    d = challenger.open_end_state_dispute(task, 0)
    early = advance_dispute(keeper, d)
    assert (early.action, early.phase, early.outcome) == (DisputeAction.NONE,
                                                          DisputePhase.AWAITING_DRAW, Outcome.NONE)
    anvil.mine(int(keeper.jury_params().drawDelay))
    drawn = advance_dispute(keeper, d)
    assert (drawn.action, drawn.phase, drawn.resolved) == (DisputeAction.DREW_JURY,
                                                           DisputePhase.COMMIT, False)
    assert advance_dispute(keeper, d).action == DisputeAction.NONE  # jurors are voting
    _vote_honestly(protocol, task, d)
    assert dispute_phase(keeper, d) == DisputePhase.RESOLVABLE
    done = advance_dispute(keeper, d)
    assert (done.action, done.phase, done.outcome, done.resolved) == (
        DisputeAction.RESOLVED, DisputePhase.RESOLVED, Outcome.NODE_WRONG, True)
    assert done.skipped is None


def test_advance_dispute_after_another_party_moved_it_does_nothing(protocol: Any,
                                                                   anvil: Any) -> None:
    """The node, the auditor and the keeper all follow the same dispute: whoever is second
    finds nothing due and only learns where the dispute stands."""
    _, task = setup_segment(protocol, wrong_from=3)
    challenger, keeper = protocol(CHALLENGER), protocol(OTHER)
    d = challenger.open_end_state_dispute(task, 0)
    anvil.mine(int(keeper.jury_params().drawDelay))
    assert advance_dispute(challenger, d).action == DisputeAction.DREW_JURY
    second = advance_dispute(keeper, d)
    assert (second.action, second.phase, second.skipped) == (DisputeAction.NONE,
                                                             DisputePhase.COMMIT, None)
    _vote_honestly(protocol, task, d)
    assert advance_dispute(challenger, d).action == DisputeAction.RESOLVED
    late = advance_dispute(keeper, d)
    assert (late.action, late.resolved, late.outcome) == (DisputeAction.NONE, True,
                                                          Outcome.NODE_WRONG)
