"""A juror killed between commit and reveal reveals after a restart (same journal); a silent
juror is penalised. With one juror silent, the two others still form a strict majority of three."""

from __future__ import annotations

from typing import Any

from ledger.protocol import DisputePhase, Outcome
from tests.integration.challenger.conftest import JURORS
from tests.support.actors import DishonestNode, Fault


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
                lambda: restarted.journal.one("SELECT status FROM votes WHERE dispute_id = ?", did) is not None
                and restarted.journal.one("SELECT status FROM votes WHERE dispute_id = ?", did)["status"] == "committed")
    vote = dict(restarted.journal.one("SELECT * FROM votes WHERE dispute_id = ?", did))
    assert p.dispute(did).phase == DisputePhase.COMMIT  # the silent juror has not committed
    restarted.close()  # "killed": only the journal on disk survives
    world.anvil.mine(int(p.jury_params().commitWindow) + 1)  # now in the reveal phase
    assert p.dispute(did).phase == DisputePhase.REVEAL
    reborn = Juror(world.protocol(JURORS[1]), world.client, world.tmp / f"juror{JURORS[1]}", cache_dir=world.cache)
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
