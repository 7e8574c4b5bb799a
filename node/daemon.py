"""The operator daemon: find open tasks, claim one, train and commit its segments, get paid.

``NodeDaemon.run_once()`` is one reconcile iteration: it reads new events, moves disputes on the
node's tasks along, and does the next piece of work (claim a task, train one segment, hand a
trained segment to the publisher, claim a reward). Uploads and commits run on one background
thread, so segment k is uploaded and committed while segment k+1 trains; the chain enforces the
commit order anyway. ``run(stop_event)`` loops over it; `veritrain node run` is a thin loop too.

Every decision is re-derived from the chain plus the journal, so the daemon can be killed at any
point and restarted (see node/journal.py and node/crashpoints.py).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.disputes import DisputeAction, advance_dispute
from ledger.errors import ContractRevertError, RpcUnavailableError
from ledger.movelog import Played
from ledger.protocol import Outcome, TaskStatus
from node.crashpoints import CrashPoints
from node.errors import CheckpointUnavailableError, InputsUnavailableError, TaskRefusedError
from node.journal import Journal, SegmentState, TaskRow, TaskState
from node.logs import log_event
from node.outage import Backoff, TaskInputRetries
from node.policy import Policy, check_spec, check_terms
from node.referee import NodeReferee, RetraceMutation
from node.referee import for_daemon as referee_bot
from node.release import give_back, roll_back
from node.work import PublishResult, SegmentWorker, TaskContext, h32
from store.errors import StoreRequestError, StoreTimeoutError, StoreUnavailableError

if TYPE_CHECKING:
    from ledger.protocol import Protocol
    from prover.train import StepHooks, StepObserver
    from store.client import Client

log = logging.getLogger("node.daemon")
_TRANSIENT = (RpcUnavailableError, StoreUnavailableError, StoreTimeoutError)


class Activity(Enum):
    """What one ``NodeDaemon.run_once()`` iteration did."""

    #: Nothing to do: no active task and none to claim.
    IDLE = "idle"
    #: Waiting on something outside the node (the chain or IPFS is away, finality, commits).
    WAITING = "waiting"
    #: Took over a task this account had claimed before a restart.
    ADOPTED = "adopted"
    #: Claimed an open task.
    CLAIMED = "claimed"
    #: The active task was reopened or taken from us.
    LOST = "lost"
    #: Trained a segment and/or handed one to the publisher (``detail`` says which).
    WORKED = "worked"
    #: Claimed the reward of a task (or saw it completed).
    REWARDED = "rewarded"


@dataclass(frozen=True)
class Iteration:
    """The result of one iteration: what was done, to which task, and a readable detail."""

    activity: Activity
    task_id: int | None = None
    detail: str = ""

    @property
    def waits(self) -> bool:
        """True when the loop should sleep before the next iteration."""
        return self.activity in (Activity.IDLE, Activity.WAITING)

    def __str__(self) -> str:
        if self.activity == Activity.WORKED:
            return self.detail
        task = f" {self.task_id}" if self.task_id is not None else ""
        return f"{self.activity.value}{task}" + (f": {self.detail}" if self.detail else "")


class NodeDaemon:
    """A node operator's daemon over one account (``protocol``) and one IPFS API (``client``).

    ``workdir`` holds the journal (``journal.sqlite``), the local checkpoints (``tasks/``) and the
    verified materials cache (``cache/``). ``hooks`` and ``observer`` are passed through to
    ``prover.run_segment`` unchanged. ``ui`` (optional) shows progress (node.ui.RichUi).
    ``retrace_mutation`` (fault injection) is what hooks that moved the state before a step
    did, which the referee bot's re-trace of that step repeats (node.referee.for_daemon).
    """

    def __init__(self, protocol: Protocol, client: Client, workdir: str | Path,
                 policy: Policy | None = None,
                 *, hooks: StepHooks | None = None, observer: StepObserver | None = None,
                 ui: Any = None,
                 crash_point: str | None = None,
                 retrace_mutation: RetraceMutation | None = None) -> None:
        from ledger.watch import Cursor, EventWatcher
        from materials import Materials

        self.protocol = protocol
        self.client = client
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.policy = policy or Policy()
        self.journal = Journal(self.workdir / "journal.sqlite")
        self.materials = Materials(client, self.workdir / "cache")
        self.crash = CrashPoints(crash_point)
        self.worker = SegmentWorker(protocol, client, self.materials, self.journal, self.crash,
                                    hooks=hooks, observer=observer, ui=ui)
        raw = self.journal.get_meta("cursor")
        cursor = Cursor(int(raw.split(":")[0]), raw.split(":")[1]) if raw else None
        self.watcher = EventWatcher(protocol.chain, [(protocol.market, "TaskCreated"),
                                                     (protocol.market, "TaskReopened"),
                                                     (protocol.jury, "DisputeOpened"),
                                                     (protocol.referee, "DisputeOpened")],
                                    start_block=protocol.addresses.deployBlock, cursor=cursor)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="node-publish")
        self._pub: Future[PublishResult] | None = None
        self._contexts: dict[int, TaskContext] = {}
        self._noted: set[tuple[int, str]] = set()
        self._check_owed = True
        #: Outages of our own store API and RPC: bounded backoff, reported (node/outage.py).
        self.outages = {"store": Backoff("store"), "rpc": Backoff("rpc")}
        #: Tasks whose inputs failed to fetch or verify: retried with backoff, then given up.
        self.inputs = TaskInputRetries()
        #: Seconds the run loop waits before the next iteration (0: its poll interval).
        self.wait_s = 0.0
        #: Tasks whose reward this daemon claimed (in order).
        self.rewarded: list[int] = []
        self._referee = referee_bot(protocol, self.journal, self.materials, self.workdir,
                                    lambda msg: log_event(log, "referee", detail=msg),
                                    retrace_mutation)

    # --- the loop ------------------------------------------------------------------------------
    def run_once(self) -> Iteration:
        """One reconcile iteration; returns what it did (``Activity.IDLE``: nothing to do)."""
        try:
            did = self._iterate()
        except _TRANSIENT as exc:  # our own RPC or store API is down: bounded backoff, reported
            kind = "rpc" if isinstance(exc, RpcUnavailableError) else "store"
            self.wait_s = self.outages[kind].failed(str(exc), error=type(exc).__name__)
            return Iteration(Activity.WAITING, detail=f"{kind} unavailable")
        for outage in self.outages.values():
            outage.recovered()
        return did

    def _iterate(self) -> Iteration:
        self._collect_publisher()
        block = self.protocol.chain.block_number()
        self._poll_events()
        self._advance_disputes(block)
        self._unpin_due(block)
        active = self.journal.tasks(TaskState.ACTIVE)
        if active:
            return self._work(active[0], block)
        self._watch_lost(block)
        return self._claim_next() or Iteration(Activity.IDLE)

    def run(self, stop_event: threading.Event, poll_interval: float = 1.0, *,
            stop_after_tasks: int | None = None) -> None:
        """Loop over run_once until ``stop_event`` is set (or ``stop_after_tasks`` rewards
        claimed)."""
        log_event(log, "node-started", account=self.protocol.me, workdir=str(self.workdir))
        from veritrain.errors import VeritrainError

        while not stop_event.is_set():
            try:
                did = self.run_once()
            except VeritrainError as exc:  # keep serving; the next iteration re-derives everything
                log.error("iteration failed: %s", exc, exc_info=log.isEnabledFor(logging.DEBUG))
                did = Iteration(Activity.WAITING, detail="error")
            if stop_after_tasks is not None and len(self.rewarded) >= stop_after_tasks:
                break
            if did.waits:
                stop_event.wait(max(poll_interval, self.wait_s))
            self.wait_s = 0.0
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.journal.close()

    # --- events --------------------------------------------------------------------------------
    def _poll_events(self) -> None:
        me = self.protocol.me.lower()
        for ev in self.watcher.poll():
            args = ev["args"]
            if ev["event"] == "TaskCreated":
                self.journal.add_candidate(int(args["taskId"]), str(args["specCid"]))
            elif ev["event"] == "TaskReopened":
                log_event(log, "task-reopened", task=int(args["taskId"]),
                          from_segment=int(args["fromSegment"]))
            elif ev["event"] == "DisputeOpened" and str(args["node"]).lower() == me:
                # dispute ids are numbered per adjudicator: the emitting contract says whose
                referee = str(ev["address"]).lower() == str(self.protocol.referee.address).lower()
                self.journal.add_dispute(int(args["disputeId"]), int(args["taskId"]), referee)
                log_event(log, "dispute-opened", logging.WARNING, dispute=int(args["disputeId"]),
                          task=int(args["taskId"]), k=int(args["k"]), step=int(args["step"]),
                          adjudicator="referee" if referee else "jury")
        cur = self.watcher.cursor
        if cur is not None:
            self.journal.set_meta("cursor", f"{cur.block}:{cur.block_hash}")

    # --- claiming ------------------------------------------------------------------------------
    def check_task(self, task_id: int, spec_cid: str, task: Any = None) -> Any:
        """The task's spec if this node will serve it; TaskRefusedError (or
        SpecHashMismatchError) if not."""
        from prover.errors import ProverError

        task = task if task is not None else self.protocol.task(task_id)
        check_terms(self.policy, task_id, task, self.protocol.market_params())
        try:
            spec = self.materials.spec(spec_cid, bytes(task.specHash))
        except ProverError as exc:
            raise TaskRefusedError(f"task {task_id}: the content at {spec_cid} is "
                                   f"not a valid spec: {exc}",
                                   task_id=task_id, reason="bad-spec") from None
        check_spec(task_id, task, spec)
        return spec

    def _claim_next(self) -> Iteration | None:
        from materials import SpecHashMismatchError

        me = self.protocol.me.lower()
        for task_id, spec_cid in self.journal.candidates():
            row = self.journal.task(task_id)
            # INVARIANT: a task this node lost (reopened, taken over) is never claimed again
            if row is not None and row.state in (TaskState.DONE, TaskState.REFUSED,
                                                 TaskState.ACTIVE,
                                                 TaskState.LOST):
                continue
            task = self.protocol.task(task_id)
            if int(task.status) == TaskStatus.CLAIMED and str(task.node).lower() == me:
                self.journal.set_task(task_id, int(task.epoch), spec_cid,
                                      TaskState.ACTIVE)  # claimed before a crash
                log_event(log, "task-adopted", task=task_id, epoch=int(task.epoch))
                return Iteration(Activity.ADOPTED, task_id)
            if int(task.status) != TaskStatus.OPEN:
                continue
            if not self.inputs.due(task_id):
                continue
            try:
                spec = self.check_task(task_id, spec_cid, task)
            except (TaskRefusedError, SpecHashMismatchError) as exc:
                self.journal.set_task(task_id, int(task.epoch), spec_cid,
                                      TaskState.REFUSED, str(exc))
                log_event(log, "task-refused", logging.ERROR, task=task_id,
                          reason=exc.reason if isinstance(exc, TaskRefusedError)
                          else "spec-hash-mismatch",
                          error=str(exc))
                continue
            except StoreRequestError as exc:
                self._note(task_id, "store", f"cannot fetch the spec: {exc}")
                continue
            if not self._can_stake(task_id, int(task.params.nodeStake)):
                continue
            if not self._inputs_ready(task_id, spec_cid, spec, task):
                continue
            if not self._roots_match(task_id, spec_cid, spec, task):
                continue
            try:
                self.protocol.claim_task(task_id)
            except ContractRevertError as exc:
                self._note(task_id, "claim", str(exc))
                continue
            self.crash.hit("after-claim")
            task = self.protocol.task(task_id)
            dropped = self.journal.drop_segments(task_id, int(task.nextSegment))
            self.journal.set_task(task_id, int(task.epoch), spec_cid, TaskState.ACTIVE)
            log_event(log, "task-claimed", task=task_id, epoch=int(task.epoch),
                      next_segment=int(task.nextSegment),
                      reward=int(task.reward), stale_segments_dropped=dropped)
            return Iteration(Activity.CLAIMED, task_id)
        return None

    def _inputs_ready(self, task_id: int, spec_cid: str, spec: Any, task: Any) -> bool:
        """Teacher, dataset and start checkpoint fetched and verified BEFORE claiming; a task
        whose inputs keep failing is given up after ``self.inputs.tries`` tries."""
        try:
            teacher, data = self.worker.check_inputs(task_id, spec, int(task.nextSegment))
        except InputsUnavailableError as exc:
            if not self.inputs.failed(task_id, str(exc)):
                return False
            if (exc.what == "checkpoint" and int(task.nextSegment) > 0
                    and self.policy.roll_back_withheld_start):
                roll_back(self.protocol, self.journal, task_id, spec_cid, exc)  # not stranded
                return False
            self.journal.set_task(task_id, int(task.epoch), spec_cid, TaskState.REFUSED, str(exc))
            log_event(log, "task-refused", logging.ERROR, task=task_id,
                      reason="inputs-unavailable", error=str(exc))
            return False
        self.inputs.ok(task_id)
        self._contexts[task_id] = TaskContext(task_id, spec, teacher, data, self.workdir)
        return True

    def _roots_match(self, task_id: int, spec_cid: str, spec: Any, task: Any) -> bool:
        """A refereed task's roots on chain are those of its spec and teacher (recomputed here,
        before claiming); a task whose roots differ is refused for good."""
        from materials.roots import check_task_roots
        from prover.errors import RootsMismatchError

        ctx = self._contexts[task_id]
        try:
            check_task_roots(self.protocol, task_id, spec, ctx.teacher_dir, ctx.dataset_dir)
        except RootsMismatchError as exc:
            self._contexts.pop(task_id, None)
            self.journal.set_task(task_id, int(task.epoch), spec_cid, TaskState.REFUSED, str(exc))
            log_event(log, "task-refused", logging.ERROR, task=task_id, reason="roots-mismatch",
                      root=exc.root, error=str(exc))
            return False
        return True

    def _can_stake(self, task_id: int, needed: int) -> bool:
        if self.protocol.is_jailed():
            self._note(task_id, "jailed", "this node is jailed")
            return False
        free = int(self.protocol.stake.call("freeStake", self.protocol.me))
        if free < needed:
            self._note(task_id, "stake",
                       f"free stake {free} < nodeStake {needed}; `veritrain node stake` more")
            return False
        return True

    def _note(self, task_id: int, what: str, message: str) -> None:
        if (task_id, what) not in self._noted:
            self._noted.add((task_id, what))
            log_event(log, "task-skipped", logging.WARNING, task=task_id, reason=what,
                      detail=message)

    # --- working on the active task ------------------------------------------------------------
    def _context(self, row: TaskRow, spec_hash: bytes) -> TaskContext:
        ctx = self._contexts.get(row.task_id)
        if ctx is None:
            spec = self.materials.spec(row.spec_cid, spec_hash)
            nxt = int(self.protocol.task(row.task_id).nextSegment)
            teacher, data = self.worker.check_inputs(row.task_id, spec, nxt)
            ctx = TaskContext(row.task_id, spec, teacher, data, self.workdir)
            self._contexts[row.task_id] = ctx
        return ctx

    def _busy(self) -> bool:
        return self._pub is not None and not self._pub.done()

    def _collect_publisher(self) -> None:
        if self._pub is None or not self._pub.done():
            return
        fut, self._pub = self._pub, None
        exc = fut.exception()
        if exc is None:
            return
        if isinstance(exc, (*_TRANSIENT, StoreRequestError)):
            log_event(log, "publish-retry", logging.WARNING, reason=type(exc).__name__,
                      detail=str(exc))
        else:
            log.error("publishing failed", exc_info=exc)
            raise exc

    def _wait_publisher(self, timeout: float | None = None) -> None:
        if self._pub is not None:
            with contextlib.suppress(Exception):  # collected and reported by _collect_publisher
                self._pub.result(timeout=timeout)
            if self._pub.done():
                self._collect_publisher()

    def _work(self, row: TaskRow, block: int) -> Iteration:
        task = self.protocol.task(row.task_id)
        me = self.protocol.me.lower()
        status = int(task.status)
        ours = str(task.node).lower() == me
        if status == TaskStatus.COMPLETED and ours:
            return self._finish(row, block, claimed_now=False)
        if status != TaskStatus.CLAIMED or not ours or int(task.epoch) != row.epoch:
            self._wait_publisher()
            self.journal.set_task(row.task_id, row.epoch, row.spec_cid, TaskState.LOST,
                                  f"status {TaskStatus(status).name}, node "
                                  f"{task.node}, epoch {task.epoch}")
            log_event(log, "task-lost", logging.WARNING, task=row.task_id,
                      status=TaskStatus(status).name,
                      epoch=int(task.epoch))
            return Iteration(Activity.LOST, row.task_id)
        if not self.inputs.due(row.task_id):
            return Iteration(Activity.WAITING, row.task_id, "inputs")
        try:
            ctx = self._context(row, bytes(task.specHash))
            did = self._advance(row, ctx, int(task.nextSegment), block)
        except (InputsUnavailableError, CheckpointUnavailableError, StoreRequestError) as exc:
            # after the claim the inputs went away (unpinned): retry with backoff, then give the
            # task back for free (releaseTask) instead of stalling into a slash
            if self.inputs.failed(row.task_id, str(exc)):
                log_event(log, "inputs-unavailable-after-claim", logging.ERROR, task=row.task_id,
                          error=str(exc))
                if give_back(self.protocol, self.journal, row, int(task.nextSegment), exc):
                    self._wait_publisher()
                    self._contexts.pop(row.task_id, None)
                    self.inputs.ok(row.task_id)
                    return Iteration(Activity.LOST, row.task_id, "released")
            return Iteration(Activity.WAITING, row.task_id, "inputs")
        self.inputs.ok(row.task_id)
        return did

    def _advance(self, row: TaskRow, ctx: TaskContext, nxt: int, block: int) -> Iteration:
        n = ctx.num_segments
        busy = self._busy()
        if not busy:
            self._reconcile(ctx, nxt)
        rows = self.journal.segments(row.task_id)
        pending = [r for r in rows if r.k >= nxt and r.state != SegmentState.COMMITTED]
        if nxt >= n and not pending and not busy:
            if int(self.protocol.market.call("finalSegmentCount", row.task_id)) < n:
                return Iteration(Activity.WAITING, detail="finality")
            self.protocol.claim_reward(row.task_id)
            return self._finish(row, block, claimed_now=True)
        did: list[str] = []
        if not busy and pending:
            k = pending[0].k
            self._pub = self._pool.submit(self.worker.publish, row.task_id, k)
            did.append(f"publishing {row.task_id}/{k}")
        ahead = [r.k for r in rows if r.k >= nxt]
        k_train = max(ahead) + 1 if ahead else nxt
        if k_train < n and len(pending) <= self.policy.lookahead:
            self.worker.train(ctx, k_train)
            did.append(f"trained {row.task_id}/{k_train}")
        elif self._pub is not None:
            self._wait_publisher(timeout=5.0)
            did.append("published")
        if not did:
            return Iteration(Activity.WAITING, detail="commits")
        return Iteration(Activity.WORKED, row.task_id, "; ".join(did))

    def _reconcile(self, ctx: TaskContext, nxt: int) -> None:
        """Make the journal agree with the chain (the chain wins)."""
        for r in self.journal.segments(ctx.task_id):
            if r.k >= nxt and r.state in (SegmentState.COMMITTING, SegmentState.COMMITTED):
                if r.state == SegmentState.COMMITTED:
                    log_event(log, "commitment-dropped", logging.WARNING, task=r.task_id, k=r.k,
                              detail="the chain no longer holds it (reorg?); committing again")
                self.journal.set_segment_state(r.task_id, r.k, SegmentState.UPLOADED)
            elif r.k < nxt and r.state != SegmentState.COMMITTED:
                seg = self.protocol.segment(r.task_id, r.k)
                if h32(seg.traceRoot) == r.trace_root:
                    self.journal.set_segment_state(r.task_id, r.k, SegmentState.COMMITTED,
                                                   int(seg.committedAt))
                    log_event(log, "segment-committed-seen", task=r.task_id, k=r.k)
                else:
                    log_event(log, "segment-conflict", logging.ERROR, task=r.task_id, k=r.k,
                              ours=r.trace_root, chain=h32(seg.traceRoot))
                    self.journal.drop_segments(r.task_id, r.k)
                    return

    def _finish(self, row: TaskRow, block: int, claimed_now: bool) -> Iteration:
        self.journal.set_task(row.task_id, row.epoch, row.spec_cid, TaskState.DONE)
        self.journal.schedule_unpin(row.task_id, block + self.policy.unpin_margin_blocks)
        self._contexts.pop(row.task_id, None)
        self.rewarded.append(row.task_id)
        log_event(log, "reward-claimed" if claimed_now else "task-complete", task=row.task_id,
                  unpin_after=block + self.policy.unpin_margin_blocks)
        return Iteration(Activity.REWARDED, row.task_id)

    # --- data availability ---------------------------------------------------------------------
    def _watch_lost(self, block: int) -> None:
        """Keep a lost task's data pinned until the task is complete (the next node starts from
        it)."""
        for row in self.journal.tasks(TaskState.LOST):
            if not any(after is None for _, _, after in self.journal.pins(row.task_id)):
                continue
            status = int(self.protocol.task(row.task_id).status)
            if status in (TaskStatus.COMPLETED, TaskStatus.CANCELLED):
                self.journal.schedule_unpin(row.task_id, block + self.policy.unpin_margin_blocks)

    def _unpin_due(self, block: int) -> None:
        for cid in self.journal.due_unpins(block):
            try:
                self.client.unpin(cid)
            except StoreRequestError as exc:
                if "not pinned" not in str(exc):
                    raise
            self.journal.forget_pin(cid)
            log_event(log, "unpinned", cid=cid)

    # --- disputes on our tasks -----------------------------------------------------------------
    def _advance_disputes(self, block: int) -> None:
        for dispute_id, task_id, referee in self.journal.open_disputes():
            if referee:  # the referee game: answer the move that is due
                self._play(self._referee, dispute_id, task_id)
                continue
            step = advance_dispute(self.protocol, dispute_id, block)
            if step.action == DisputeAction.DREW_JURY:
                log_event(log, "jury-drawn", dispute=dispute_id, task=task_id)
            elif step.action == DisputeAction.RESOLVED:
                log_event(log, "dispute-resolve-called", dispute=dispute_id, task=task_id)
            elif step.action == DisputeAction.SKIPPED:  # someone else moved it first
                log_event(log, "dispute-step-skipped", dispute=dispute_id, detail=str(step.skipped))
            if step.resolved:
                self.journal.close_dispute(dispute_id)
                self._check_owed = True
                level = logging.WARNING if step.outcome == Outcome.NODE_WRONG else logging.INFO
                log_event(log, "dispute-resolved", level, dispute=dispute_id, task=task_id,
                          outcome=step.outcome.name)
        if self._check_owed:
            self._claim_owed()
            self._check_owed = False

    def _claim_owed(self) -> None:
        """Pull what either adjudicator owes us (bonds of griefers we beat, jury refunds)."""
        owed = self.protocol.owed()
        if owed > 0:
            self.protocol.claim_payout()
            log_event(log, "payout-claimed", amount=owed, adjudicator="jury")
        owed = self._referee.referee.owed()
        if owed > 0:
            self._referee.referee.claim_payout()
            log_event(log, "payout-claimed", amount=owed, adjudicator="referee")

    @property
    def referee(self) -> NodeReferee:
        """The bot that plays this node's referee games."""
        return self._referee

    def _play(self, bot: NodeReferee, dispute_id: int, task_id: int) -> None:
        if bot.play(dispute_id) != Played.OVER:
            return
        self.journal.close_dispute(dispute_id, referee=True)
        self._check_owed = True
        outcome = bot.outcome(dispute_id)
        level = logging.WARNING if outcome == Outcome.NODE_WRONG else logging.INFO
        log_event(log, "dispute-resolved", level, dispute=dispute_id, task=task_id,
                  outcome=outcome.name)
