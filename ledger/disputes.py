"""Moving a dispute along: the one rule the node, the auditor and the keeper all follow.

``drawJury`` (once ``drawAfter`` has passed) and ``resolve`` (once the dispute is resolvable) are
public calls: whoever sends them first wins, and a later caller's transaction reverts harmlessly.
:func:`advance_dispute` makes the call that is due, if any, and reports what it did and where the
dispute stands afterwards, so each role only decides what to journal and log.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from ledger.errors import ContractRevertError
from ledger.protocol import DisputePhase, Outcome

if TYPE_CHECKING:
    from ledger.protocol import Protocol


class DisputeAction(Enum):
    """What :func:`advance_dispute` did to a dispute."""

    #: Nothing was due (jurors are voting, the draw is not due yet, or it is resolved).
    NONE = "none"
    #: ``drawJury`` was sent and mined.
    DREW_JURY = "drew-jury"
    #: ``resolve`` was sent and mined.
    RESOLVED = "resolved"
    #: The due call reverted: someone else moved the dispute first (see ``DisputeStep.skipped``).
    SKIPPED = "skipped"


@dataclass(frozen=True)
class DisputeStep:
    """One call of :func:`advance_dispute`: what it did and the dispute's state afterwards."""

    #: The dispute's id.
    dispute_id: int
    #: What was done.
    action: DisputeAction
    #: The dispute's phase after the action.
    phase: DisputePhase
    #: The dispute's outcome after the action (``Outcome.NONE`` until it is resolved).
    outcome: Outcome
    #: The revert that made the action ``SKIPPED`` (None otherwise).
    skipped: ContractRevertError | None = None

    @property
    def resolved(self) -> bool:
        """True once the dispute has an outcome."""
        return self.phase == DisputePhase.RESOLVED


def dispute_phase(protocol: Protocol, dispute_id: int) -> DisputePhase:
    """The dispute's phase as an enum."""
    return DisputePhase(int(protocol.dispute(dispute_id).phase))


def advance_dispute(protocol: Protocol, dispute_id: int, block: int | None = None) -> DisputeStep:
    """Send the call that is due on ``dispute_id`` (draw the jury or resolve), if any.

    ``block`` is the current block number (read from the chain when None); the jury can be drawn
    from block ``drawAfter`` on. A revert of the due call means another party moved the dispute
    first; it is reported as ``DisputeAction.SKIPPED``, never raised.
    """
    d = protocol.dispute(dispute_id)
    phase = DisputePhase(int(d.phase))
    now = protocol.chain.block_number() if block is None else block
    action, skipped = DisputeAction.NONE, None
    try:
        if phase == DisputePhase.AWAITING_DRAW and now >= int(d.drawAfter):
            protocol.draw_jury(dispute_id)
            action = DisputeAction.DREW_JURY
        elif phase == DisputePhase.RESOLVABLE:
            protocol.resolve(dispute_id)
            action = DisputeAction.RESOLVED
    except ContractRevertError as exc:
        action, skipped = DisputeAction.SKIPPED, exc
    if action != DisputeAction.NONE:
        d = protocol.dispute(dispute_id)
    return DisputeStep(dispute_id, action, DisputePhase(int(d.phase)), Outcome(int(d.outcome)),
                       skipped)
