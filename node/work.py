"""One task's segments: train (prover), upload (store, pinned), commit (ledger), each step
journaled.

Every method first looks at the journal and the chain, so calling it again after a crash does the
remaining part only: a trained segment is not trained again, an uploaded one is not uploaded
again, and a segment the chain already holds (with our root) is not committed again.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from node.crashpoints import CrashPoints
from node.errors import CheckpointUnavailableError, InputsUnavailableError
from node.journal import Journal, SegmentRow, SegmentState
from node.logs import log_event

if TYPE_CHECKING:
    from ledger.protocol import Protocol
    from materials import Materials
    from prover.spec import TaskSpec
    from prover.train import StepHooks, StepObserver, StepRecord
    from store.client import Client

log = logging.getLogger("node.work")


class PublishResult(Enum):
    """What ``SegmentWorker.publish`` did with a segment."""

    #: The segment is committed on-chain (now or before).
    COMMITTED = "committed"
    #: The journal no longer holds the segment.
    GONE = "gone"
    #: The chain holds another root for it (the daemon's reconcile decides; the chain wins).
    CONFLICT = "conflict"
    #: An earlier segment is not committed yet, or the task is no longer ours.
    NOT_DUE = "not-due"
    #: The commit transaction reverted (logged; the next iteration retries).
    REVERTED = "reverted"


def _leaves_of(row: SegmentRow) -> list[bytes]:
    """The leaves of a trained segment, from its leaves file (they go on chain with the commit)."""
    from prover import merkle

    doc = merkle.read_leaves_file(row.leaves_file)
    return merkle.leaves_for(row.task_id, int(doc["steps"][0]) - 1, doc["stateHashes"])


def h32(value: bytes) -> str:
    return "0x" + bytes(value).hex()


@dataclass
class TaskContext:
    """What the node needs in hand to work on a task: the spec and its local materials."""

    task_id: int
    spec: TaskSpec
    teacher_dir: Path
    dataset_dir: Path
    workdir: Path

    @property
    def num_segments(self) -> int:
        return self.spec.num_segments()

    def segment_dir(self, k: int) -> Path:
        return self.workdir / "tasks" / str(self.task_id) / f"seg-{k:05d}"


class _MidStep:
    """Observer that lets the crash-point facility fire inside a segment's training."""

    def __init__(self, crash: CrashPoints, k: int, inner: StepObserver | None) -> None:
        self.crash, self.k, self.inner = crash, k, inner

    def on_step_end(self, record: StepRecord) -> None:
        self.crash.hit("mid-step", self.k)
        if self.inner is not None:
            self.inner.on_step_end(record)


