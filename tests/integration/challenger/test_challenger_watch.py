"""The auditor's event intake: a restart resumes from the journalled cursor (no re-audit, no
second coin), and a reorg that replaces a commit delivers the new one (the old row goes stale)."""

from __future__ import annotations

from typing import Any

from challenger.policy import AuditPolicy
from prover import merkle

E18 = 10**18


def _fake_task(world: Any, segments: int) -> tuple[Any, int]:
    req, node = world.protocol(0), world.protocol(1)
    task = req.create_task("bafy-fake", b"\x01" * 32, E18, total_steps=segments, segment_steps=1,
                           challenge_window=1000, segment_deadline=1000, node_stake=E18)
    node.deposit(E18)
    node.claim_task(task)
    return node, task


def _commit(node: Any, task: int, k: int, tag: bytes) -> bytes:
    root = merkle.keccak(tag + bytes([k]))
    # one step a segment: the root is the leaf
    node.commit_segment(task, k, root, root, f"ckpt-{k}", f"leaves-{k}", leaves=[root])
    return root


def test_restart_resumes_from_the_cursor(world: Any) -> None:
    node, task = _fake_task(world, 4)
    for k in range(3):
        _commit(node, task, k, b"a")
    a = world.auditor(policy=AuditPolicy(probability=0.0, fresh_probability=0.0))
    a.ingest()
    assert [r["status"] for r in a.journal.rows("SELECT status FROM audits ORDER BY k")] == [
        "skipped"
    ] * 3
    n_decisions = len(a.journal.decisions())
    a.journal.close()
    _commit(node, task, 3, b"a")
    b = world.auditor(policy=AuditPolicy(probability=0.0, fresh_probability=0.0))  # same workdir
    b.ingest()
    assert [int(r["k"]) for r in b.journal.rows("SELECT k FROM audits ORDER BY k")] == [0, 1, 2, 3]
    assert len(b.journal.decisions()) == n_decisions + 1
    assert "coin p=0.000 miss" in b.journal.decisions()[-1]["reason"]


def test_reorg_replacing_a_commit_is_picked_up(world: Any) -> None:
    node, task = _fake_task(world, 2)
    snap = world.anvil.rpc("evm_snapshot")
    old = _commit(node, task, 0, b"old")
    world.anvil.mine(2)
    a = world.auditor(policy=AuditPolicy(probability=0.0, fresh_probability=0.0))
    a.ingest()
    world.anvil.rpc("evm_revert", snap)
    new = _commit(node, task, 0, b"new")  # the same height, another block
    world.anvil.mine(3)
    a.ingest()
    roots = {r["trace_root"] for r in a.journal.rows("SELECT trace_root FROM audits")}
    assert roots == {merkle.hex32(old), merkle.hex32(new)}
    assert a.watcher.reorgs == 1
    # a queued audit of the replaced commit is dropped as stale, never replayed
    with a.journal.tx() as db:
        db.execute("UPDATE audits SET status = 'queued' WHERE trace_root = ?", (merkle.hex32(old),))
        db.execute(
            "UPDATE audits SET status = 'skipped' WHERE trace_root = ?", (merkle.hex32(new),)
        )
    assert a.audit_next() is False
    (row,) = a.journal.rows("SELECT status FROM audits WHERE trace_root = ?", merkle.hex32(old))
    assert row["status"] == "stale"


def test_run_loops_until_stopped(world: Any) -> None:
    """The daemons' `run(stop_event)` (what the CLI and the demo call) iterate and return on
    stop."""
    import threading
    import time

    node, task = _fake_task(world, 2)
    _commit(node, task, 0, b"a")
    auditor = world.auditor(policy=AuditPolicy(probability=0.0, fresh_probability=0.0))
    juror = world.juror(3)
    stop = threading.Event()
    threads = [threading.Thread(target=bot.run, args=(stop, 0.05)) for bot in (auditor, juror)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while not auditor.journal.rows("SELECT 1 FROM audits") and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert len(auditor.journal.rows("SELECT 1 FROM audits")) == 1
    assert juror.protocol.stake_info().juror


def test_recommit_of_the_same_root_after_a_reopen_is_a_new_audit(world: Any) -> None:
    """After a reopen (here a stall), another node commits the very same root: a new commitment,
    queued on its own coin; the first node's queued row is stale (the segment's committedAt
    moved)."""
    req, first, second = world.protocol(0), world.protocol(1), world.protocol(6)
    task = req.create_task("bafy-fake", b"\x01" * 32, E18, total_steps=2, segment_steps=1,
                           challenge_window=1000, segment_deadline=3, node_stake=E18)
    first.deposit(E18)
    first.claim_task(task)
    root = _commit(first, task, 0, b"same")
    a = world.auditor(policy=AuditPolicy(probability=1.0))
    a.ingest()
    world.anvil.mine(5)
    req.timeout_stall(task)  # segment 1 missed its deadline: reopened from segment 0
    second.deposit(E18)
    second.claim_task(task)
    assert _commit(second, task, 0, b"same") == root
    a.ingest()
    a.ingest()  # re-delivery is idempotent
    rows = a.journal.rows(
        "SELECT node, committed_block, status FROM audits ORDER BY committed_block"
    )
    assert [(r["node"].lower(), r["status"]) for r in rows] == [(first.me.lower(), "queued"),
                                                                (second.me.lower(), "queued")]
    assert rows[1]["committed_block"] == int(req.segment(task, 0).committedAt)
    claim = a.data.claim(task, 0)
    assert claim.node.lower() == second.me.lower() and claim.block == rows[1]["committed_block"]
    # the first commitment is no longer on chain: dropped as stale, never replayed
    with a.journal.tx() as db:
        db.execute("UPDATE audits SET status = 'skipped' WHERE node = ?", (second.me,))
    assert a.audit_next() is False
    assert a.journal.one("SELECT status FROM audits WHERE node = ?", first.me)["status"] == "stale"
