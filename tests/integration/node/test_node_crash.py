"""kill -9 at every crash point of `veritrain node run` (a subprocess), restart, finish the task.

Uses the generic crash-point facility (node/crashpoints.py): VERITRAIN_CRASH_POINT makes the
daemon SIGKILL itself at a named place, exactly like `kill -9` there.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.node.conftest import E18, create_task


def _env(
    anvil, node_store, addresses_file: Path, home: Path, key: str, crash: str | None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update({"VERITRAIN_RPC_URL": anvil.url, "VERITRAIN_IPFS_API": node_store.multiaddr,
                "VERITRAIN_ADDRESSES": str(addresses_file), "VERITRAIN_HOME": str(home),
                "VERITRAIN_PRIVATE_KEY": key})
    env.pop("VERITRAIN_CRASH_POINT", None)
    if crash:
        env["VERITRAIN_CRASH_POINT"] = crash
    return env


def _events(stderr: str) -> list[dict]:
    out = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                out.append(json.loads(line))
    return out


def _check_after_crash(point: str, node, journal, task_id: int) -> None:
    name, _, seg = point.partition("@")
    k = int(seg) if seg else None
    rows = {s.k: s.state for s in journal.segments(task_id)}
    if name == "after-claim":
        assert str(node.task(task_id).node).lower() == node.me.lower()
        assert (
            journal.task(task_id) is None
        )  # claimed on-chain, not journaled: the restart adopts it
    elif name == "mid-step":
        assert k not in rows
    elif name == "after-train":
        assert rows[k] == "trained"
    elif name == "after-upload":
        assert rows[k] == "uploaded" and int(node.task(task_id).nextSegment) == k
    elif name == "after-commit":
        assert (
            rows[k] == "committing" and int(node.task(task_id).nextSegment) == k + 1
        )  # mined, not journaled


def _crash_and_resume(points, segments, published, protocol, anvil, node_store, node_account,
                      deployed_addresses, tmp_path):
    from node.journal import Journal

    task_id = create_task(protocol(1), published, segments=segments, reward=64 * E18, window=5)
    addresses_file = tmp_path / "addresses.json"
    deployed_addresses.save(addresses_file)
    home = tmp_path / "home"
    key = "0x" + bytes(anvil.accounts[2].key).hex()
    before = node_account.balance()
    cmd = [
        sys.executable,
        "-m",
        "veritrain.cli.main",
        "node",
        "run",
        "--task",
        str(task_id),
        "--no-progress",
        "--json-logs",
        "--poll",
        "0.2",
        "--stop-after-tasks",
        "1",
    ]
    trained: list[int] = []

    def run(crash: str | None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        proc = subprocess.Popen(cmd, env=_env(anvil, node_store, addresses_file, home, key, crash),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            if crash is None and int(node_account.task(task_id).nextSegment) == segments:
                anvil.mine(1)  # let the windows pass while the daemon waits for finality
            time.sleep(0.3)
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate()
        trained.extend(int(e["k"]) for e in _events(err) if e.get("event") == "segment-trained")
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)

    for point in points:
        r = run(point)
        assert r.returncode == -signal.SIGKILL, (point, r.stderr[-2000:])
        journal = Journal(home / "node" / "journal.sqlite")
        _check_after_crash(point, node_account, journal, task_id)
        journal.close()

    r = run(None)
    assert r.returncode == 0, r.stderr[-3000:]
    events = node_account.market.events("SegmentCommitted", from_block=0, taskId=task_id)
    assert sorted(int(e["args"]["k"]) for e in events) == list(range(segments))  # exactly one each
    assert sorted(trained) == list(range(segments))  # no finished segment was trained twice
    assert int(node_account.task(task_id).status) == 3
    assert node_account.balance() == before + 64 * E18


def test_kill9_mid_step_after_upload_after_commit_then_resume(
    protocol, anvil, node_store, node_account, tiny2_published, deployed_addresses, tmp_path
):
    _crash_and_resume(
        ["mid-step@0", "after-upload@0", "after-commit@1"],
        2,
        tiny2_published,
        protocol,
        anvil,
        node_store,
        node_account,
        deployed_addresses,
        tmp_path,
    )


@pytest.mark.heavy
def test_kill9_at_every_crash_point_on_a_longer_task(
    protocol, anvil, node_store, node_account, tiny_published, deployed_addresses, tmp_path
):
    _crash_and_resume(
        ["after-claim", "mid-step@0", "after-upload@1", "after-commit@2", "after-train@3"],
        4,
        tiny_published,
        protocol,
        anvil,
        node_store,
        node_account,
        deployed_addresses,
        tmp_path,
    )
