"""The keeper: moves every open dispute on when its deadline passes (``drawJury``, ``resolve``).

Both calls are public; whoever calls them first wins and the others' calls revert harmlessly.
Auditors follow their own disputes; a keeper follows all of them, so a dispute whose parties
stall still ends (a juror or a requester can run one).
"""

from __future__ import annotations

import logging
from pathlib import Path

from challenger.journal import DisputeStatus, Journal
from ledger.disputes import advance_dispute
from ledger.protocol import Protocol
from ledger.watch import EventWatcher

log = logging.getLogger(__name__)


class Keeper:
    def __init__(self, protocol: Protocol, workdir: str | Path, *, confirmations: int = 0) -> None:
        self.protocol = protocol
        self.journal = Journal(Path(workdir) / "keeper.sqlite")
        self.watcher = EventWatcher(
            protocol.chain,
            [(protocol.jury, "DisputeOpened")],
            start_block=protocol.addresses.deployBlock,
            confirmations=confirmations,
            cursor=self.journal.cursor("opened"),
        )

    def run_once(self) -> None:
        for ev in self.watcher.poll():
            with self.journal.tx() as db:
                db.execute(
                    "INSERT OR IGNORE INTO disputes (dispute_id, task_id, k, step, node, bond, "
                    "status) "
                    "VALUES (?,?,?,?,?,?,?)",
                    (
                        int(ev["args"]["disputeId"]),
                        int(ev["args"]["taskId"]),
                        int(ev["args"]["k"]),
                        int(ev["args"]["step"]),
                        str(ev["args"]["node"]),
                        str(ev["args"]["bond"]),
                        DisputeStatus.OPEN,
                    ),
                )
        self.journal.save_cursor("opened", self.watcher.cursor)
        now = self.protocol.chain.block_number()
        for row in self.journal.rows(
            "SELECT dispute_id FROM disputes WHERE status = ?", DisputeStatus.OPEN
        ):
            did = int(row["dispute_id"])
            step = advance_dispute(self.protocol, did, now)
            if step.skipped is not None:
                log.info("keeper: dispute %d: %s", did, step.skipped)
            if step.resolved:
                with self.journal.tx() as db:
                    db.execute("UPDATE disputes SET status = ? WHERE dispute_id = ?",
                               (DisputeStatus.RESOLVED, did))
