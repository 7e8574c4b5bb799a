"""The verdict of a settled referee game, read from public data (the adjudicator's events and
the deciding transaction's calldata) and put in words, on the real stack: anvil, the real
contracts with a market wired to OneStepAdjudicator, the embedded store over HTTP, real tiny
training, the real auditor bot against a node bot whose step 3 reads a weight one ulp up.

The report must name the op, the element and the scalar step where that weight enters, show
the opened weight as the honest one and the node's product as the product with the weight one
ulp up; ``veritrain referee show`` prints it (and its JSON), and refuses an unsettled game and
an unknown id with a clear message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ledger.protocol import Outcome
from ledger.referee import GamePhase, Referee
from ledger.verdict import Decision, GameNotSettledError, read_game_end
from prover.trace.evaluate import bits, fma, from_bits, mul
from prover.trace.game import load_view
from prover.trace.kinds import Opcode, OpKind, RefKind
from prover.trace.verdict import report, text, ulp_distance
from tests.support.actors import E18
from tests.support.referee import WEIGHT, SteppedNode, cached_view, one_ulp, refereed_task
from veritrain.cli.main import main

REQUESTER, NODE, CHALLENGER = 0, 1, 2
FAULT_STEP = 3
#: one_ulp moves WEIGHT's flat element 3: row 0, column 3 of the [out, in] weight.
WEIGHT_AT = (0, 3)


class _Bot:
    """One bot's moves in one game, stepped as the daemons' loops step them."""

    def __init__(self, bot: Any, dispute_id: int) -> None:
        self.bot, self.did = bot, dispute_id

    def run_once(self) -> None:
        self.bot.play(self.did)


def _cli(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
         *args: str) -> tuple[int, str, str]:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("VERITRAIN_CONFIG", raising=False)
    capsys.readouterr()
    rc = main(["referee", "show", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def _env(world: Any, tmp_path: Path) -> dict[str, str]:
    addresses = tmp_path / "addresses.json"
    world.protocol(REQUESTER).addresses.save(addresses)
    return {"VERITRAIN_RPC_URL": world.anvil.url, "VERITRAIN_ADDRESSES": str(addresses)}


def test_report_names_the_op_element_and_step_of_a_one_ulp_weight_fault(
        world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from challenger.auditor import Auditor
    from challenger.policy import AuditPolicy

    p = world.protocol(REQUESTER)
    node = SteppedNode(world.protocol(NODE), world.client, world.tmp / "node", world.cache,
                       fault_step=FAULT_STEP, mutate=one_ulp)
    auditor = Auditor(world.protocol(CHALLENGER), world.client, world.tmp / "auditor",
                      AuditPolicy(probability=1.0), cache_dir=world.cache)
    node.protocol.deposit(1000 * E18)
    task = refereed_task(world, requester=p)
    node.protocol.claim_task(task)
    node.commit(task, 0)
    auditor.run_once()
    (row,) = auditor.journal.rows("SELECT * FROM disputes")
    did = int(row["dispute_id"])
    referee = Referee(p)
    env = _env(world, tmp_path)

    bots = [_Bot(node.bot(), did), auditor]
    world.drive(bots, lambda: referee.game(did).phase >= GamePhase.SHAPE, max_blocks=30)
    with pytest.raises(GameNotSettledError) as unsettled:
        read_game_end(referee, did)
    assert unsettled.value.phase == referee.game(did).phase
    rc, _, err = _cli(env, monkeypatch, capsys, str(did))
    assert rc == 1 and f"game {did} is not settled" in err and "resolve" in err, err

    world.drive(bots, lambda: referee.game(did).phase == GamePhase.RESOLVED, max_blocks=60)
    end = read_game_end(referee, did)
    assert (end.outcome, end.decision, end.step) == (Outcome.NODE_WRONG, Decision.STEP, FAULT_STEP)
    slash = p.dispute_slash(task)
    to_requester = slash * int(p.market_params().requesterShareBps) // 10_000
    assert end.winner == auditor.protocol.me and end.slashed == slash
    assert end.slash_to_adjudicator == slash - to_requester
    assert end.checked is not None and end.element is not None and end.op_index is not None

    # the auditor's honest trace of step 3: its graph names the ops, its state the weight
    cache = world.tmp / "auditor" / "referee" / str(did)
    view = load_view(cache)
    assert view is not None
    graph = view.recorded.graph
    doc = report(end, graph)
    op = graph.ops[end.op_index]
    w = graph.state_names.index(WEIGHT)
    assert op.kind is OpKind.GEMM and any(s.ref == type(s.ref)(RefKind.STATE, w)
                                          for s in op.slots)
    assert doc["op"]["kind"] == "GEMM" and WEIGHT in doc["op"]["name"]
    # the element: out[m, n] = sum_k x[m, k] * W[n, k]; the moved weight is W[0, 3]: n = 0
    _, _, n_, _, fused, _ = op.kattrs
    assert end.element % n_ == WEIGHT_AT[0], doc["element"]
    # the scalar step: the product of k = 3 (FMA on repfma, MUL then ADD on repcpu)
    k = WEIGHT_AT[1]
    chk = doc["check"]
    assert chk["s"] == (k if fused else 2 * k) and chk["opcode"] == ("FMA" if fused else "MUL")
    assert Opcode[chk["opcode"]] in (Opcode.MUL, Opcode.FMA)
    a, b = chk["operands"][:2]
    assert b["kind"] == "input" and f"{WEIGHT}[{WEIGHT_AT[0]}, {WEIGHT_AT[1]}]" in b["source"]
    honest = view.tensors.state[w].reshape(-1)[WEIGHT_AT[0] * view.state_shapes[w][1] + k]
    assert int(b["bits"], 16) == bits(honest)
    # the node multiplied by the weight one ulp up; binary32 by the committed weight
    x = from_bits(int(a["bits"], 16))
    up = np.nextafter(honest, np.float32(np.inf), dtype=np.float32)
    if fused:  # FMA(x, w, acc): acc is the node's own earlier result, the same on both sides
        acc = from_bits(int(chk["operands"][2]["bits"], 16))
        assert int(chk["claimed"], 16) == bits(fma(x, up, acc))
        assert int(chk["computed"], 16) == bits(fma(x, honest, acc))
    else:
        assert int(chk["claimed"], 16) == bits(mul(x, up))
        assert int(chk["computed"], 16) == bits(mul(x, honest))
    assert chk["computed"] == chk["reference"] and chk["claimed"] != chk["computed"]
    ulps = ulp_distance(int(chk["claimed"], 16), int(chk["computed"], 16))
    assert ulps is not None and chk["ulps"] == ulps >= 1
    assert doc["element"]["programSteps"] == view.recorded.graph.ops[op.index].kattrs[3] * (
        1 if fused else 2) + op.kattrs[5]
    shown = text(doc)
    assert f"step {FAULT_STEP}: NODE WRONG" in shown and "binary32 gives:" in shown
    assert "ulp apart" in shown and f"op {op.index} GEMM" in shown

    # the CLI prints the same report from the chain (and its JSON)
    rc, out, err = _cli(env, monkeypatch, capsys, str(did), "--graph", str(cache))
    assert rc == 0, err
    assert out.strip() == shown
    rc, out, err = _cli(env, monkeypatch, capsys, str(did), "--graph", str(cache), "--json")
    assert rc == 0 and json.loads(out) == json.loads(json.dumps(doc)), err
    rc, out, _ = _cli(env, monkeypatch, capsys, str(did))
    assert rc == 0 and f"op {op.index} GEMM" in out and WEIGHT not in out  # no graph: no names


def test_show_refuses_an_unknown_dispute_and_a_missing_graph(
        world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    env = _env(world, tmp_path)
    rc, _, err = _cli(env, monkeypatch, capsys, "7")
    assert rc == 1 and "has no game 7" in err and "hint" in err, err
    rc, _, err = _cli(env, monkeypatch, capsys, "7", "--graph", str(tmp_path / "none.json"))
    assert rc == 2 and "no step graph at" in err, err


def test_the_demo_cheat_in_a_node_daemon_loses_at_the_product_of_the_moved_weight(
        world: Any) -> None:
    """The demo's story at test scale: the real NodeDaemon trains with ``DemoCheat`` (one weight
    one ulp up just before step 3) and defends it with the same move in its re-trace; the
    auditor's game ends at the GEMM that reads that weight, at its element W[0, 0]."""
    from challenger.auditor import Auditor
    from challenger.policy import AuditPolicy
    from deploy.demo_actors import DemoCheat
    from node.daemon import NodeDaemon

    p, node = world.protocol(REQUESTER), world.protocol(NODE)
    node.deposit(1000 * E18)
    task = refereed_task(world, requester=p)
    node.claim_task(task)
    cheat = DemoCheat(FAULT_STEP)
    daemon = NodeDaemon(node, world.client, world.tmp / "node", hooks=cheat,
                        retrace_mutation=cheat.mutation)
    auditor = Auditor(world.protocol(CHALLENGER), world.client, world.tmp / "auditor",
                      AuditPolicy(probability=1.0), cache_dir=world.cache)
    referee = Referee(p)
    try:
        world.drive([daemon], lambda: bool(p.segment(task, 0).committed), max_blocks=20)
        assert cheat.fired
        auditor.run_once()
        (row,) = auditor.journal.rows("SELECT * FROM disputes")
        did = int(row["dispute_id"])
        assert row["step"] == FAULT_STEP
        world.drive([daemon, auditor], lambda: referee.game(did).phase == GamePhase.RESOLVED,
                    max_blocks=80)
    finally:
        daemon.close()
    end = read_game_end(referee, did)
    assert (end.outcome, end.decision) == (Outcome.NODE_WRONG, Decision.STEP)
    view = cached_view(world.tmp / "auditor" / "referee" / str(did))
    assert view is not None
    doc = report(end, view.recorded.graph)
    assert doc["op"]["kind"] == "GEMM" and cheat.param in doc["op"]["name"]
    chk = doc["check"]
    assert any(o["source"].endswith(f"{cheat.param}[0, 0]") for o in chk["operands"]), chk
    assert chk["claimed"] != chk["computed"] == chk["reference"]
