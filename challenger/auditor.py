"""The auditor: watch commits, pick segments by a secret coin, replay, dispute the first wrong
leaf inside the challenge window, follow the dispute to its end and collect the payout.

Decisions (selected, skipped, matched, disputed, unprovable, expired) are journalled with their
reason and logged. A segment whose replay matches every leaf and whose end checkpoint holds the
end state is never disputed.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from challenger.errors import DataUnavailableError
from challenger.journal import Journal
from challenger.policy import AuditPolicy, Budget, secret_rng
from challenger.segdata import SegmentClaim, SegmentData
from ledger.errors import ContractRevertError, RpcUnavailableError
from ledger.protocol import DisputePhase, Outcome, Protocol
from ledger.watch import EventWatcher
from prover import merkle
from store.client import Client
from store.errors import StoreUnavailableError
from store.materials import Materials

log = logging.getLogger(__name__)

OPEN, WON, LOST, DEFAULT = "open", "won", "lost", "default"


@dataclass(frozen=True)
class Finding:
    """The verdict of one audit: ``step`` is None when nothing is to be disputed."""

    status: str          # ok | dispute | unprovable | refused
    reason: str
    step: int | None = None
    steps: int = 0
    cpu_s: float = 0.0


class Auditor:
    """One challenger account auditing every task on one deployment."""

    def __init__(self, protocol: Protocol, store_client: Client, workdir: str | Path,
                 policy: AuditPolicy | None = None, *, rng: random.Random | None = None,
                 confirmations: int = 0, start_block: int | None = None,
                 cache_dir: str | Path | None = None) -> None:
        self.protocol = protocol
        self.workdir = Path(workdir)
        self.policy = policy or AuditPolicy()
        self.rng = rng or secret_rng()
        self.journal = Journal(self.workdir / "auditor.sqlite")
        self.data = SegmentData(protocol, Materials(store_client, Path(cache_dir or self.workdir / "cache")))
        self.budget = Budget(self.policy.budget_steps_per_hour, self.policy.budget_burst_hours)
        start = protocol.addresses.deployBlock if start_block is None else start_block
        self.watcher = EventWatcher(protocol.chain, [(protocol.market, "SegmentCommitted")],
                                    start_block=start, confirmations=confirmations,
                                    cursor=self.journal.cursor("segments"))

    # ---- loop ----------------------------------------------------------------------------
    def run_once(self) -> None:
        """One iteration: follow disputes, read new commits, audit at most one segment, claim."""
        self.follow_disputes()
        self.ingest()
        self.audit_next()
        self.claim_payouts()

    def run(self, stop: threading.Event, poll_s: float = 2.0) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except (RpcUnavailableError, StoreUnavailableError) as exc:
                log.warning("auditor: %s; retrying", exc)
            stop.wait(poll_s)

    def _decide(self, decision: str, reason: str, **where: Any) -> None:
        log.info("audit %s: %s (%s)", where, decision, reason)
        self.journal.decide("audit", decision, reason, **where)

    # ---- selection -----------------------------------------------------------------------
    def history(self, node: str) -> int:
        row = self.journal.one("SELECT COUNT(*) AS n FROM audits WHERE node = ? AND status IN "
                               "('ok', 'disputed', 'unprovable')", node)
        return int(row["n"]) if row else 0

    def ingest(self) -> None:
        """Read newly confirmed SegmentCommitted events; flip the secret coin for each."""
        for ev in self.watcher.poll():
            c = SegmentClaim.from_event(ev)
            root = merkle.hex32(c.trace_root)
            if self.journal.one("SELECT 1 FROM audits WHERE task_id=? AND k=? AND trace_root=?",
                                c.task_id, c.k, root):
                continue  # re-delivered after a reorg or a restart
            if c.node.lower() == self.protocol.me.lower():
                status, reason = "skipped", "own segment"
            else:
                p = self.policy.chance(self.history(c.node))
                hit = self.rng.random() < p
                status, reason = ("queued" if hit else "skipped"), f"coin p={p:.3f} {'hit' if hit else 'miss'}"
            with self.journal.tx() as db:
                db.execute("INSERT INTO audits (task_id, k, trace_root, node, committed_block, checkpoint_cid, "
                           "leaves_cid, status, reason, updated) VALUES (?,?,?,?,?,?,?,?,?,?)",
                           (c.task_id, c.k, root, c.node, c.block, c.checkpoint_cid, c.leaves_cid,
                            status, reason, time.time()))
            self._decide("selected" if status == "queued" else "skipped", reason, task_id=c.task_id, k=c.k)
        self.journal.save_cursor("segments", self.watcher.cursor)

    def _set(self, task_id: int, k: int, root: str, status: str, reason: str, **extra: Any) -> None:
        cols = "".join(f", {key} = ?" for key in extra)
        with self.journal.tx() as db:
            db.execute(f"UPDATE audits SET status = ?, reason = ?, updated = ?{cols} "
                       "WHERE task_id = ? AND k = ? AND trace_root = ?",
                       (status, reason, time.time(), *extra.values(), task_id, k, root))

    def audit_next(self) -> bool:
        """Audit the highest-priority queued segment that is still disputable; True if one ran."""
        queued = self.journal.rows("SELECT * FROM audits WHERE status = 'queued'")
        if not queued:
            return False
        now = self.protocol.chain.block_number()
        live = []
        for row in queued:
            task = self.protocol.task(row["task_id"])
            seg = self.protocol.segment(row["task_id"], row["k"])
            closes = int(seg.committedAt) + int(task.params.challengeWindow)
            if not seg.committed or merkle.hex32(bytes(seg.traceRoot)) != row["trace_root"]:
                self._set(row["task_id"], row["k"], row["trace_root"], "stale", "segment replaced on chain")
            elif closes - now < self.policy.min_blocks_left:
                self._set(row["task_id"], row["k"], row["trace_root"], "expired", f"window closes at {closes}")
                self._decide("expired", f"challenge window closes at block {closes}, now {now}",
                             task_id=row["task_id"], k=row["k"])
            else:
                live.append((self.history(row["node"]), -int(row["committed_block"]), row))
        if not live:
            return False
        live.sort(key=lambda x: (x[0], x[1]))
        row = live[0][2]
        steps = int(self.protocol.task(row["task_id"]).params.segmentSteps)
        if not self.budget.allows(steps):
            return False
        try:
            claim = self.data.claim(row["task_id"], row["k"])
        except DataUnavailableError as exc:
            self._set(row["task_id"], row["k"], row["trace_root"], "error", str(exc))
            return False
        finding, leaves = self.audit(claim)
        self.budget.spend(finding.steps)
        where = {"task_id": claim.task_id, "k": claim.k}
        if finding.status == "dispute" and finding.step is not None and leaves is not None:
            self._dispute(claim, leaves, finding)
        else:
            self._set(claim.task_id, claim.k, row["trace_root"], finding.status, finding.reason,
                      steps=finding.steps, cpu_s=finding.cpu_s)
            self._decide({"ok": "no dispute", "unprovable": "no dispute (unprovable)",
                          "refused": "refused"}.get(finding.status, finding.status), finding.reason, **where)
        return True

    # ---- the audit itself ----------------------------------------------------------------
    def audit(self, claim: SegmentClaim) -> tuple[Finding, list[bytes] | None]:
        """Replay ``claim``'s segment against the node's leaves; the verdict and those leaves."""
        from prover import profile
        from prover.errors import CheckpointError
        from prover.segment import replay

        S = int(self.protocol.task(claim.task_id).params.segmentSteps)
        start_step, last = claim.k * S, (claim.k + 1) * S
        try:
            leaves = self.data.node_leaves(claim, S)
        except DataUnavailableError as exc:
            # Without the node's leaves no leaf can be proven against traceRoot, so the contract
            # cannot take a dispute: record it (docs/challenger.md, "Limits").
            return Finding("unprovable", f"leaves file: {exc}"), None
        first = start_step + 1
        try:
            spec = self.data.spec(claim.task_id)
        except DataUnavailableError as exc:
            return Finding("dispute", f"spec unavailable: {exc}", first), leaves
        if profile.env_mismatches(spec):
            return Finding("refused", f"spec needs profile {spec.profile.name}/{spec.profile.threads}t, "
                                      "this process runs another"), None
        try:
            teacher, data = self.data.inputs(spec)
            start_ckpt = self.data.start_checkpoint(spec, claim.task_id, claim.k)
        except DataUnavailableError as exc:
            return Finding("dispute", f"segment inputs unavailable: {exc}", first), leaves
        t0 = time.process_time()
        try:
            result = replay(spec, claim.task_id, start_ckpt, last, teacher, data,
                            expected_leaves=leaves, stop_on_mismatch=True)
        except CheckpointError as exc:
            return Finding("dispute", f"start checkpoint does not load: {exc}", first), leaves
        cpu = time.process_time() - t0
        n = len(result.steps)
        if result.first_mismatch is not None:
            return Finding("dispute", f"replay differs first at step {result.first_mismatch}",
                           result.first_mismatch, n, cpu), leaves
        # Every leaf matches; the end checkpoint must hold the end state (the next segment and
        # consumers start from it). If not, the last leaf is disputed: jurors reveal 0 for it.
        try:
            got = self.data.checkpoint_state_hash(spec, claim.task_id,
                                                  self.data.checkpoint_dir(claim.checkpoint_cid))
        except DataUnavailableError as exc:
            return Finding("dispute", f"end checkpoint unavailable: {exc}", last, n, cpu), leaves
        if got != result.state_hashes[-1]:
            return Finding("dispute", f"end checkpoint holds state {merkle.hex32(got)}, replay ends at "
                                      f"{merkle.hex32(result.state_hashes[-1])}", last, n, cpu), leaves
        return Finding("ok", f"all {n} leaves and the end checkpoint match", None, n, cpu), leaves

    def _dispute(self, claim: SegmentClaim, leaves: list[bytes], f: Finding) -> None:
        S = len(leaves)
        idx = merkle.step_index(int(f.step or 0), claim.k * S, S)
        proof = merkle.proof(leaves, idx)
        where = {"task_id": claim.task_id, "k": claim.k}
        root = merkle.hex32(claim.trace_root)
        try:
            dispute_id = self.protocol.open_dispute(claim.task_id, claim.k, int(f.step or 0), leaves[idx], proof)
        except ContractRevertError as exc:
            status = "expired" if exc.name == "ChallengeWindowClosed" else "error"
            self._set(claim.task_id, claim.k, root, status, f"{f.reason}; openDispute reverted {exc}",
                      steps=f.steps, cpu_s=f.cpu_s)
            self._decide("dispute failed", f"{f.reason}; openDispute reverted: {exc}", **where)
            return
        bond = int(self.protocol.dispute(dispute_id).bond)
        with self.journal.tx() as db:
            db.execute("INSERT OR REPLACE INTO disputes (dispute_id, task_id, k, step, node, bond, status, "
                       "reason, updated) VALUES (?,?,?,?,?,?,?,?,?)",
                       (dispute_id, claim.task_id, claim.k, f.step, claim.node, str(bond), OPEN, f.reason, time.time()))
        self._set(claim.task_id, claim.k, root, "disputed", f.reason, steps=f.steps, cpu_s=f.cpu_s,
                  dispute_id=dispute_id)
        self._decide("disputed", f"{f.reason}; dispute {dispute_id} at step {f.step}", dispute_id=dispute_id, **where)

    # ---- following disputes --------------------------------------------------------------
    def follow_disputes(self) -> None:
        """Draw the jury when due, resolve when due, record outcomes (both calls are public)."""
        for row in self.journal.rows("SELECT * FROM disputes WHERE status = ?", OPEN):
            did = int(row["dispute_id"])
            d = self.protocol.dispute(did)
            phase = DisputePhase(int(d.phase))
            try:
                if phase == DisputePhase.AWAITING_DRAW and self.protocol.chain.block_number() >= int(d.drawAfter):
                    self.protocol.draw_jury(did)
                elif phase == DisputePhase.RESOLVABLE:
                    self.protocol.resolve(did)
            except ContractRevertError as exc:  # someone else moved it first
                log.info("dispute %d: %s", did, exc)
            d = self.protocol.dispute(did)
            if DisputePhase(int(d.phase)) == DisputePhase.RESOLVED:
                outcome = Outcome(int(d.outcome))
                status = {Outcome.NODE_WRONG: WON, Outcome.NODE_RIGHT: LOST}.get(outcome, DEFAULT)
                with self.journal.tx() as db:
                    db.execute("UPDATE disputes SET status = ?, outcome = ?, updated = ? WHERE dispute_id = ?",
                               (status, int(outcome), time.time(), did))
                self.journal.decide("dispute", status, f"resolved {outcome.name}", dispute_id=did,
                                    task_id=int(row["task_id"]), k=int(row["k"]))
                log.info("dispute %d resolved %s", did, outcome.name)

    def claim_payouts(self) -> int:
        """Pull what the adjudicator owes us; returns the amount (0 if nothing)."""
        owed = self.protocol.owed()
        if owed == 0:
            return 0
        self.protocol.claim_payout()
        with self.journal.tx() as db:
            db.execute("INSERT INTO payouts (amount, at) VALUES (?, ?)", (str(owed), time.time()))
        return owed

    # ---- status --------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return audit_status(self.journal, self.protocol)


def audit_status(journal: Journal, protocol: Protocol | None = None) -> dict[str, Any]:
    """Audits done, disputes open/won/lost, earnings and bond at risk (wei)."""
    counts = {r["status"]: int(r["n"]) for r in journal.rows("SELECT status, COUNT(*) AS n FROM audits GROUP BY status")}
    disputes = journal.rows("SELECT status, bond FROM disputes")
    by = {s: sum(1 for d in disputes if d["status"] == s) for s in (OPEN, WON, LOST, DEFAULT)}
    paid = sum(int(r["amount"]) for r in journal.rows("SELECT amount FROM payouts"))
    bonds_settled = sum(int(d["bond"]) for d in disputes if d["status"] != OPEN)
    out: dict[str, Any] = {
        "audits_done": counts.get("ok", 0) + counts.get("disputed", 0) + counts.get("unprovable", 0),
        "audits": counts,
        "disputes": by,
        "payouts_claimed": paid,
        "earnings": paid - bonds_settled,
        "bond_at_risk": sum(int(d["bond"]) for d in disputes if d["status"] == OPEN),
        "cpu_s": float(journal.one("SELECT COALESCE(SUM(cpu_s), 0) AS s FROM audits")["s"]),  # type: ignore[index]
        "steps_replayed": int(journal.one("SELECT COALESCE(SUM(steps), 0) AS s FROM audits")["s"]),  # type: ignore[index]
    }
    if protocol is not None:
        out["owed"] = protocol.owed()
    return out