class SegmentWorker:
    """Train / upload / commit for the segments of active tasks."""

    def __init__(self, protocol: Protocol, client: Client, materials: Materials, journal: Journal,
                 crash: CrashPoints, hooks: StepHooks | None = None,
                 observer: StepObserver | None = None, ui: Any = None) -> None:
        self.protocol = protocol
        self.client = client
        self.materials = materials
        self.journal = journal
        self.crash = crash
        self.hooks = hooks
        self.observer = observer
        self.ui = ui

    # --- training ------------------------------------------------------------------------------
    def start_checkpoint(self, ctx: TaskContext, k: int) -> tuple[Path | None, bytes | None]:
        """Segment k's start state and the state hash it must hold: our own copy of k-1, else
        k-1's committed checkpoint from IPFS; (None, None) for k == 0. Training loads it through
        prover.checkpoint.require_state (the one judge of what a checkpoint holds)."""
        if k == 0:
            return None, None
        own = self.journal.segment(ctx.task_id, k - 1)
        if own is not None and (own.checkpoint_dir / "state.json").is_file():
            mine = bytes.fromhex(own.end_state_hash[2:])
            if own.state != SegmentState.COMMITTED:
                return own.checkpoint_dir, mine
            onchain = self.protocol.segment(ctx.task_id, k - 1)
            if h32(onchain.traceRoot) == own.trace_root:
                return own.checkpoint_dir, mine
        path = self.fetch_committed_checkpoint(ctx.task_id, k - 1, ctx.spec)
        return path, bytes(self.protocol.segment(ctx.task_id, k - 1).endStateHash)

    def fetch_committed_checkpoint(self, task_id: int, k: int, spec: TaskSpec) -> Path:
        """The checkpoint of on-chain segment k: from the SegmentCommitted event of its current
        commitment (ledger.segments), fetched verified, and holding the committed endStateHash
        (prover.checkpoint.require_state)."""
        from prover.checkpoint import require_state
        from prover.errors import CheckpointError

        seg = self.protocol.segment(task_id, k)
        found = self.protocol.commitment(task_id, k)
        if not seg.committed or found is None:
            raise CheckpointUnavailableError(f"segment {k} of task {task_id} is "
                                             "not committed on-chain",
                                             task_id=task_id, k=k)
        cid = found.checkpoint_cid
        log_event(log, "fetch-checkpoint", task=task_id, k=k, cid=cid)
        path = self.materials.directory(cid)
        try:
            require_state(path, spec, task_id, found.end_state_hash,
                          (k + 1) * spec.segment_steps)
        except CheckpointError as exc:
            raise CheckpointUnavailableError(
                f"checkpoint {cid} of task {task_id} segment {k} does not hold "
                f"the chain's endStateHash {h32(found.end_state_hash)}: {exc}",
                task_id=task_id, k=k,
                hint="the previous node published a checkpoint that does not match its "
                     "commitment") from None
        return path

    def check_inputs(self, task_id: int, spec: TaskSpec, next_segment: int) -> tuple[Path, Path]:
        """Fetch (verified) and check everything segment ``next_segment`` starts from, so a node
        claims only what it can train: the teacher loads and fits the spec, the dataset manifest
        is the spec's, and the start checkpoint (k > 0) holds the committed endStateHash. Store
        API outages propagate (retry later); anything else is InputsUnavailableError. Returns
        the local (teacher, dataset) directories."""
        from prover import dataset, model
        from prover.errors import ProverError
        from store.errors import StoreTimeoutError, StoreUnavailableError
        from veritrain.errors import StoreError

        what, cid = "teacher", spec.teacher.cid
        try:
            teacher = self.materials.teacher_dir(spec)
            if int(model.load_teacher(teacher).config.hidden_size) <= 0:
                raise ProverError(f"teacher {cid} has no hidden size")
            what, cid = "dataset", spec.dataset.manifest_cid
            data = self.materials.dataset_dir(spec)
            dataset.check_against_spec(dataset.load_manifest(data), spec)
            if next_segment > 0:
                what, cid = "checkpoint", f"segment {next_segment - 1}"
                self.fetch_committed_checkpoint(task_id, next_segment - 1, spec)
        except (StoreUnavailableError, StoreTimeoutError):
            raise
        except (StoreError, ProverError, CheckpointUnavailableError, OSError) as exc:
            raise InputsUnavailableError(f"task {task_id}: the {what} ({cid}) is unavailable: "
                                         f"{exc}",
                                         task_id=task_id, what=what, cid=cid) from None
        return teacher, data

    def train(self, ctx: TaskContext, k: int) -> SegmentRow:
        """Train segment k into its directory (atomically: a partial run leaves nothing behind)."""
        from prover.segment import run_segment

        start, start_hash = self.start_checkpoint(ctx, k)
        final = ctx.segment_dir(k)
        partial = final.with_name(final.name + ".partial")
        for stale in (partial, final):
            if stale.exists():
                shutil.rmtree(stale)
        log_event(log, "segment-training", task=ctx.task_id, k=k, steps=ctx.spec.segment_steps)
        progress = self.ui.steps(ctx.task_id, k, ctx.spec.segment_steps) if self.ui else None
        try:
            result = run_segment(ctx.spec, ctx.task_id, k, start, ctx.teacher_dir, ctx.dataset_dir,
                                 partial,
                                 observer=_MidStep(self.crash, k, self.observer), hooks=self.hooks,
                                 progress=progress, start_state_hash=start_hash)
        finally:
            if self.ui:
                self.ui.done_steps()
        partial.rename(final)
        self.journal.record_trained(ctx.task_id, k, h32(result.trace_root),
                                    h32(result.end_state_hash), str(final))
        log_event(log, "segment-trained", task=ctx.task_id, k=k, root=h32(result.trace_root),
                  loss=round(result.losses[-1], 5) if result.losses else None)
        self.crash.hit("after-train", k)
        row = self.journal.segment(ctx.task_id, k)
        if row is None:  # pragma: no cover - just written
            raise CheckpointUnavailableError("journal lost a row it just wrote",
                                             task_id=ctx.task_id, k=k)
        return row

    # --- upload + commit -----------------------------------------------------------------------
    def publish(self, task_id: int, k: int) -> PublishResult:
        """Upload (if not yet) and commit (if the chain does not hold it yet) segment k."""
        row = self.journal.segment(task_id, k)
        if row is None:
            return PublishResult.GONE
        if row.state == SegmentState.TRAINED:
            row = self.upload(row)
        return self.commit(row)

    def upload(self, row: SegmentRow) -> SegmentRow:
        if self.ui:
            self.ui.upload(row.task_id, row.k)
        ckpt_cid = self.client.put_dir(row.checkpoint_dir)
        leaves_cid = self.client.put_file(row.leaves_file)
        self.journal.record_uploaded(row.task_id, row.k, ckpt_cid, leaves_cid)
        if self.ui:
            self.ui.uploaded(row.task_id, row.k)
        log_event(log, "segment-uploaded", task=row.task_id, k=row.k, checkpoint=ckpt_cid,
                  leaves=leaves_cid)
        self.crash.hit("after-upload", row.k)
        new = self.journal.segment(row.task_id, row.k)
        return new if new is not None else row

    def commit(self, row: SegmentRow) -> PublishResult:
        from ledger.errors import ContractRevertError

        task = self.protocol.task(row.task_id)
        nxt = int(task.nextSegment)
        if nxt > row.k:
            seg = self.protocol.segment(row.task_id, row.k)
            if h32(seg.traceRoot) == row.trace_root:
                self.journal.set_segment_state(row.task_id, row.k, SegmentState.COMMITTED,
                                               int(seg.committedAt))
                log_event(log, "segment-already-committed", task=row.task_id, k=row.k)
                return PublishResult.COMMITTED
            return PublishResult.CONFLICT  # the daemon's reconcile decides (chain wins)
        if nxt < row.k or task.node != self.protocol.me:
            return PublishResult.NOT_DUE
        self.journal.set_segment_state(row.task_id, row.k, SegmentState.COMMITTING)
        try:
            receipt = self.protocol.commit_segment(row.task_id, row.k,
                                                   bytes.fromhex(row.trace_root[2:]),
                                                   bytes.fromhex(row.end_state_hash[2:]),
                                                   str(row.checkpoint_cid), str(row.leaves_cid),
                                                   leaves=_leaves_of(row))
        except ContractRevertError as exc:
            log_event(log, "commit-reverted", logging.WARNING, task=row.task_id, k=row.k,
                      error=str(exc))
            return PublishResult.REVERTED
        self.crash.hit("after-commit", row.k)
        block = int(receipt["blockNumber"])
        self.journal.set_segment_state(row.task_id, row.k, SegmentState.COMMITTED, block)
        log_event(log, "segment-committed", task=row.task_id, k=row.k, block=block,
                  tx=receipt["transactionHash"].hex(), gas=int(receipt["gasUsed"]))
        return PublishResult.COMMITTED
