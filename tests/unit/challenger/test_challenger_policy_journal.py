"""Audit policy (secret coin, fresh-node priority, budget) and the durable journal."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from challenger.journal import Journal
from challenger.policy import AuditPolicy, Budget, secret_rng
from ledger.watch import Cursor


def test_fresh_nodes_get_the_fresh_probability_until_they_have_history() -> None:
    p = AuditPolicy(probability=0.05, fresh_probability=0.9, fresh_history=3)
    assert [p.chance(h) for h in range(5)] == [0.9, 0.9, 0.9, 0.05, 0.05]
    assert AuditPolicy(probability=1.7).chance(100) == 1.0


def test_default_coin_is_the_os_csprng() -> None:
    rng = secret_rng()
    assert isinstance(rng, random.SystemRandom)
    # no seed makes it repeat: two coins disagree somewhere in 64 flips
    assert [rng.random() < 0.5 for _ in range(64)] != [
        secret_rng().random() < 0.5 for _ in range(64)
    ]


def test_budget_refills_at_its_rate_and_caps_bursts() -> None:
    now = [0.0]
    b = Budget(3600, burst_hours=0.01, clock=lambda: now[0])  # 1 step/s, burst 36 steps
    assert b.allows(36) and b.allows(
        37
    )  # a segment larger than the cap runs once the bucket is full
    b.spend(36)
    assert not b.allows(8)
    now[0] += 7.9
    assert not b.allows(8)
    now[0] += 0.2
    assert b.allows(8)
    now[0] += 10_000
    b.allows(1)
    assert b.tokens == pytest.approx(36)
    assert Budget(0, 1.0).allows(10**9)


def test_journal_round_trips_cursors_and_decisions(tmp_path: Path) -> None:
    j = Journal(tmp_path / "a.sqlite")
    assert j.cursor("x") is None
    j.save_cursor("x", Cursor(12, "0xab"))
    j.decide("audit", "skipped", "coin p=0.2 miss", task_id=1, k=0)
    j.close()
    j = Journal(tmp_path / "a.sqlite")
    assert j.cursor("x") == Cursor(12, "0xab")
    (row,) = j.decisions("audit")
    assert (row["decision"], row["reason"], row["task_id"]) == ("skipped", "coin p=0.2 miss", 1)
    assert j.one("PRAGMA synchronous")[0] == 2  # FULL: fsync on every commit


def test_journal_write_survives_sigkill_right_after_commit(tmp_path: Path) -> None:
    """A vote written by a process killed right after the write is on disk for the next one."""
    db = tmp_path / "juror.sqlite"
    code = textwrap.dedent(f"""
        import os, signal
        from challenger.journal import Journal
        j = Journal({str(db)!r})
        with j.tx() as c:
            c.execute("INSERT INTO votes (dispute_id, round, leaf, salt, status) "
                      "VALUES (7, 0, '0x11', 'aa', 'prepared')")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert r.returncode == -9
    row = (
        sqlite3.connect(db)
        .execute("SELECT leaf, salt, status FROM votes WHERE dispute_id = 7")
        .fetchone()
    )
    assert row == ("0x11", "aa", "prepared")


def test_journal_migrates_audits_keyed_by_root_to_commitment_key(tmp_path: Path) -> None:
    """A journal written when audits were keyed by (task, k, root) keeps its rows and gets the
    (task, k, root, commit block) key, so a recommit of the same root is a second row."""
    path = tmp_path / "auditor.sqlite"
    db = sqlite3.connect(str(path))
    db.execute(
        "CREATE TABLE audits (task_id INTEGER, k INTEGER, trace_root TEXT, node TEXT, "
        "committed_block "
        "INTEGER, checkpoint_cid TEXT, leaves_cid TEXT, status TEXT, reason TEXT, steps INTEGER "
        "DEFAULT 0, "
        "cpu_s REAL DEFAULT 0, dispute_id INTEGER, updated REAL, PRIMARY KEY (task_id, k, "
        "trace_root))"
    )
    db.execute("INSERT INTO audits (task_id, k, trace_root, node, committed_block, status) "
               "VALUES (1, 0, '0xab', '0xn1', 10, 'ok')")
    db.commit()
    db.close()
    j = Journal(path)
    assert [
        dict(r)
        for r in j.rows("SELECT task_id, k, trace_root, node, committed_block, status FROM audits")
    ] == [
        {
            "task_id": 1,
            "k": 0,
            "trace_root": "0xab",
            "node": "0xn1",
            "committed_block": 10,
            "status": "ok",
        }
    ]
    with j.tx() as d:
        d.execute("INSERT INTO audits (task_id, k, trace_root, node, committed_block, status) "
                  "VALUES (1, 0, '0xab', '0xn2', 30, 'queued')")
    assert len(j.rows("SELECT 1 FROM audits")) == 2
    j.close()
    assert (
        len(Journal(path).rows("SELECT 1 FROM audits")) == 2
    )  # a second open does not migrate again
