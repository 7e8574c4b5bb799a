"""The demo's whole story, smaller (tiny student, 2 segments per task), in the default test run.

Real anvil and store processes, the real node daemons and auditor, real training: the cheating
node's weight moved by one ulp must be found at its exact step, the referee game played by the
bots must end at the scalar operation that reads it (no jury), the cheater slashed, its task
reopened and finished by the honest node, and the consumer must pull a verified student.
"""

from __future__ import annotations

import io
import json
from pathlib import Path


def test_demo_scenario_catches_the_cheat_pays_the_honest_node_and_pulls_a_verified_student(
        tmp_path: Path) -> None:
    from rich.console import Console
    from transformers import AutoModel, AutoTokenizer

    from deploy.demo import DemoConfig, run_demo
    from deploy.deployer import MarketConfig

    buf = io.StringIO()
    cfg = DemoConfig(student="tiny", total_steps=16, segment_steps=8, cheat_step=11,
                     keystores=False)
    summary = run_demo(out=tmp_path, config=cfg,
                       console=Console(file=buf, width=140, highlight=False))
    text = buf.getvalue()
    # a lost dispute slashes disputeSlashBps of the task's stake; the requester gets its share
    slash = cfg.node_stake * MarketConfig().dispute_slash_bps // 10_000
    to_requester = slash * MarketConfig().requester_share_bps // 10_000

    assert summary["cheatFired"] is True
    (dispute,) = summary["disputes"]
    assert (dispute["task"], dispute["k"], dispute["step"]) == (2, 1, 11)
    assert dispute["node"] == "node-cheater" and dispute["outcome"] == "NODE WRONG"
    # the referee found the fault where the weight enters: the GEMM that reads it, at the
    # product with the moved element W[0, 0], the node's bits against binary32's
    v = summary["verdict"]
    assert v["decidedBy"] == "STEP" and v["step"] == 11 and v["op"]["kind"] == "GEMM"
    assert "encoder.layer.0.attention.self.query.weight" in v["op"]["name"]
    chk = v["check"]
    assert chk["opcode"] in ("FMA", "MUL") and chk["claimed"] != chk["computed"] == chk["reference"]
    assert any("encoder.layer.0.attention.self.query.weight[0, 0]" in o["source"]
               for o in chk["operands"]) and chk["ulps"] >= 1
    assert dispute["where"].startswith(f"op {v['op']['index']} GEMM")
    assert summary["slashed"] == [{"task": 2, "node": "node-cheater", "amount": slash}]
    # reopened from its last final segment: 1 if segment 0's window had passed by then, else 0
    assert summary["reopened"][0]["task"] == 2 and summary["reopened"][0]["from"] in (0, 1)
    rewarded = sorted((r["task"], r["node"]) for r in summary["rewards"])
    assert rewarded == [(1, "node-honest"), (2, "node-honest")]
    assert summary["task2Status"] == "COMPLETED"
    assert "not committed in the task's current trace" in summary["refusedPull"]

    bal = {n: (int(v["before"][0]) + int(v["before"][1]), int(v["after"][0]) + int(v["after"][1]))
           for n, v in summary["balances"].items()}
    assert bal["node-cheater"][1] - bal["node-cheater"][0] == -slash
    assert bal["node-honest"][1] - bal["node-honest"][0] == 2_000 * 10**18
    assert bal["requester"][1] - bal["requester"][0] == -2_000 * 10**18 + to_requester
    assert bal["challenger"][1] > bal["challenger"][0]
    assert not any(n.startswith("juror") for n in bal)
    assert all(summary["gas"][n]["gasUsed"] > 0 for n in bal)

    prov = summary["provenance"]
    assert (prov["taskId"], prov["segment"], prov["final"], prov["step"]) == (1, 1, True, 16)
    student = Path(summary["studentDir"])
    pulled = json.loads((student / "provenance.json").read_text())
    assert pulled["endStateHash"] == prov["endStateHash"]
    # the challenger (staked) attested each audit on chain; the pull counted one per segment
    got = [(x["segment"], x["ok"], x["fault"]) for x in pulled["audits"]]
    assert got == [(0, 1, 0), (1, 1, 0)]
    AutoModel.from_pretrained(str(student))
    AutoTokenizer.from_pretrained(str(student))
    q = summary["quality"]
    assert q["teacher"]["pearson"] > 0.65 and q["teacher"]["params"] == 22_713_216
    assert q["untrained"]["heldout_kd_loss"] > q["distilled"]["heldout_kd_loss"] > 0
    assert all(-1 < q[m]["pearson"] < 1 for m in q)
    png = Path(summary["plot"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000

    for line in ("challenger disputes node-cheater's leaf at step 11", "node-cheater slashed",
                 "task 2 reopened from segment", "node-honest paid", "= on-chain endStateHash",
                 "Does the pulled student work?", "Accounts: VERI held", "Quality: Lee et al.",
                 "Pearson with human ratings", "distilled student (step 16)",
                 "challenger replayed task 1 segment 0: no dispute (all 8 leaves",
                 "segment 1: 1 independent audit(s) ok by",
                 "the referee game starts", "the contract recomputes step",
                 "where the referee found the fault", "binary32 gives:", "ulp apart"):
        assert line in text, line
    # the devnet funds its named accounts (jurors among them); the story has no juror, no vote
    story = text.split("2. A requester posts")[1]
    assert "juror" not in story and "no jury" in story
    assert not any(w in story for w in ("jury for dispute", "vote", "revealed leaf"))
    assert not any(Path(tmp_path, "devnet", f"{p}.pid").exists() for p in ("anvil", "store"))
