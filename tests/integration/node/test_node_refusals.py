"""Bad input: tasks the node must refuse before claiming, with a clear reason."""

from __future__ import annotations

import pytest

from node.daemon import Activity, Iteration
from node.journal import TaskState
from tests.integration.node.conftest import E18, create_task


def test_spec_with_a_profile_this_process_cannot_run_is_refused_before_claiming(
        protocol, node_account, client, node_store, tmp_path):
    from materials import publish
    from node.daemon import NodeDaemon
    from node.errors import TaskRefusedError
    from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec

    spec = preset_spec("tiny", profile_name="stock-sse-1", totalSteps=16, segmentSteps=8)
    pub = publish(client, spec, default_teacher_dir(), default_dataset_dir(spec.seq_len))
    task_id = create_task(protocol(1), pub, segments=2)
    daemon = NodeDaemon(node_account, client, tmp_path / "node")
    with pytest.raises(TaskRefusedError, match="profile stock-sse-1") as info:
        daemon.check_task(task_id, pub.spec_cid)
    assert info.value.reason == "profile"
    assert daemon.run_once() == Iteration(Activity.IDLE)
    row = daemon.journal.task(task_id)
    assert row.state == TaskState.REFUSED and "stock-sse-1" in row.reason
    assert int(node_account.task(task_id).status) == 1  # still Open: never claimed
    assert int(node_account.stake_info().locked) == 0
    daemon.close()


def test_spec_cid_whose_content_does_not_match_the_onchain_hash_is_refused(
        protocol, node_account, client, tiny_published, tmp_path, caplog):
    from materials import SpecHashMismatchError
    from node.daemon import NodeDaemon

    wrong_hash = bytes.fromhex("11" * 32)
    task_id = create_task(protocol(1), tiny_published, segments=4, spec_hash=wrong_hash)
    daemon = NodeDaemon(node_account, client, tmp_path / "node")
    with pytest.raises(SpecHashMismatchError, match="the chain says 0x1111"):
        daemon.check_task(task_id, tiny_published.spec_cid)
    caplog.set_level("ERROR", logger="node.daemon")
    assert daemon.run_once() == Iteration(Activity.IDLE)
    assert daemon.journal.task(task_id).state == TaskState.REFUSED
    assert any(
        "task-refused" in r.getMessage() and "hashes to" in r.getMessage() for r in caplog.records
    )
    assert int(node_account.task(task_id).status) == 1
    daemon.close()


def test_policy_refuses_a_low_reward_and_waits_for_stake(
    protocol, client, tiny_published, tmp_path
):
    from node.daemon import NodeDaemon
    from node.policy import Policy

    requester = protocol(1)
    cheap = create_task(requester, tiny_published, segments=4, reward=32 * E18)  # 1 token per step
    poor = protocol(3)  # funded, nothing staked
    daemon = NodeDaemon(poor, client, tmp_path / "node", Policy(min_reward_per_step=2 * E18))
    assert daemon.run_once() == Iteration(Activity.IDLE)
    assert daemon.journal.task(cheap).reason.startswith(f"task {cheap} pays")
    rich = create_task(requester, tiny_published, segments=4, reward=640 * E18)
    assert daemon.run_once() == Iteration(
        Activity.IDLE
    )  # not enough free stake: skipped, not refused
    assert daemon.journal.task(rich) is None
    poor.deposit(1000 * E18)
    assert daemon.run_once() == Iteration(Activity.CLAIMED, rich)
    daemon.close()
