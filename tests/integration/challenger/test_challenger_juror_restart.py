"""A juror killed between commit and reveal reveals after a restart (same journal); a silent
juror is penalised. With one juror silent, the two others still form a strict majority of three."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.protocol import DisputePhase, Outcome
from tests.support.actors import DishonestNode, Fault
from tests.support.bots import JURORS

VOTE_STATUS = "SELECT status FROM votes WHERE dispute_id = ?"


def test_juror_restarted_after_commit_reveals_and_silent_juror_is_penalised(world: Any) -> None:
    from challenger.juror import Juror

    steady, restarted = world.juror(JURORS[0]), world.juror(JURORS[1])
    silent = world.juror(JURORS[2])  # opted in, never runs
    task_id = world.post_task()
    node = world.node(DishonestNode, fault=Fault.WRONG_LEAF_AT_STEP, step=1)
    node.claim(task_id)
    node.commit(task_id, 0)
    auditor = world.auditor()
    auditor.run_once()
    (row,) = auditor.journal.rows("SELECT dispute_id FROM disputes")
    did = int(row["dispute_id"])
    p = auditor.protocol

    world.drive([auditor, steady, restarted],
                lambda: (row := restarted.journal.one(VOTE_STATUS, did)) is not None
                and row["status"] == "committed")
    vote = dict(restarted.journal.one("SELECT * FROM votes WHERE dispute_id = ?", did))
    assert p.dispute(did).phase == DisputePhase.COMMIT  # the silent juror has not committed
    restarted.close()  # "killed": only the journal on disk survives
    # the reveal phase
    world.anvil.mine(int(p.dispute(did).commitDeadline) - p.chain.block_number() + 1)
    assert p.dispute(did).phase == DisputePhase.REVEAL
    reborn = Juror(world.protocol(JURORS[1]), world.client, world.tmp / f"juror{JURORS[1]}",
                   cache_dir=world.cache)
    reborn.run_once()
    assert p.vote(did, reborn.protocol.me).revealed
    assert bytes(p.vote(did, reborn.protocol.me).leaf).hex() == vote["leaf"][2:]

    penalty = int(p.jury_params().jurorPenalty)
    silent_before = int(p.stake_info(silent.protocol.me).staked)
    world.drive([auditor, steady, reborn], lambda: int(p.dispute(did).outcome) != 0)
    assert Outcome(int(p.dispute(did).outcome)) == Outcome.NODE_WRONG
    assert int(p.stake_info(silent.protocol.me).staked) == silent_before - penalty
    penalised = p.jury.events("JurorPenalised", from_block=0, disputeId=did)
    assert [e["args"]["juror"] for e in penalised] == [silent.protocol.me]


@pytest.mark.heavy
def test_juror_process_killed_after_commit_reveals_after_restart(
        world: Any, deployed_addresses: Any, store_handle: Any) -> None:
    """`veritrain juror run` as a real process, SIGKILLed once its vote is committed; a new
    `veritrain juror run --once` in the reveal phase reveals the journalled vote."""
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    addresses = world.tmp / "addresses.json"
    deployed_addresses.save(addresses)
    acct = world.anvil.accounts[JURORS[1]]
    world.protocol(JURORS[1])  # funded
    home = world.tmp / "juror-home"
    env = {**os.environ, "VERITRAIN_RPC_URL": world.anvil.url,
           "VERITRAIN_IPFS_API": store_handle.url,
           "VERITRAIN_PRIVATE_KEY": acct.key.hex(), "VERITRAIN_ADDRESSES": str(addresses),
           "VERITRAIN_HOME": str(home)}
    env.pop("VERITRAIN_KEYSTORE", None)
    cmd = [sys.executable, "-m", "veritrain.cli.main", "juror", "run", "--poll", "0.2"]
    db = home / "juror" / "juror.sqlite"

    def vote_status() -> str | None:
        if not db.is_file():
            return None
        row = sqlite3.connect(db).execute("SELECT status FROM votes").fetchone()
        return row[0] if row else None

    steady, late = world.juror(JURORS[0]), world.juror(JURORS[2])  # late: misses the commit window
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        p = steady.protocol
        deadline = time.monotonic() + 120
        while not p.stake_info(acct.address).juror:
            assert proc.poll() is None and time.monotonic() < deadline, (
                proc.stderr.read().decode() if proc.stderr else "")
            time.sleep(0.3)
        task_id = world.post_task()
        node = world.node(DishonestNode, fault=Fault.WRONG_LEAF_AT_STEP, step=2)
        node.claim(task_id)
        node.commit(task_id, 0)
        auditor = world.auditor()
        auditor.run_once()
        (row,) = auditor.journal.rows("SELECT dispute_id FROM disputes")
        did = int(row["dispute_id"])
        world.drive([auditor, steady], lambda: p.dispute(did).phase == DisputePhase.COMMIT)
        while vote_status() != "committed":  # no blocks mined: the commit window stays open
            assert proc.poll() is None and time.monotonic() < deadline + 120
            time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert p.vote(did, acct.address).committed and not p.vote(did, acct.address).revealed
    world.anvil.mine(int(p.dispute(did).commitDeadline) - p.chain.block_number() + 1)
    r = subprocess.run([*cmd, "--once"], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert p.vote(did, acct.address).revealed and vote_status() == "revealed"
    world.drive([auditor, steady, late], lambda: int(p.dispute(did).outcome) != 0)
    assert Outcome(int(p.dispute(did).outcome)) == Outcome.NODE_WRONG
