"""The auditor: watch commits, pick segments by a secret coin, replay, dispute inside the
challenge window, follow the dispute to its end and collect the payout.

What is disputed how (docs/challenger.md, "Decision table"): a wrong leaf found by the replay is
disputed with its Merkle proof (``openDispute``); a wrong committed end state, a withheld or
wrong end checkpoint, and a segment whose leaves file is missing or does not rebuild the
committed root (when the replay or the start data shows the segment wrong) are disputed with
``openEndStateDispute``, whose claim the contract computes from the committed ``endStateHash``.
Decisions (selected, skipped, matched, disputed, unprovable, expired) are journalled with their
reason and logged. A segment whose replay matches every leaf, the committed end state and the end
checkpoint is never disputed. An audit that ran to a verdict is attested on chain (AuditRegistry:
Ok when everything matched, Fault when we disputed), so consumers can count who checked what.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from pathlib import Path
from typing import Any

from challenger.errors import DataUnavailableError
from challenger.finding import DisputeKind, Finding, Verdict
from challenger.journal import AUDITED, AuditStatus, DisputeStatus, Journal
from challenger.loop import claim_payouts, run_until
from challenger.policy import AuditPolicy, Budget, secret_rng
from challenger.referee import ChallengerReferee
from challenger.referee import for_auditor as referee_bot
from challenger.segdata import SegmentClaim, SegmentData
from ledger import audits
from ledger.audits import AuditResult
from ledger.disputes import advance_dispute
from ledger.errors import ContractRevertError, WrongAdjudicatorError, revert_error
from ledger.protocol import Outcome, Protocol
from ledger.watch import EventWatcher
from materials import Materials
from prover import merkle
from store.client import Client
from veritrain.errors import ConfigError

log = logging.getLogger(__name__)

#: How a finding that opens no dispute is journalled: (audit status, decision in words).
_NO_DISPUTE = {Verdict.OK: (AuditStatus.OK, "no dispute"),
               Verdict.UNPROVABLE: (AuditStatus.UNPROVABLE, "no dispute (unprovable)"),
               Verdict.REFUSED: (AuditStatus.REFUSED, "refused"),
               Verdict.WRONG_ROOTS: (AuditStatus.REFUSED, "refused (wrong roots on chain)"),
               Verdict.CHECKPOINT_FAULT: (AuditStatus.CHECKPOINT_FAULT,
                                          "no dispute (checkpoint fault on a refereed task)"),
               Verdict.DISPUTE: (AuditStatus.ERROR, "dispute without a step")}
#: The journal status of a resolved dispute of ours, by outcome.
_DISPUTE_STATUS = {Outcome.NODE_WRONG: DisputeStatus.WON, Outcome.NODE_RIGHT: DisputeStatus.LOST}
#: Audits that end in an on-chain attestation (AuditRegistry), by journal status.
_ATTESTED = {AuditStatus.OK: AuditResult.OK, AuditStatus.DISPUTED: AuditResult.FAULT,
             AuditStatus.CHECKPOINT_FAULT: AuditResult.FAULT}

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
        self.data = SegmentData(protocol, Materials(store_client,
                                                    Path(cache_dir or self.workdir / "cache")))
        self.budget = Budget(self.policy.budget_steps_per_hour, self.policy.budget_burst_hours)
        #: Per task: why its roots on chain are wrong ("" when they are right, or a jury task).
        self._wrong_roots: dict[int, str] = {}
        start = protocol.addresses.deployBlock if start_block is None else start_block
        self.watcher = EventWatcher(protocol.chain, [(protocol.market, "SegmentCommitted")],
                                    start_block=start, confirmations=confirmations,
                                    cursor=self.journal.cursor("segments"))
        self._referee = referee_bot(protocol, self.data, self.workdir)

    # ---- loop ----------------------------------------------------------------------------
    def run_once(self) -> None:
        """One iteration: follow disputes, read new commits, audit at most one segment, claim."""
        self.follow_disputes()
        self.ingest()
        self.audit_next()
        self.claim_payouts()

    def run(self, stop: threading.Event, poll_s: float = 2.0) -> None:
        run_until(stop, self.run_once, poll_s, "auditor")

    @property
    def referee(self) -> ChallengerReferee:
        """The bot that plays this auditor's referee games (tasks created with a step graph)."""
        return self._referee

    def _decide(self, decision: str, reason: str, **where: Any) -> None:
        log.info("audit %s: %s (%s)", where, decision, reason)
        self.journal.decide("audit", decision, reason, **where)

    # ---- selection -----------------------------------------------------------------------
    def history(self, node: str) -> int:
        marks = ", ".join("?" * len(AUDITED))
        row = self.journal.one("SELECT COUNT(*) AS n FROM audits WHERE node = ? AND status IN "
                               f"({marks})", node, *AUDITED)
        return int(row["n"]) if row else 0

    def ingest(self) -> None:
        """Read newly confirmed SegmentCommitted events; flip the secret coin for each.

        A row is one commitment: (task, k, traceRoot, block). After a reopen another node may
        commit the very same root (an honest trace) with another checkpoint or end state: that is
        a new commitment, audited on its own coin. Only the same event delivered again (after a
        reorg that kept it in its block, or a restart) is skipped.
        """
        for ev in self.watcher.poll():
            c = SegmentClaim.from_event(ev)
            root = merkle.hex32(c.trace_root)
            if self.journal.one("SELECT 1 FROM audits WHERE task_id=? AND k=? AND trace_root=? "
                                "AND committed_block=?",
                                c.task_id, c.k, root, c.block):
                continue  # re-delivered after a reorg or a restart
            if c.node.lower() == self.protocol.me.lower():
                status, reason = AuditStatus.SKIPPED, "own segment"
            else:
                p = self.policy.chance(self.history(c.node))
                hit = self.rng.random() < p
                status = AuditStatus.QUEUED if hit else AuditStatus.SKIPPED
                reason = f"coin p={p:.3f} {'hit' if hit else 'miss'}"
            with self.journal.tx() as db:
                db.execute("INSERT INTO audits (task_id, k, trace_root, node, "
                           "committed_block, checkpoint_cid, leaves_cid, status, reason, updated) "
                           "VALUES (?,?,?,?,?,?,?,?,?,?)",
                           (c.task_id, c.k, root, c.node, c.block, c.checkpoint_cid, c.leaves_cid,
                            status, reason, time.time()))
            self._decide("selected" if status == AuditStatus.QUEUED else "skipped", reason,
                         task_id=c.task_id, k=c.k)
        self.journal.save_cursor("segments", self.watcher.cursor)

    def _set(self, task_id: int, k: int, root: str, block: int, status: AuditStatus,
             reason: str, **extra: Any) -> None:
        cols = "".join(f", {key} = ?" for key in extra)
        with self.journal.tx() as db:
            db.execute(f"UPDATE audits SET status = ?, reason = ?, updated = ?{cols} "
                       "WHERE task_id = ? AND k = ? AND trace_root = ? AND committed_block = ?",
                       (status, reason, time.time(), *extra.values(), task_id, k, root, block))

    def audit_next(self) -> bool:
        """Audit the highest-priority queued segment that is still disputable; True if one ran."""
        queued = self.journal.rows("SELECT * FROM audits WHERE status = ?", AuditStatus.QUEUED)
        if not queued:
            return False
        now = self.protocol.chain.block_number()
        live = []
        for row in queued:
            key = (row["task_id"], row["k"], row["trace_root"], row["committed_block"])
            task = self.protocol.task(row["task_id"])
            seg = self.protocol.segment(row["task_id"], row["k"])
            closes = int(seg.committedAt) + int(task.params.challengeWindow)
            if not seg.committed or merkle.hex32(bytes(seg.traceRoot)) != row["trace_root"] \
                    or int(seg.committedAt) != int(row["committed_block"]):
                self._set(*key, AuditStatus.STALE, "segment replaced on chain")
            elif closes - now < self.policy.min_blocks_left:
                self._set(*key, AuditStatus.EXPIRED, f"window closes at {closes}")
                self._decide("expired", f"challenge window closes at block {closes}, now {now}",
                             task_id=row["task_id"], k=row["k"])
            else:
                live.append((self.history(row["node"]), -int(row["committed_block"]), row))
        if not live:
            return False
        live.sort(key=lambda x: (x[0], x[1]))
        row = live[0][2]
        key = (row["task_id"], row["k"], row["trace_root"], row["committed_block"])
        steps = int(self.protocol.task(row["task_id"]).params.segmentSteps)
        if not self.budget.allows(steps):
            return False
        try:
            claim = self.data.claim(row["task_id"], row["k"])
        except DataUnavailableError as exc:
            self._set(*key, AuditStatus.ERROR, str(exc))
            return False
        finding, leaves = self.audit(claim)
        self.budget.spend(finding.steps)
        where = {"task_id": claim.task_id, "k": claim.k}
        if finding.verdict == Verdict.DISPUTE and finding.step is not None:
            status = self._dispute(claim, leaves, finding)
        else:
            status, decision = _NO_DISPUTE[finding.verdict]
            self._set(*key, status, finding.reason, steps=finding.steps, cpu_s=finding.cpu_s)
            self._decide(decision, finding.reason, **where)
        if status in _ATTESTED:
            self._attest(claim, _ATTESTED[status])
        return True

    def _attest(self, claim: SegmentClaim, result: AuditResult) -> None:
        """Record the audit on chain (AuditRegistry); a refusal is journalled, never fatal."""
        where = {"task_id": claim.task_id, "k": claim.k}
        try:
            audits.attest(self.protocol, claim.task_id, claim.k, claim.trace_root,
                          claim.end_state_hash, claim.block, result)
        except (ContractRevertError, ConfigError) as exc:
            self._decide("attest failed", f"{result.name.lower()}: {exc}", **where)
            return
        self._decide("attested", result.name.lower(), **where)

    # ---- the audit itself ----------------------------------------------------------------
    def audit(self, claim: SegmentClaim) -> tuple[Finding, list[bytes] | None]:
        """Replay ``claim``'s segment against the node's leaves; the verdict and those leaves
        (None when the node's leaves file is missing or does not rebuild its traceRoot)."""
        from prover import profile
        from prover.errors import CheckpointError
        from prover.segment import replay

        S = int(self.protocol.task(claim.task_id).params.segmentSteps)
        start_step, last = claim.k * S, (claim.k + 1) * S
        leaves: list[bytes] | None
        try:
            leaves, no_leaves = self.data.node_leaves(claim, S), ""
        except DataUnavailableError as exc:
            # No leaf can be proven against traceRoot: only the end-state dispute is open to us.
            leaves, no_leaves = None, f"leaves file: {exc}; "

        def unavailable(reason: str) -> Finding:
            # Start data missing: jurors reveal 0 for any step. With the node's leaves the first
            # step is disputed (proof); without them, the end state (no proof needed).
            if leaves is None:
                return Finding(Verdict.DISPUTE, no_leaves + reason, last,
                               kind=DisputeKind.END_STATE)
            return Finding(Verdict.DISPUTE, reason, start_step + 1)

        try:
            spec = self.data.spec(claim.task_id)
        except DataUnavailableError as exc:
            return unavailable(f"spec unavailable: {exc}"), leaves
        if profile.env_mismatches(spec):
            return Finding(Verdict.REFUSED,
                           f"spec needs profile {spec.profile.name}/{spec.profile.threads}t, "
                           "this process runs another"), None
        try:
            teacher, data = self.data.inputs(spec)
            start_ckpt, start_hash = self.data.start_checkpoint(spec, claim.task_id, claim.k)
        except DataUnavailableError as exc:
            return unavailable(f"segment inputs unavailable: {exc}"), leaves
        wrong = self._roots_wrong(claim.task_id, spec, teacher, data)
        if wrong:
            return Finding(Verdict.WRONG_ROOTS, wrong), None
        t0 = time.process_time()
        try:
            result = replay(spec, claim.task_id, start_ckpt, last, teacher, data,
                            expected_leaves=leaves, stop_on_mismatch=True,
                            start_state_hash=start_hash)
        except CheckpointError as exc:
            return unavailable(f"start checkpoint does not load: {exc}"), leaves
        cpu = time.process_time() - t0
        n = len(result.steps)
        if result.first_mismatch is not None:
            return Finding(Verdict.DISPUTE, f"replay differs first at step {result.first_mismatch}",
                           result.first_mismatch, n, cpu), leaves
        # Every leaf we could check matches. The segment's product is its end state: the
        # committed endStateHash and the end checkpoint (the next segment and consumers start
        # from it) must both be the replayed end state, else the end state is disputed (the
        # contract's claim is leaf(endStateHash); jurors reveal 0 for a bad end checkpoint).
        end = result.state_hashes[-1]
        if claim.end_state_hash != end:
            return Finding(Verdict.DISPUTE,
                           f"{no_leaves}committed endStateHash "
                           f"{merkle.hex32(claim.end_state_hash)}, replay ends at "
                           f"{merkle.hex32(end)}", last, n, cpu,
                           DisputeKind.END_STATE), leaves
        try:
            got = self.data.checkpoint_state_hash(spec, claim.task_id,
                                                  self.data.checkpoint_dir(claim.checkpoint_cid),
                                                  last)
            bad = "" if got == end else (f"end checkpoint holds state {merkle.hex32(got)}, "
                                         f"replay ends at {merkle.hex32(end)}")
        except DataUnavailableError as exc:
            bad = f"end checkpoint unavailable: {exc}"
        if bad and not self.policy.demand_state and self.protocol.is_refereed(claim.task_id):
            # the committed end state is right: the referee judges that, and the node can
            # reveal every chunk of it, so a game would only cost us the bond
            return Finding(Verdict.CHECKPOINT_FAULT,
                           f"{no_leaves}{bad}; the committed end state is right, which the "
                           "referee judges: not disputed, attested as a fault", None, n,
                           cpu), leaves
        if bad:  # the jury's task (jurors load the checkpoint and reveal 0 for it), or a bet
            # that the node cannot reveal its state (``AuditPolicy.demand_state``)
            return Finding(Verdict.DISPUTE, no_leaves + bad, last, n, cpu,
                           DisputeKind.END_STATE), leaves
        if leaves is None:
            # An end-state dispute would lose: the training result is right, only the trace
            # (which nobody can see) is unchecked (docs/challenger.md, "Limits").
            return Finding(Verdict.UNPROVABLE,
                           f"{no_leaves}the committed end state and the end checkpoint match "
                           f"the replay of all {n} steps; the trace cannot be checked",
                           None, n, cpu), None
        ok = f"all {n} leaves, the end state and the end checkpoint match"
        return Finding(Verdict.OK, ok, None, n, cpu), leaves

    def _roots_wrong(self, task_id: int, spec: Any, teacher: Path, data: Path) -> str:
        """Why the task's roots on chain are not its spec's (recomputed once per task); "" when
        they are, or when the jury settles it."""
        from materials.roots import check_task_roots
        from prover.errors import RootsMismatchError

        if task_id not in self._wrong_roots:
            try:
                check_task_roots(self.protocol, task_id, spec, teacher, data)
                self._wrong_roots[task_id] = ""
            except RootsMismatchError as exc:
                self._wrong_roots[task_id] = f"{exc} ({exc.hint})"
        return self._wrong_roots[task_id]

    def _open(self, claim: SegmentClaim, leaves: list[bytes] | None, f: Finding) -> int:
        """Send the dispute ``f`` asks for to the task's adjudicator; its id."""
        if self.protocol.is_refereed(claim.task_id):
            return self._open_game(claim, leaves, f)
        if f.kind == DisputeKind.END_STATE:
            return self.protocol.open_end_state_dispute(claim.task_id, claim.k)
        if leaves is None:  # a leaf dispute is only ever decided with the node's leaves in hand
            raise DataUnavailableError("no leaves to prove a leaf dispute with", what="leaves",
                                       cid=claim.leaves_cid, reason="missing")
        S = len(leaves)
        idx = merkle.step_index(int(f.step or 0), claim.k * S, S)
        return self.protocol.open_dispute(claim.task_id, claim.k, int(f.step or 0), leaves[idx],
                                          merkle.proof(leaves, idx))

    def _open_game(self, claim: SegmentClaim, leaves: list[bytes] | None, f: Finding) -> int:
        """Open the referee game ``f`` asks for (a task created with its step graph)."""
        ref = self._referee.referee
        if f.kind == DisputeKind.END_STATE:
            return ref.open_end_state_dispute(claim.task_id, claim.k)
        if leaves is None:
            raise DataUnavailableError("no leaves to prove a leaf dispute with", what="leaves",
                                       cid=claim.leaves_cid, reason="missing")
        S = len(leaves)
        idx = merkle.step_index(int(f.step or 0), claim.k * S, S)
        return ref.open_dispute(claim.task_id, claim.k, int(f.step or 0), leaves[idx],
                                merkle.proof(leaves, idx))

    def _dispute(self, claim: SegmentClaim, leaves: list[bytes] | None, f: Finding) -> AuditStatus:
        """Open the dispute ``f`` asks for; the audit's journal status afterwards."""
        where = {"task_id": claim.task_id, "k": claim.k}
        key = (claim.task_id, claim.k, merkle.hex32(claim.trace_root), claim.block)
        call = f.kind.call
        try:
            dispute_id = self._open(claim, leaves, f)
        except revert_error("EndStateDisputeOpen") as exc:
            # another challenger's end-state dispute on this commitment asks the same question
            other = int(exc.error_args.get("disputeId", 0))
            self._set(*key, AuditStatus.DISPUTED,
                      f"{f.reason}; end-state dispute {other} of another "
                      "challenger is open on this commitment", steps=f.steps, cpu_s=f.cpu_s,
                      dispute_id=other)
            self._decide("already disputed",
                         f"{f.reason}; end-state dispute {other} is open", **where)
            return AuditStatus.DISPUTED
        except WrongAdjudicatorError as exc:
            # the task's adjudicator read before the open disagrees with the chain's: journalled,
            # never fatal
            self._set(*key, AuditStatus.ERROR, f"{f.reason}; {exc}", steps=f.steps, cpu_s=f.cpu_s)
            self._decide("dispute failed", f"{f.reason}; {exc}", **where)
            return AuditStatus.ERROR
        except ContractRevertError as exc:
            closed = isinstance(exc, revert_error("ChallengeWindowClosed"))
            status = AuditStatus.EXPIRED if closed else AuditStatus.ERROR
            self._set(*key, status, f"{f.reason}; {call} reverted {exc}", steps=f.steps,
                      cpu_s=f.cpu_s)
            self._decide("dispute failed", f"{f.reason}; {call} reverted: {exc}", **where)
            return status
        refereed = self.protocol.is_refereed(claim.task_id)
        bond = (self._referee.referee.challenge_bond() if refereed
                else int(self.protocol.dispute(dispute_id).bond))
        with self.journal.tx() as db:
            db.execute("INSERT OR REPLACE INTO disputes (dispute_id, task_id, k, step, node, "
                       "bond, status, reason, updated, referee) VALUES (?,?,?,?,?,?,?,?,?,?)",
                       (dispute_id, claim.task_id, claim.k, f.step, claim.node, str(bond),
                        DisputeStatus.OPEN, f.reason, time.time(), int(refereed)))
        self._set(*key, AuditStatus.DISPUTED, f.reason, steps=f.steps, cpu_s=f.cpu_s,
                  dispute_id=dispute_id)
        what = "end state" if f.kind == DisputeKind.END_STATE else f"step {f.step}"
        self._decide("disputed", f"{f.reason}; dispute {dispute_id} ({call}) on the {what}",
                     dispute_id=dispute_id, **where)
        return AuditStatus.DISPUTED

    # ---- following disputes --------------------------------------------------------------
    def follow_disputes(self) -> None:
        """Draw the jury when due, resolve when due, record outcomes (both calls are public)."""
        for row in self.journal.rows("SELECT * FROM disputes WHERE status = ?", DisputeStatus.OPEN):
            did = int(row["dispute_id"])
            refereed = bool(row["referee"])
            if refereed:  # the referee game: play our move, if due
                self._referee.play(did)
                resolved, outcome = self._referee.resolved(did)
            else:
                step = advance_dispute(self.protocol, did)
                if step.skipped is not None:  # someone else moved it first
                    log.info("dispute %d: %s", did, step.skipped)
                resolved, outcome = step.resolved, step.outcome
            if resolved:
                status = _DISPUTE_STATUS.get(outcome, DisputeStatus.VOID)
                with self.journal.tx() as db:
                    db.execute("UPDATE disputes SET status = ?, outcome = ?, updated = "
                               "? WHERE dispute_id = ? AND referee = ?",
                               (status, int(outcome), time.time(), did, int(refereed)))
                self.journal.decide("dispute", status, f"resolved {outcome.name}", dispute_id=did,
                                    task_id=int(row["task_id"]), k=int(row["k"]))
                log.info("dispute %d resolved %s", did, outcome.name)

    def claim_payouts(self) -> int:
        """Pull what the jury and the referee owe us; returns the amount (0 if nothing)."""
        return (claim_payouts(self.protocol, self.journal)
                + claim_payouts(self._referee.referee, self.journal))

    # ---- status --------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return audit_status(self.journal, self.protocol)


