"""The one-slot segment record on a real anvil (issue #14): the market keeps a digest of the roots,
``ledger.segments`` finds them in the SegmentCommitted event whose roots hash to it, and the
contracts refuse any other roots a transaction names."""

from __future__ import annotations

from typing import Any

import pytest
from eth_hash.auto import keccak

from ledger.errors import revert_error
from ledger.protocol import TaskStatus
from ledger.segments import roots_digest
from prover import merkle

E18 = 10**18
SEG, TOTAL, WINDOW, DEADLINE = 8, 16, 40, 5
NODE_STAKE = 1000 * E18
REQUESTER, NODE, OTHER, CHALLENGER = 1, 2, 4, 3
ZERO = b"\x00" * 32


def _leaves(task: int, k: int, tag: bytes) -> list[bytes]:
    return [merkle.leaf(task, t, keccak(tag + t.to_bytes(32, "big")))
            for t in range(k * SEG + 1, (k + 1) * SEG + 1)]


def _commit(p: Any, task: int, k: int, tag: bytes) -> tuple[bytes, bytes, list[bytes]]:
    ls = _leaves(task, k, tag)
    root, end = merkle.trace_root(ls), keccak(tag + b"end")
    p.commit_segment(task, k, root, end, f"bafy-ckpt-{tag.decode()}", f"bafy-leaves-{k}",
                     leaves=ls)
    return root, end, ls


def _task(protocol: Any) -> int:
    for who in (NODE, OTHER):
        protocol(who).deposit(2 * NODE_STAKE)
    task = protocol(REQUESTER).create_task(
        "bafy-spec", b"\x11" * 32, 40 * E18, total_steps=TOTAL, segment_steps=SEG,
        challenge_window=WINDOW, segment_deadline=DEADLINE, node_stake=NODE_STAKE)
    protocol(NODE).claim_task(task)
    return int(task)


def test_segment_reads_the_roots_of_the_matching_event(protocol: Any) -> None:
    task = _task(protocol)
    node = protocol(NODE)
    root, end, ls = _commit(node, task, 0, b"a")
    seg = node.segment(task, 0)
    assert (bytes(seg.traceRoot), bytes(seg.endStateHash)) == (root, end)
    assert bytes(seg.rootsDigest) == roots_digest(root, end), "Python digest = Solidity digest"
    assert seg.committed and seg.node == node.me and int(seg.epoch) == 0
    c = node.commitment(task, 0)
    assert c is not None
    assert (c.trace_root, c.end_state_hash, c.node) == (root, end, node.me)
    assert (c.checkpoint_cid, c.leaves_cid, c.block) == ("bafy-ckpt-a", "bafy-leaves-0",
                                                         int(seg.committedAt))
    assert list(c.leaves) == ls and len(c.tx_hash) == 32
    never = node.segment(task, 1)
    assert (bytes(never.traceRoot), bytes(never.endStateHash)) == (ZERO, ZERO)
    assert not never.committed and node.commitment(task, 1) is None


def test_a_commitment_is_read_from_its_log_once(protocol: Any, monkeypatch: Any) -> None:
    """Protocol caches each commitment by what the record names (task, k, block, digest): every
    further read of the segment costs one eth_call and no eth_getLogs."""
    task = _task(protocol)
    root, end, _ = _commit(protocol(NODE), task, 0, b"a")
    reader = protocol(CHALLENGER)
    calls: list[Any] = []
    real = reader.market.events

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(reader.market, "events", counted)
    for _ in range(3):
        assert reader.roots(task, 0) == (root, end)
    assert bytes(reader.segment(task, 0).traceRoot) == root
    assert reader.commitment(task, 0) is not None
    assert len(calls) == 1


def test_recommit_after_reopen_is_read_and_old_roots_are_refused(protocol: Any,
                                                                 anvil: Any) -> None:
    """A stalled node's commitment of segment 0 (window still open) is replaced by the next
    node's: the reader follows the record to the new event, and the old roots no longer bind."""
    task = _task(protocol)
    node, other, challenger = protocol(NODE), protocol(OTHER), protocol(CHALLENGER)
    old_root, old_end, _ = _commit(node, task, 0, b"old")
    assert challenger.roots(task, 0) == (old_root, old_end)  # now in the reader's cache
    anvil.mine(DEADLINE + 1)
    challenger.timeout_stall(task)
    assert int(challenger.task(task).epoch) == 1
    assert TaskStatus(challenger.task(task).status) == TaskStatus.OPEN
    other.claim_task(task)
    new_root, new_end, _ = _commit(other, task, 0, b"new")
    seg = challenger.segment(task, 0)
    assert (bytes(seg.traceRoot), bytes(seg.endStateHash)) == (new_root, new_end)
    assert seg.node == other.me and int(seg.epoch) == 1
    assert challenger.market.call("epochNode", task, 0) == node.me
    c = challenger.commitment(task, 0)
    assert c is not None and c.node == other.me and c.checkpoint_cid == "bafy-ckpt-new"
    assert challenger.roots(task, 0) == (new_root, new_end)
    with pytest.raises(revert_error("SegmentRootsMismatch")) as exc:
        challenger.market.call("checkRoots", task, 0, (old_root, old_end))
    assert exc.value.error_args == {"taskId": task, "k": 0}
    challenger.market.call("checkRoots", task, 0, (new_root, new_end))


def test_disputes_naming_other_roots_are_refused(protocol: Any) -> None:
    """An end-state dispute whose endStateHash is not the committed one (a claim the node never
    made) reverts before the bond moves; the real roots open it."""
    task = _task(protocol)
    root, end, _ = _commit(protocol(NODE), task, 0, b"a")
    challenger = protocol(CHALLENGER)
    challenger._approve(challenger.jury, int(challenger.jury.call("challengeBond")))
    before = challenger.balance()
    with pytest.raises(revert_error("SegmentRootsMismatch")):
        challenger.jury.transact("openEndStateDispute", task, 0, (root, keccak(b"made up")),
                                 (ZERO, ZERO))
    assert challenger.balance() == before
    assert int(challenger.segment(task, 0).openDisputes) == 0
    d = challenger.open_end_state_dispute(task, 0)
    assert challenger.dispute(d).nodeLeaf == merkle.leaf(task, SEG, end)
