"""The node journal: durable (WAL, fsync), survives reopening, keeps segment and pin states."""

from __future__ import annotations

import sqlite3

import pytest


def test_journal_is_wal_with_full_sync_and_persists_across_reopen(tmp_path):
    from node.journal import Journal

    j = Journal(tmp_path / "j.sqlite")
    assert j._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert j._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    j.set_task(7, 0, "bafyspec", "active")
    j.record_trained(7, 0, "0x" + "aa" * 32, "0x" + "bb" * 32, str(tmp_path / "seg-0"))
    j.record_uploaded(7, 0, "bafyckpt", "bafyleaves")
    j.set_meta("cursor", "12:0xabc")
    j.close()
    j = Journal(tmp_path / "j.sqlite")
    (row,) = j.segments(7)
    assert (row.state, row.checkpoint_cid, row.leaves_cid) == ("uploaded", "bafyckpt", "bafyleaves")
    assert row.checkpoint_dir == tmp_path / "seg-0" / "checkpoint"
    assert j.task(7).state == "active" and j.get_meta("cursor") == "12:0xabc"
    assert sorted(c for c, _, _ in j.pins(7)) == ["bafyckpt", "bafyleaves"]


def test_segment_states_drop_and_unpin_schedule(tmp_path):
    from node.journal import Journal

    j = Journal(tmp_path / "j.sqlite")
    for k in range(3):
        j.record_trained(1, k, "0x00", "0x00", f"/d/{k}")
    j.set_segment_state(1, 0, "committed", 99)
    assert j.segment(1, 0).commit_block == 99
    with pytest.raises(ValueError):
        j.set_segment_state(1, 1, "bogus")
    assert j.drop_segments(1, 1) == 2
    assert [s.k for s in j.segments(1)] == [0]
    j.record_uploaded(1, 0, "c1", "l1")
    assert j.due_unpins(10_000) == []  # not scheduled while the task runs
    j.schedule_unpin(1, 50)
    assert j.due_unpins(50) == [] and sorted(j.due_unpins(51)) == ["c1", "l1"]
    j.forget_pin("c1")
    assert j.due_unpins(51) == ["l1"]


def test_candidates_and_disputes_are_idempotent(tmp_path):
    from node.journal import Journal

    j = Journal(tmp_path / "j.sqlite")
    j.add_candidate(3, "a")
    j.add_candidate(3, "a")  # an event re-delivered after a reorg
    assert j.candidates() == [(3, "a")]
    j.add_dispute(5, 3)
    j.add_dispute(5, 3)
    assert j.open_disputes() == [(5, 3, False)]
    j.add_dispute(5, 4, referee=True)  # the referee numbers its games on its own
    assert j.open_disputes() == [(5, 3, False), (5, 4, True)]
    j.close_dispute(5)
    assert j.open_disputes() == [(5, 4, True)]
    j.close_dispute(5, referee=True)
    assert j.open_disputes() == []


def test_a_journal_from_before_two_adjudicators_keeps_its_disputes_as_the_jurys(tmp_path):
    import sqlite3

    from node.journal import Journal

    path = tmp_path / "j.sqlite"
    old = sqlite3.connect(path)
    old.executescript("CREATE TABLE disputes(dispute_id INTEGER PRIMARY KEY, task_id INTEGER "
                      "NOT NULL, done INTEGER NOT NULL DEFAULT 0);"
                      "INSERT INTO disputes VALUES (7, 2, 0), (8, 2, 1);")
    old.close()
    j = Journal(path)
    assert j.open_disputes() == [(7, 2, False)]
    j.add_dispute(7, 9, referee=True)
    assert j.open_disputes() == [(7, 2, False), (7, 9, True)]


def test_a_corrupt_journal_is_a_clear_error(tmp_path):
    from node.errors import JournalError
    from node.journal import Journal

    bad = tmp_path / "j.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalError, match="cannot open the node journal") as info:
        Journal(bad)
    assert "move the file away" in info.value.hint
    assert isinstance(sqlite3.sqlite_version, str)
