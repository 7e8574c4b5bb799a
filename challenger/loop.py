"""The run loop the auditor and the juror share."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ledger.errors import RpcUnavailableError, TransactionFailedError
from store.errors import StoreUnavailableError

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