def audit_status(journal: Journal, protocol: Protocol | None = None) -> dict[str, Any]:
    """Audits done, disputes open/won/lost, earnings and bond at risk (wei)."""
    counts = {r["status"]: int(r["n"]) for r in journal.rows("SELECT status, COUNT(*) AS n FROM "
                                                             "audits GROUP BY status")}
    disputes = journal.rows("SELECT status, bond FROM disputes")
    shown = (DisputeStatus.OPEN, DisputeStatus.WON, DisputeStatus.LOST, DisputeStatus.VOID)
    by = {s.value: sum(1 for d in disputes if d["status"] == s) for s in shown}
    paid = sum(int(r["amount"]) for r in journal.rows("SELECT amount FROM payouts"))
    bonds_settled = sum(int(d["bond"]) for d in disputes if d["status"] != DisputeStatus.OPEN)
    out: dict[str, Any] = {
        "audits_done": sum(counts.get(s, 0) for s in AUDITED),
        "audits": counts,
        "disputes": by,
        "payouts_claimed": paid,
        "earnings": paid - bonds_settled,
        "bond_at_risk": sum(int(d["bond"]) for d in disputes if d["status"] == DisputeStatus.OPEN),
        "cpu_s": float(journal.one("SELECT COALESCE(SUM(cpu_s), 0) AS s FROM audits")["s"]),  # type: ignore[index]
        "steps_replayed": int(journal.one("SELECT COALESCE(SUM(steps), 0) AS s FROM audits")["s"]),  # type: ignore[index]
    }
    if protocol is not None:
        out["owed"] = protocol.owed()
    return out
