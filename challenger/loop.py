"""What the auditor and the juror share: the run loop and claiming payouts."""

from __future__ import annotations

import logging
import threading
import time
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ledger.errors import RpcUnavailableError, TransactionFailedError
from store.errors import StoreUnavailableError

if TYPE_CHECKING:
    from challenger.journal import Journal

log = logging.getLogger(__name__)

#: Errors that end one iteration but not the bot: the chain or IPFS is away, or a transaction
#: got lost. The next iteration re-derives everything from the chain and the journal.
TRANSIENT = (RpcUnavailableError, StoreUnavailableError, TransactionFailedError)


def run_until(stop: threading.Event, step: Callable[[], object], poll_s: float, name: str) -> None:
    """Call ``step`` every ``poll_s`` seconds until ``stop`` is set, riding out transient errors."""
    while not stop.is_set():
        try:
            step()
        except TRANSIENT as exc:
            log.warning("%s: %s; retrying", name, exc)
        stop.wait(poll_s)


class Payer(typing.Protocol):
    """An adjudicator seen by one account (``ledger.protocol.Protocol`` for the jury,
    ``ledger.referee.Referee`` for the referee)."""

    def owed(self, who: str | None = None) -> int: ...

    def claim_payout(self) -> Any: ...


def claim_payouts(protocol: Payer, journal: Journal) -> int:
    """Pull what the adjudicator owes this account and journal it; the amount (0 if nothing)."""
    owed = protocol.owed()
    if owed == 0:
        return 0
    protocol.claim_payout()
    with journal.tx() as db:
        db.execute("INSERT INTO payouts (amount, at) VALUES (?, ?)", (str(owed), time.time()))
    return owed
