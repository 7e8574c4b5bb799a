"""A segment's committed roots, read back from the chain.

The TaskMarket keeps one storage slot per segment (issue #14: ``commitSegment`` with 64 leaves
stays under 150k gas): a 152-bit digest of ``(traceRoot, endStateHash)``, the commit block, the
epoch and the open-dispute count. The roots, CIDs, node and leaves travel in the
``SegmentCommitted`` event of that block. This module is the one place that finds that event (the
one whose roots hash to the on-chain digest) and so gives every reader the roots back, and every
transaction that names a commitment (disputes, attestations) the roots it must pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_hash.auto import keccak

from ledger.chain import Contract
from veritrain.errors import LedgerError, leaf

#: Bytes of keccak256(abi.encode(traceRoot, endStateHash)) the market keeps (SegmentLedger.digest).
DIGEST_BYTES = 19
ZERO32 = b"\x00" * 32


@leaf
class SegmentRootsUnavailableError(LedgerError):
    """No SegmentCommitted event of the commit block has roots that hash to the on-chain digest
    of a written segment record."""

    hint = ("the RPC may not serve old logs: point VERITRAIN_RPC_URL at an archive node (the "
            "roots of a segment are only in its SegmentCommitted event)")
    task_id: int
    k: int
    block: int


def roots_digest(trace_root: bytes, end_state_hash: bytes) -> bytes:
    """SegmentLedger.digest: the first 19 bytes of keccak256(abi.encode(traceRoot,
    endStateHash))."""
    return keccak(_b32(trace_root) + _b32(end_state_hash))[:DIGEST_BYTES]


@dataclass(frozen=True)
class Commitment:
    """One commitment of a segment as its SegmentCommitted event carries it."""

    task_id: int
    k: int
    trace_root: bytes
    end_state_hash: bytes
    checkpoint_cid: str
    leaves_cid: str
    #: The committer.
    node: str
    #: The segment's leaves, in step order (they rebuild trace_root).
    leaves: tuple[bytes, ...]
    #: The block it was committed in (the record's committedAt).
    block: int
    #: The committing transaction.
    tx_hash: bytes = b""

    @property
    def roots(self) -> tuple[bytes, bytes]:
        """(traceRoot, endStateHash): the SegmentRoots a transaction passes back."""
        return self.trace_root, self.end_state_hash

    @classmethod
    def from_event(cls, ev: Any) -> Commitment:
        a = ev["args"]
        return cls(int(a["taskId"]), int(a["k"]), bytes(a["traceRoot"]), bytes(a["endStateHash"]),
                   str(a["checkpointCid"]), str(a["leavesCid"]), str(a["node"]),
                   tuple(bytes(x) for x in a["leaves"]), int(ev["blockNumber"]),
                   bytes(ev["transactionHash"]))


def find_commitment(market: Contract, task_id: int, k: int, record: Any) -> Commitment | None:
    """The commitment a segment record (``TaskMarket.segment``) holds: the SegmentCommitted event
    of (task, k) in block ``record.committedAt`` whose roots hash to ``record.rootsDigest``. None
    when the record was never written. Raises SegmentRootsUnavailableError when the record is
    written but the log is not served."""
    block = int(record["committedAt"])
    if block == 0:
        return None
    digest = bytes(record["rootsDigest"])
    events = market.events("SegmentCommitted", from_block=block, to_block=block,
                           taskId=task_id, k=k)
    for ev in reversed(events):
        a = ev["args"]
        if roots_digest(bytes(a["traceRoot"]), bytes(a["endStateHash"])) == digest:
            return Commitment.from_event(ev)
    raise SegmentRootsUnavailableError(
        f"no SegmentCommitted event of task {task_id} segment {k} in block {block} has roots "
        f"that hash to the on-chain digest 0x{digest.hex()}", task_id=task_id, k=k, block=block)


def with_roots(record: dict[str, Any], found: Commitment | None) -> dict[str, Any]:
    """The record with the roots of its commitment added as ``traceRoot`` / ``endStateHash``
    (zeros when it was never written), as the view returned them before the one-slot record."""
    trace_root, end_state_hash = found.roots if found is not None else (ZERO32, ZERO32)
    record["traceRoot"] = trace_root
    record["endStateHash"] = end_state_hash
    return record


def _b32(x: bytes) -> bytes:
    b = bytes(x)
    if len(b) != 32:
        raise ValueError(f"a root is 32 bytes, got {len(b)}")
    return b
