"""The juror: opt in with stake, replay the disputed segment up to the disputed step when drawn,
commit the leaf it computed, reveal it in the reveal phase.

Durability: the vote (leaf and salt) is written to the SQLite journal and fsynced *before* the
commit transaction is sent, so a juror killed at any point reveals the same vote when it runs
again inside the reveal window. Reveals come first in every iteration (they are cheap), so a
running juror does not miss one while it replays for another dispute.

Leaf rule (PROTOCOL.md): the leaf of the disputed step from our own replay; ``bytes32(0)`` when
the data needed to replay (spec, teacher, dataset, segment-start checkpoint) cannot be fetched or
is not what the chain committed. A dispute on a segment's last step also checks the segment's end
checkpoint: if it cannot be fetched or does not hold the replayed end state, the vote is
``bytes32(0)`` (the node's commitment includes a usable end state; docs/challenger.md).

End-state disputes (``openEndStateDispute``) need nothing else: the dispute view carries step
(k+1)*S and the node leaf the contract computed from the committed ``endStateHash``, so the replay
of the whole segment and the end-checkpoint check above give the right vote (the leaf of the
replayed end state, or 0). Nothing in the view but ``EndStateDisputeOpened`` tells them apart.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from challenger.budget import ReplayBudget, check_can_serve
from challenger.errors import DataUnavailableError
from challenger.journal import Journal, VoteStatus
from challenger.loop import claim_payouts, run_until
from challenger.segdata import SegmentData
from ledger.errors import ContractRevertError
from ledger.protocol import DisputePhase, Protocol
from ledger.watch import EventWatcher
from materials import Materials
from prover import merkle
from store.client import Client

log = logging.getLogger(__name__)

ZERO = merkle.ZERO32


class Juror:
    """One juror account on one deployment."""

    def __init__(self, protocol: Protocol, store_client: Client, workdir: str | Path, *,
                 stake: int | None = None, confirmations: int = 0, start_block: int | None = None,
                 salt: Callable[[], bytes] = lambda: secrets.token_bytes(32),
                 cache_dir: str | Path | None = None, budget: ReplayBudget | None = None) -> None:
        self.protocol = protocol
        #: How fast this machine replays (None: unknown, every draw is attempted).
        self.budget = budget
        self.workdir = Path(workdir)
        self.stake = stake
        self.salt = salt
        self.journal = Journal(self.workdir / "juror.sqlite")
        self.data = SegmentData(protocol, Materials(store_client,
                                                    Path(cache_dir or self.workdir / "cache")))
        start = protocol.addresses.deployBlock if start_block is None else start_block
        self.watcher = EventWatcher(protocol.chain, [(protocol.jury, "JuryDrawn")],
                                    start_block=start,
                                    confirmations=confirmations,
                                    cursor=self.journal.cursor("draws"))

    def close(self) -> None:
        self.journal.close()

    # ---- opt in --------------------------------------------------------------------------
    def opt_in(self) -> None:
        """Deposit up to ``stake`` (default: 10 juror penalties, at least the pool's minimum) and
        join the juror pool. With a replay budget, refuse (ReplayBudgetError) when the market's
        largest segment cannot be replayed within the commit window a dispute on it gets."""
        jury = self.protocol.jury_params()
        if self.budget is not None:
            why = check_can_serve(self.budget, jury,
                                  int(self.protocol.market_params().maxSegmentSteps))
            self.journal.decide("juror", "budget ok", why)
        penalty = int(jury.jurorPenalty)
        want = max(self.stake if self.stake is not None else 10 * penalty,
                   self.protocol.min_juror_stake())
        info = self.protocol.stake_info()
        free = int(info.staked) - int(info.locked)
        if free < want:
            self.protocol.deposit(want - free)
        if not info.juror:
            self.protocol.opt_in_juror()
        self.journal.decide("juror", "opted in", f"stake {max(free, want)} wei")

    # ---- loop ----------------------------------------------------------------------------
    def run_once(self) -> None:
        """One iteration: reveals due, new draws, commits due, payouts."""
        self.reveal_due()
        self.ingest()
        self.commit_due()
        self.claim_payouts()

    def run(self, stop: threading.Event, poll_s: float = 1.0) -> None:
        run_until(stop, self.run_once, poll_s, "juror")

    def _set(self, did: int, rnd: int, status: VoteStatus, reason: str, **extra: Any) -> None:
        cols = "".join(f", {key} = ?" for key in extra)
        with self.journal.tx() as db:
            db.execute(f"UPDATE votes SET status = ?, reason = ?, updated = ?{cols} WHERE "
                       "dispute_id = ? AND round = ?",
                       (status, reason, time.time(), *extra.values(), did, rnd))
        self.journal.decide("vote", status, reason, dispute_id=did)
        log.info("juror dispute %d round %d: %s (%s)", did, rnd, status, reason)

    def ingest(self) -> None:
        me = self.protocol.me.lower()
        for ev in self.watcher.poll():
            a = ev["args"]
            if me not in {str(j).lower() for j in a["jurors"]}:
                continue
            with self.journal.tx() as db:
                db.execute("INSERT OR IGNORE INTO votes (dispute_id, round, status, "
                           "reason, commit_deadline, reveal_deadline, updated) "
                           "VALUES (?,?,?,?,?,?,?)",
                           (int(a["disputeId"]), int(a["round"]), VoteStatus.DRAWN, "drawn",
                            int(a["commitDeadline"]),
                            int(a["revealDeadline"]), time.time()))
        self.journal.save_cursor("draws", self.watcher.cursor)

    # ---- commit --------------------------------------------------------------------------
    def commit_due(self) -> None:
        for row in self.journal.rows("SELECT * FROM votes WHERE status IN (?, ?) ORDER BY "
                                     "dispute_id", VoteStatus.DRAWN, VoteStatus.PREPARED):
            did, rnd = int(row["dispute_id"]), int(row["round"])
            d = self.protocol.dispute(did)
            if (int(d.round) != rnd
                    or self.protocol.chain.block_number() > int(row["commit_deadline"])):
                self._set(did, rnd, VoteStatus.MISSED, "commit window over before we committed")
                continue
            if row["status"] == VoteStatus.DRAWN:
                fits, why = self._fits_budget(d, int(row["commit_deadline"]))
                if not fits:
                    self._set(did, rnd, VoteStatus.REFUSED, f"replay budget: {why}")
                    continue
                leaf, reason = self.compute_leaf(did)
                if leaf is None:
                    self._set(did, rnd, VoteStatus.REFUSED, reason)
                    continue
                # durable BEFORE the transaction: a restart reveals exactly this vote
                salt = self.salt()
                self._set(did, rnd, VoteStatus.PREPARED, reason, leaf=merkle.hex32(leaf),
                          salt=salt.hex())
            else:  # prepared before a restart: the journalled vote, never a new one
                leaf, salt = bytes.fromhex(row["leaf"][2:]), bytes.fromhex(row["salt"])
            self._send_commit(did, rnd, leaf, salt)

    def _fits_budget(self, d: Any, commit_deadline: int) -> tuple[bool, str]:
        """Whether the replay of this dispute (segment start to the disputed step) can finish
        before ``commit_deadline``; always True without a budget."""
        if self.budget is None:
            return True, "no budget set"
        S = int(self.protocol.task(int(d.taskId)).params.segmentSteps)
        steps = int(d.step) - int(d.segment) * S
        return self.budget.fits(steps, commit_deadline - self.protocol.chain.block_number())

    def _send_commit(self, did: int, rnd: int, leaf: bytes, salt: bytes) -> None:
        if self.protocol.vote(did).committed:  # sent before a restart
            self._set(did, rnd, VoteStatus.COMMITTED, "commit found on chain")
            return
        commitment = self.protocol.vote_commitment(did, leaf, salt)
        try:
            self.protocol.commit_vote(did, commitment)
        except ContractRevertError as exc:
            self._set(did, rnd, VoteStatus.MISSED, f"commitVote reverted: {exc}")
            return
        self._set(did, rnd, VoteStatus.COMMITTED, f"committed leaf {merkle.hex32(leaf)}")

    def compute_leaf(self, did: int) -> tuple[bytes | None, str]:
        """The leaf of the disputed step by our own replay, 0 if the data is unavailable, None
        if this process cannot replay the task (other determinism profile: stay out)."""
        from prover import profile
        from prover.errors import CheckpointError
        from prover.segment import replay

        d = self.protocol.dispute(did)
        task_id, k, step = int(d.taskId), int(d.segment), int(d.step)
        S = int(self.protocol.task(task_id).params.segmentSteps)
        # the commitment the dispute is bound to: the one in force when it was opened (another
        # dispute on the segment may have reopened the task since)
        opened = self.protocol.jury.events("DisputeOpened",
                                           from_block=self.protocol.addresses.deployBlock,
                                           disputeId=did)
        at = int(opened[-1]["blockNumber"]) if opened else None
        try:
            spec = self.data.spec(task_id)
            if profile.env_mismatches(spec):
                return None, f"spec needs profile {spec.profile.name}, this process runs another"
            teacher, data = self.data.inputs(spec)
            start, start_hash = self.data.start_checkpoint(spec, task_id, k, at)
            t0 = time.process_time()
            r = replay(spec, task_id, start, step, teacher, data, start_state_hash=start_hash)
            leaf = r.leaves[-1]
            reason = f"replayed {len(r.steps)} steps in {time.process_time() - t0:.2f}s cpu"
            if step == (k + 1) * S:
                claim = self.data.claim(task_id, k, at)
                got = self.data.checkpoint_state_hash(spec, task_id,
                                                      self.data.checkpoint_dir(claim.checkpoint_cid),
                                                      step)
                if got != r.state_hashes[-1]:
                    return ZERO, (f"end checkpoint {claim.checkpoint_cid} does not hold the "
                                  "replayed end state")
            return leaf, reason
        except DataUnavailableError as exc:
            return ZERO, f"data unavailable: {exc}"
        except CheckpointError as exc:
            return ZERO, f"start checkpoint does not load: {exc}"

    # ---- reveal --------------------------------------------------------------------------
    def reveal_due(self) -> None:
        for row in self.journal.rows("SELECT * FROM votes WHERE status = ?", VoteStatus.COMMITTED):
            did, rnd = int(row["dispute_id"]), int(row["round"])
            d = self.protocol.dispute(did)
            phase = DisputePhase(int(d.phase))
            if int(d.round) != rnd or phase in (DisputePhase.RESOLVED, DisputePhase.RESOLVABLE):
                done = int(d.round) == rnd and self.protocol.vote(did).revealed
                self._set(did, rnd, VoteStatus.REVEALED if done else VoteStatus.MISSED,
                          f"phase {phase.name}")
                continue
            if phase != DisputePhase.REVEAL:
                continue
            if self.protocol.vote(did).revealed:
                self._set(did, rnd, VoteStatus.REVEALED, "reveal found on chain")
                continue
            try:
                self.protocol.reveal_vote(did, bytes.fromhex(row["leaf"][2:]),
                                          bytes.fromhex(row["salt"]))
            except ContractRevertError as exc:
                self._set(did, rnd, VoteStatus.MISSED, f"revealVote reverted: {exc}")
                continue
            self._set(did, rnd, VoteStatus.REVEALED, f"revealed {row['leaf']}")

    def claim_payouts(self) -> int:
        """Pull what the adjudicator owes us; returns the amount (0 if nothing)."""
        return claim_payouts(self.protocol, self.journal)

    def status(self) -> dict[str, Any]:
        counts = {r["status"]: int(r["n"]) for r in
                  self.journal.rows("SELECT status, COUNT(*) AS n FROM votes GROUP BY status")}
        paid = sum(int(r["amount"]) for r in self.journal.rows("SELECT amount FROM payouts"))
        return {"votes": counts, "payouts_claimed": paid, "stake": dict(self.protocol.stake_info())}
