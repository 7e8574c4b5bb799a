"""A node serves a whole task: claim, 4 segments trained/uploaded/committed, reward after the
windows."""

from __future__ import annotations

from node.daemon import Activity, Iteration
from tests.integration.node.conftest import E18, create_task, drive, replay_roots_in_subprocess


def test_node_serves_a_whole_task_and_every_commitment_replays(
    protocol, anvil, node_account, client, tiny_published, tmp_path
):
    from node.daemon import NodeDaemon
    from prover import merkle

    requester = protocol(1)
    task_id = create_task(requester, tiny_published, segments=4, reward=64 * E18)
    daemon = NodeDaemon(node_account, client, tmp_path / "node")
    before = node_account.balance()
    drive(daemon, lambda: int(node_account.task(task_id).nextSegment) == 4)
    task = node_account.task(task_id)
    assert str(task.node).lower() == node_account.me.lower()
    roots = ["0x" + bytes(node_account.segment(task_id, k).traceRoot).hex() for k in range(4)]

    # Every commitment: exactly one SegmentCommitted per segment, data pinned, and a separate
    # process replaying the task from the spec gets the same roots.
    events = node_account.market.events("SegmentCommitted", from_block=0, taskId=task_id)
    assert sorted(int(e["args"]["k"]) for e in events) == [0, 1, 2, 3]
    for e in events:
        assert client.is_pinned(e["args"]["checkpointCid"]) and client.is_pinned(
            e["args"]["leavesCid"]
        )
        doc = daemon.materials.leaves(e["args"]["leavesCid"])
        lv = [
            merkle.leaf(task_id, t, h)
            for t, h in zip(doc["steps"], doc["stateHashes"], strict=True)
        ]
        assert merkle.trace_root(lv) == bytes(e["args"]["traceRoot"])
    spec = tiny_published.spec
    replayed = replay_roots_in_subprocess(
        tiny_published,
        task_id,
        32,
        daemon.materials.teacher_dir(spec),
        daemon.materials.dataset_dir(spec),
        tmp_path,
    )
    assert replayed == roots

    # Not final yet: no reward. After the challenge window: the reward is paid and the task done.
    assert daemon.run_once().activity == Activity.WAITING
    assert node_account.balance() == before
    anvil.mine(11)
    drive(daemon, lambda: daemon.rewarded == [task_id])
    assert int(node_account.task(task_id).status) == 3  # Completed
    assert node_account.balance() == before + 64 * E18
    assert daemon.run_once() == Iteration(Activity.IDLE)
    # Pins are kept until the margin has passed, then released.
    assert all(after is not None for _, _, after in daemon.journal.pins(task_id))
    anvil.mine(daemon.policy.unpin_margin_blocks + 1)
    daemon.run_once()
    assert daemon.journal.pins(task_id) == []
    daemon.close()
