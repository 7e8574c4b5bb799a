"""Event watching that survives RPC restarts and reorgs.

``EventWatcher.poll()`` returns the new logs of the watched events, in chain order, from blocks
that are at least ``confirmations`` deep. It remembers the hash of every block it has processed
(a bounded window); when the chain under that window changes (a reorg), it rewinds to the fork
point and delivers the logs of the new branch again. Consumers must therefore be idempotent
(they are: every action they take is checked against on-chain state first). An RPC that is down
makes ``poll()`` raise RpcUnavailableError after the chain's retries; callers sleep and poll again.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from web3.exceptions import BlockNotFound

from ledger.chain import Chain, Contract

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cursor:
    """Where a watcher stands: the last processed block and its hash (persist it to resume)."""

    block: int
    block_hash: str


class EventWatcher:
    """Ordered, confirmation-deep, reorg-aware delivery of a set of events."""

    def __init__(self, chain: Chain, events: list[tuple[Contract, str]], *, start_block: int = 0,
                 confirmations: int = 0, max_range: int = 2_000, reorg_window: int = 128,
                 cursor: Cursor | None = None,
                 on_reorg: Callable[[int], None] | None = None,
                 source: Callable[[int, int], list[Any]] | None = None) -> None:
        self.chain = chain
        self.events = events
        self.confirmations = confirmations
        self.max_range = max_range
        self.reorg_window = reorg_window
        self._hashes: OrderedDict[int, str] = OrderedDict()
        self.next_block = start_block
        if cursor is not None:
            self._hashes[cursor.block] = cursor.block_hash
            self.next_block = cursor.block + 1
        self.reorgs = 0
        #: Called with the block the watcher rewound to (logs from there on come again), so
        #: consumers that keep derived state can drop what they built from the old branch.
        self.on_reorg = on_reorg
        #: Fetches the decoded logs of an inclusive block range in one go (``EventSet.logs``);
        #: None: one ``Contract.events`` query per watched event.
        self.source = source

    @property
    def cursor(self) -> Cursor | None:
        if not self._hashes:
            return None
        block = next(reversed(self._hashes))
        return Cursor(block, self._hashes[block])

    def _hash(self, number: int) -> str:
        block = self.chain.retry(lambda: self.chain.w3.eth.get_block(number), "get_block")
        return str(block["hash"].hex())

    def _check_reorg(self) -> None:
        """Rewind to the newest remembered block that is still on the canonical chain."""
        rewound = False
        while self._hashes:
            number = next(reversed(self._hashes))
            try:
                same = self._hash(number) == self._hashes[number]
            except BlockNotFound:  # the chain got shorter than this block: it changed
                same = False
            if same:
                break
            self._hashes.popitem()
            rewound = True
        if rewound:
            self.reorgs += 1
            self.next_block = ((next(reversed(self._hashes)) + 1) if self._hashes
                               else max(0, self.next_block - self.reorg_window))
            log.warning("reorg detected; re-reading from block %d", self.next_block)
            if self.on_reorg is not None:
                self.on_reorg(self.next_block)

    def poll(self) -> list[Any]:
        """New logs (decoded, in chain order) from confirmed blocks since the last poll."""
        self._check_reorg()
        head = self.chain.block_number() - self.confirmations
        logs: list[Any] = []
        while self.next_block <= head:
            to = min(head, self.next_block + self.max_range - 1)
            batch: list[Any] = [] if self.source is None else list(self.source(self.next_block, to))
            for contract, name in self.events:
                batch.extend(contract.events(name, from_block=self.next_block, to_block=to))
            batch.sort(key=lambda e: (e["blockNumber"], e["logIndex"]))
            logs.extend(batch)
            self._hashes[to] = self._hash(to)
            for number in {e["blockNumber"] for e in batch}:
                self._hashes[number] = str(e_hash(batch, number))
            self._hashes = OrderedDict(sorted(self._hashes.items())[-self.reorg_window:])
            self.next_block = to + 1
        return logs


def e_hash(batch: list[Any], number: int) -> str:
    """The block hash of block ``number`` as carried by one of its logs."""
    for e in batch:
        if e["blockNumber"] == number:
            return str(e["blockHash"].hex())
    raise KeyError(number)
