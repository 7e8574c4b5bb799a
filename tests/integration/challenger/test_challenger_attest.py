"""Audit attestations on the real stack: the real auditor attests what it audited in the
AuditRegistry (staked, not the node, once per commitment) and `veritrain pull` counts them,
refusing a checkpoint with an unaudited segment unless --allow-unaudited."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ledger import audits
from ledger.audits import AuditResult
from ledger.errors import revert_error
from tests.support.actors import DishonestNode, Fault

E18 = 10**18
#: Two staked auditors, one unstaked account that audits too.
AUDITOR_A, AUDITOR_B, UNSTAKED = 2, 6, 7


def _counts(p: Any, task_id: int, k: int) -> tuple[int, int, set[str]]:
    sa = audits.segment_audits(p, task_id, k, p.segment(task_id, k))
    return sa.ok, sa.fault, {a.auditor for a in sa.attestations}


def test_pull_counts_independent_audits_and_refuses_unaudited_segments(
    world: Any, store_handle: Any
) -> None:
    from consumer.errors import UnauditedError
    from consumer.pull import pull
    from veritrain.cli.main import main

    minimum = int(world.protocol(AUDITOR_A).chain.contract(
        "AuditRegistry", world.protocol(AUDITOR_A).addresses.auditRegistry).call("minAuditorStake"))
    world.protocol(AUDITOR_A).deposit(minimum)
    world.protocol(AUDITOR_B).deposit(minimum)
    task_id = world.post_task(challenge_window=40)
    node = world.node()
    node.claim(task_id)
    a, b, unstaked = (world.auditor(i) for i in (AUDITOR_A, AUDITOR_B, UNSTAKED))
    node.commit(task_id, 0)
    for bot in (a, b, unstaked):
        bot.run_once()
    p = node.protocol
    addr = {i: world.protocol(i).me for i in (AUDITOR_A, AUDITOR_B, UNSTAKED)}
    assert _counts(p, task_id, 0) == (2, 0, {addr[AUDITOR_A], addr[AUDITOR_B]})
    failed = [r["reason"] for r in unstaked.journal.decisions("audit")
              if r["decision"] == "attest failed"]
    assert len(failed) == 1 and "AuditorStakeTooLow" in failed[0], failed
    # the node cannot attest its own commitment, nor an auditor twice
    c = node.protocol.segment(task_id, 0)
    with pytest.raises(revert_error("AuditorIsNode")):
        audits.attest(p, task_id, 0, c.traceRoot, c.endStateHash, c.committedAt, AuditResult.OK)
    with pytest.raises(revert_error("AlreadyAttested")):
        audits.attest(world.protocol(AUDITOR_A), task_id, 0, c.traceRoot, c.endStateHash,
                      c.committedAt, AuditResult.OK)

    node.commit(task_id, 1)  # nobody has audited segment 1 yet
    out = world.tmp / "student"
    refused = r"segment\(s\) 1 of task .* no independent audit"
    with pytest.raises(UnauditedError, match=refused) as e:
        pull(p, world.client, task_id, out, segment=1, allow_unfinalized=True)
    assert e.value.segments == [1] and not out.exists()
    res = pull(p, world.client, task_id, out, segment=1, allow_unfinalized=True,
               allow_unaudited=True)
    got = [(d["segment"], d["ok"], d["fault"]) for d in res.provenance["audits"]]
    assert got == [(0, 2, 0), (1, 0, 0)]

    a.run_once()  # auditor A audits segment 1
    world.anvil.mine(41)
    out2 = world.tmp / "student2"
    lines: list[str] = []
    res = pull(p, world.client, task_id, out2, log=lines.append)
    assert (res.segment, res.final) == (1, True)
    doc = json.loads((out2 / "provenance.json").read_text())["audits"]
    assert [(d["segment"], d["ok"], d["fault"]) for d in doc] == [(0, 2, 0), (1, 1, 0)]
    assert {x["address"] for x in doc[0]["auditors"]} == {addr[AUDITOR_A], addr[AUDITOR_B]}
    assert doc[1]["auditors"] == [{"address": addr[AUDITOR_A], "result": "ok",
                                   "block": doc[1]["auditors"][0]["block"]}]
    assert any("segment 0: 2 independent audit(s) ok by" in x for x in lines), lines

    # the CLI: refused (exit 5) for a task nobody audited, taken with --allow-unaudited
    other = world.post_task(challenge_window=1)
    node.claim(other)
    node.commit(other, 0)
    world.anvil.mine(3)
    path = world.tmp / "addresses.json"
    p.addresses.save(path)
    common = ["--task", str(other), "--segment", "0", "--no-eval", "--rpc", world.anvil.url,
              "--ipfs", store_handle.url, "--addresses", str(path)]
    assert main(["pull", "--out", str(world.tmp / "cli"), *common]) == 5
    assert not (world.tmp / "cli").exists()
    assert main(["pull", "--out", str(world.tmp / "cli2"), "--allow-unaudited", *common]) == 0
    assert json.loads((world.tmp / "cli2" / "provenance.json").read_text())["audits"] == [
        {"segment": 0, "ok": 0, "fault": 0, "auditors": []}]


def test_auditor_attests_a_fault_when_it_disputes(world: Any) -> None:
    auditor_p = world.protocol(AUDITOR_A)
    auditor_p.deposit(100 * E18)
    task_id = world.post_task(challenge_window=40)
    node = world.node(DishonestNode, fault=Fault.WRONG_LEAF_AT_STEP, step=4)
    node.claim(task_id)
    node.commit(task_id, 0)
    bot = world.auditor(AUDITOR_A)
    bot.run_once()
    assert bot.status()["disputes"]["open"] == 1
    assert _counts(node.protocol, task_id, 0) == (0, 1, {auditor_p.me})
    attested = [r["reason"] for r in bot.journal.decisions("audit") if r["decision"] == "attested"]
    assert attested == ["fault"]
