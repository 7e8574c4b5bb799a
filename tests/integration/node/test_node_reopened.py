"""A task reopened from segment f: the next node starts from segment f-1's checkpoint on IPFS."""

from __future__ import annotations

from node.daemon import Activity, Iteration
from node.journal import SegmentState, TaskState
from tests.integration.node.conftest import E18, create_task, drive


def test_second_node_continues_a_stalled_task_from_the_committed_checkpoint(
        protocol, anvil, node_account, client, tiny2_published, tmp_path, caplog):
    from node.daemon import NodeDaemon

    requester = protocol(1)
    task_id = create_task(requester, tiny2_published, segments=2, window=3, deadline=20)
    first = NodeDaemon(node_account, client, tmp_path / "first")
    drive(
        first,
        lambda: (
            (s := first.journal.segment(task_id, 0)) is not None
            and s.state == SegmentState.COMMITTED
            and not first._busy()
        ),
    )
    first_pins = {cid for cid, _, _ in first.journal.pins(task_id)}
    # The first node goes away; after the deadline anyone times it out: reopened from segment 1.
    anvil.mine(25)
    requester.timeout_stall(task_id)
    task = requester.task(task_id)
    assert int(task.status) == 1 and int(task.nextSegment) == 1

    second_account = protocol(3)
    second_account.deposit(2000 * E18)
    second = NodeDaemon(second_account, client, tmp_path / "second")
    caplog.set_level("INFO", logger="node.work")
    drive(second, lambda: int(second_account.task(task_id).nextSegment) == 2)
    assert any(
        "fetch-checkpoint" in r.getMessage() and "k=0" in r.getMessage() for r in caplog.records
    )
    assert [s.k for s in second.journal.segments(task_id)] == [1]  # segment 0 was not retrained
    anvil.mine(4)
    drive(second, lambda: second.rewarded == [task_id])

    # The first node sees it lost the task; its data stays pinned until the task is complete +
    # margin.
    assert first.run_once() == Iteration(Activity.LOST, task_id)
    first.run_once()
    assert first.journal.task(task_id).state == TaskState.LOST
    assert all(client.is_pinned(cid) for cid in first_pins)
    assert all(after is not None for _, _, after in first.journal.pins(task_id))
    first.close()
    second.close()
