"""`veritrain challenger status` reads the auditor journal (offline when no chain is configured)."""

from __future__ import annotations

import time
from pathlib import Path

from typer.testing import CliRunner

from challenger.auditor import audit_status
from challenger.journal import Journal
from veritrain.cli.main import build_app

E18 = 10**18


def _journal(path: Path) -> Journal:
    j = Journal(path / "auditor.sqlite")
    with j.tx() as db:
        for k, status in enumerate(["ok", "ok", "disputed", "disputed", "skipped", "unprovable"]):
            db.execute("INSERT INTO audits (task_id, k, trace_root, node, status, "
                       "reason, steps, cpu_s) VALUES (1, ?, '0x', 'n', ?, 'r', 8, 1.5)",
                       (k, status))
        db.execute("INSERT INTO disputes (dispute_id, task_id, k, step, node, bond, status) VALUES "
                   "(1, 1, 2, 3, 'n', ?, 'won')", (str(100 * E18),))
        db.execute("INSERT INTO disputes (dispute_id, task_id, k, step, node, bond, status) VALUES "
                   "(2, 1, 3, 9, 'n', ?, 'open')", (str(100 * E18),))
        db.execute("INSERT INTO payouts (amount, at) VALUES (?, ?)", (str(350 * E18), time.time()))
    return j


def test_status_counts_and_money(tmp_path: Path) -> None:
    st = audit_status(_journal(tmp_path))
    assert st["audits_done"] == 5 and st["audits"]["skipped"] == 1
    assert st["disputes"] == {"open": 1, "won": 1, "lost": 0, "void": 0}
    assert st["earnings"] == 250 * E18 and st["bond_at_risk"] == 100 * E18
    assert st["steps_replayed"] == 48


def test_status_command_prints_them(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _journal(tmp_path).close()
    for var in ("VERITRAIN_ADDRESSES", "VERITRAIN_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    r = CliRunner().invoke(build_app(), ["challenger", "status", "--workdir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "disputes        open 1, won 1, lost 0, void 0" in r.output
    assert "earnings        250 (claimed 350)" in r.output and "bond at risk    100" in r.output
    r = CliRunner().invoke(build_app(), ["challenger", "status", "--workdir",
                                         str(tmp_path / "none")])
    assert r.exit_code != 0
