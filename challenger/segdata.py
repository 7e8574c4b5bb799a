"""What auditors and jurors fetch for a segment, each piece checked against the chain.

A segment ``k`` of a task is checked from: the spec (its keccak256 must equal the task's
``specHash``), the teacher and dataset named by the spec, the segment-start checkpoint (segment
``k-1``'s ``checkpointCid``; ``k == 0`` starts from the spec's initial state), which must hold
segment ``k-1``'s committed ``endStateHash`` as prover.checkpoint.held_state judges it, and the
node's leaves file, whose leaves must rebuild the committed ``traceRoot``. Anything that cannot
be fetched, or is not what the chain committed, raises :class:`DataUnavailableError`; only our
own IPFS API being down (``StoreUnavailableError``) propagates, because that is not the node's
fault.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from challenger.errors import DataUnavailableError
from ledger.protocol import Protocol
from materials import Materials
from prover import merkle
from prover.errors import ProverError
from store.errors import StoreUnavailableError
from veritrain.errors import StoreError

if TYPE_CHECKING:
    from prover.spec import TaskSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentClaim:
    """A segment as committed on chain (from its SegmentCommitted event)."""

    task_id: int
    k: int
    trace_root: bytes
    end_state_hash: bytes
    checkpoint_cid: str
    leaves_cid: str
    node: str
    block: int
    #: The segment's leaves as the event published them (the contract checked they rebuild
    #: traceRoot); empty only for a claim built by hand.
    leaves: tuple[bytes, ...] = ()

    @classmethod
    def from_event(cls, ev: Any) -> SegmentClaim:
        a = ev["args"]
        return cls(int(a["taskId"]), int(a["k"]), bytes(a["traceRoot"]), bytes(a["endStateHash"]),
                   str(a["checkpointCid"]), str(a["leavesCid"]), str(a["node"]),
                   int(ev["blockNumber"]),
                   tuple(bytes(x) for x in a.get("leaves", ())))


class SegmentData:
    """Fetches and checks a task's materials through a verified, CID-keyed cache."""

    def __init__(self, protocol: Protocol, materials: Materials) -> None:
        self.protocol = protocol
        self.materials = materials
        self._specs: dict[int, TaskSpec] = {}

    # ---- chain facts ---------------------------------------------------------------------
    def claim(self, task_id: int, k: int, at_block: int | None = None) -> SegmentClaim:
        """The current commitment of segment k: the SegmentCommitted event for (task, k) that
        matches the on-chain segment, block included (a reopened task has older events for k).

        ``at_block``: the commitment in force at that block instead (the newest event for
        (task, k) up to it), e.g. the one a dispute opened at that block is bound to, which stays
        the right one after the task is reopened and segment k is cleared or recommitted.
        """
        if at_block is not None:
            events = self.protocol.market.events("SegmentCommitted",
                                                 from_block=self.protocol.addresses.deployBlock,
                                                 to_block=at_block, taskId=task_id, k=k)
            if not events:
                raise DataUnavailableError(f"segment {k} of task {task_id} was not "
                                           f"committed by block {at_block}",
                                           what="segment", cid="", reason="not committed")
            return SegmentClaim.from_event(events[-1])
        if not self.protocol.segment(task_id, k).committed:
            raise DataUnavailableError(f"segment {k} of task {task_id} is not committed",
                                       what="segment", cid="", reason="not committed")
        found = self.protocol.commitment(task_id, k)
        if found is None:
            raise DataUnavailableError("no SegmentCommitted event matches segment "
                                       f"{k} of task {task_id}",
                                       what="segment", cid="", reason="event not found")
        return SegmentClaim(found.task_id, found.k, found.trace_root, found.end_state_hash,
                            found.checkpoint_cid, found.leaves_cid, found.node, found.block,
                            found.leaves)

    def spec_cid(self, task_id: int) -> str:
        events = self.protocol.market.events("TaskCreated",
                                             from_block=self.protocol.addresses.deployBlock,
                                             taskId=task_id)
        if not events:
            raise DataUnavailableError(f"no TaskCreated event for task {task_id}", what="spec",
                                       cid="",
                                       reason="event not found")
        return str(events[-1]["args"]["specCid"])

    # ---- IPFS content --------------------------------------------------------------------
    def spec(self, task_id: int) -> TaskSpec:
        if task_id not in self._specs:
            cid = self.spec_cid(task_id)
            spec_hash = bytes(self.protocol.task(task_id).specHash)
            self._specs[task_id] = _guard("spec", cid, lambda: self.materials.spec(cid, spec_hash))
        return self._specs[task_id]

    def inputs(self, spec: TaskSpec) -> tuple[Path, Path]:
        """(teacher_dir, dataset_dir) of the spec."""
        teacher = _guard("teacher", spec.teacher.cid, lambda: self.materials.teacher_dir(spec))
        data = _guard("dataset", spec.dataset.manifest_cid,
                      lambda: self.materials.dataset_dir(spec))
        return teacher, data

    def checkpoint_dir(self, cid: str) -> Path:
        return _guard("checkpoint", cid, lambda: self.materials.directory(cid))

    def start_checkpoint(self, spec: TaskSpec, task_id: int, k: int,
                         at_block: int | None = None) -> tuple[Path | None, bytes | None]:
        """Segment k's start checkpoint and the state it must hold (segment k-1's committed
        endStateHash); (None, None) for k == 0. The replay judges the directory against that
        state (prover.checkpoint.require_state); ``at_block`` as in :meth:`claim`."""
        if k == 0:
            return None, None
        prev = self.claim(task_id, k - 1, at_block)
        return self.checkpoint_dir(prev.checkpoint_cid), prev.end_state_hash

    def node_leaves(self, claim: SegmentClaim, segment_steps: int) -> list[bytes]:
        """The node's leaves of the segment, checked against traceRoot: from the SegmentCommitted
        event (on chain, so no node can withhold them), else from the node's leaves file."""
        if claim.leaves:
            leaves = list(claim.leaves)
            if len(leaves) != segment_steps or merkle.trace_root(leaves) != claim.trace_root:
                raise DataUnavailableError(f"the leaves published with segment {claim.k} of task "
                                           f"{claim.task_id} do not rebuild its traceRoot",
                                           what="leaves",
                                           cid="", reason="root mismatch")
            return leaves
        doc = _guard("leaves", claim.leaves_cid, lambda: self.materials.leaves(claim.leaves_cid))
        start = claim.k * segment_steps
        try:
            steps = [int(s) for s in doc["steps"]]
            hashes = [merkle.to_bytes32(h) for h in doc["stateHashes"]]
            ok_shape = int(doc["taskId"]) == claim.task_id and int(doc["segment"]) == claim.k
        except (KeyError, TypeError, ValueError, ProverError) as exc:
            raise DataUnavailableError(f"leaves file {claim.leaves_cid} is malformed: {exc}",
                                       what="leaves",
                                       cid=claim.leaves_cid, reason="malformed") from None
        if not ok_shape or steps != list(range(start + 1, start + segment_steps + 1)) \
                or len(hashes) != len(steps):
            raise DataUnavailableError(f"leaves file {claim.leaves_cid} is not "
                                       f"segment {claim.k} of task {claim.task_id}", what="leaves",
                                       cid=claim.leaves_cid,
                                       reason="wrong task, segment or steps")
        leaves = merkle.leaves_for(claim.task_id, start, hashes)
        if merkle.trace_root(leaves) != claim.trace_root:
            raise DataUnavailableError(f"leaves file {claim.leaves_cid} does not "
                                       f"rebuild the committed traceRoot", what="leaves",
                                       cid=claim.leaves_cid,
                                       reason="root mismatch")
        return leaves

    def checkpoint_state_hash(self, spec: TaskSpec, task_id: int, ckpt_dir: Path,
                              step: int | None = None) -> bytes:
        """The state a checkpoint really holds, as prover.checkpoint.held_state (the one judge)
        defines it; a directory that holds no state is unavailable (DataUnavailableError)."""
        from prover import checkpoint

        return _guard("checkpoint", str(ckpt_dir.name),
                      lambda: checkpoint.held_state(ckpt_dir, spec, task_id, step).state_hash)


def _guard(what: str, cid: str, fn: Any) -> Any:
    """Run a fetch; map 'the content is not there / not valid' to DataUnavailableError."""
    try:
        return fn()
    except StoreUnavailableError:
        raise  # our own IPFS API is down: not the node's fault, retry later
    except (StoreError, ProverError, OSError, ValueError, KeyError) as exc:
        log.info("%s %s unavailable: %s", what, cid, exc)
        raise DataUnavailableError(f"{what} {cid} unavailable: {exc}", what=what, cid=cid,
                                   reason=type(exc).__name__) from None
