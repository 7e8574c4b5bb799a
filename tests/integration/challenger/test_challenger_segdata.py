"""What auditors and jurors check a segment's published data against."""

from __future__ import annotations

from typing import Any

import pytest

from challenger.errors import DataUnavailableError
from challenger.segdata import SegmentData
from materials import Materials
from prover import merkle
from tests.support.actors import Fault


def test_checks_against_the_chain(world: Any) -> None:
    """Honest data passes; a tampered checkpoint re-hashes to another state; a leaves file that
    does not rebuild traceRoot and a withheld checkpoint are unavailable."""
    task_id = world.post_task()
    node = world.node(fault=Fault.CHECKPOINT_MISMATCH)  # honest leaves, tampered checkpoint upload
    node.claim(task_id)
    c = node.commit(task_id, 0)
    data = SegmentData(world.protocol(2), Materials(world.client, world.cache))
    claim = data.claim(task_id, 0)
    assert (claim.checkpoint_cid, claim.leaves_cid, claim.trace_root) == (
        c.checkpoint_cid,
        c.leaves_cid,
        c.trace_root,
    )
    spec = data.spec(task_id)
    assert data.node_leaves(claim, spec.segment_steps) == c.result.leaves
    honest = data.checkpoint_state_hash(spec, task_id, c.result.checkpoint_dir)
    assert honest == c.result.end_state_hash
    tampered = data.checkpoint_state_hash(spec, task_id, data.checkpoint_dir(c.checkpoint_cid))
    assert tampered != c.result.end_state_hash

    # a leaves file for another root, and a checkpoint nobody serves
    other = merkle.write_leaves_file(world.tmp / "other.json", task_id, 0, c.result.steps,
                                     [merkle.keccak(h) for h in c.result.state_hashes])
    from dataclasses import replace

    assert list(claim.leaves) == c.result.leaves  # published on chain with the commit
    claim = replace(claim, leaves=())  # the leaves file path (a claim built by hand)
    assert data.node_leaves(claim, spec.segment_steps) == c.result.leaves
    bad = replace(claim, leaves_cid=world.client.put_file(other))
    with pytest.raises(DataUnavailableError, match="does not rebuild the committed traceRoot"):
        data.node_leaves(bad, spec.segment_steps)
    cid = world.client.put_bytes(b"soon gone")
    world.client.unpin(cid)
    world.client.gc()
    with pytest.raises(DataUnavailableError) as exc:
        data.node_leaves(replace(claim, leaves_cid=cid), spec.segment_steps)
    assert exc.value.what == "leaves"
