"""`veritrain step trace`, `step explain` and `spec graph` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from prover import checkpoint
from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec
from prover.trace.commit import commit, root_of
from prover.trace.graph import graph_from_json
from prover.trace.roots import final_root
from prover.trace.tracer import load_trace
from prover.train import Trainer

TASK = 9


def cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "veritrain.cli.main", *args],
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def ck(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A tiny spec file, the checkpoint of step 1 and the state hash of step 2."""
    d = tmp_path_factory.mktemp("stepcli")
    spec = preset_spec("tiny")
    (d / "spec.json").write_bytes(spec.canonical_bytes())
    tr = Trainer(spec, TASK, default_teacher_dir(), default_dataset_dir(spec.seq_len))
    tr.step()
    ckpt = checkpoint.save(d / "s1", spec, TASK, tr.student, tr.optimizer, tr.step_no, tr.rng,
                           tr.cursor, tr.state_hash())
    tr.step()
    return {"dir": d, "spec": d / "spec.json", "ckpt": ckpt, "h2": "0x" + tr.state_hash().hex()}


def _trace(ck: dict[str, Any], out: Path, expect: str) -> subprocess.CompletedProcess[str]:
    return cli(["step", "trace", "--spec", str(ck["spec"]), "--task-id", str(TASK), "--step",
                "2", "--start", str(ck["ckpt"]), "--out", str(out), "--expect-state-hash",
                expect])


def test_step_trace_then_explain_succeeds(ck: dict[str, Any]) -> None:
    out = ck["dir"] / "trace2"
    r = _trace(ck, out, ck["h2"])
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["stateHashAfter"] == ck["h2"] and doc["step"] == 2
    full = json.loads((out / "trace.json").read_text())
    assert full["opRoot"] == doc["opRoot"] and len(full["ops"]) == doc["ops"]
    graph = graph_from_json(json.loads((out / "graph.json").read_text()))
    assert full["finalRoot"] == "0x" + final_root(graph.final).hex()
    # every op output in one file, written while the step ran: the poolers too (dropped when
    # the step ended), so opOffsets says where each kept op is; load_trace reads them
    ends = [at + op.numel for at, op in zip(full["opOffsets"], graph.ops, strict=True)]
    assert (out / "ops.f32").stat().st_size == 4 * ends[-1]  # the last op is an update: kept
    assert ends[-1] > sum(op.numel for op in graph.ops)
    g, tensors, _ = load_trace(out)
    assert [v.size for v in tensors.ops] == [op.numel for op in g.ops]
    assert "0x" + root_of([commit(v.reshape(op.shape)).commit for op, v in
                           zip(g.ops, tensors.ops, strict=True)]).hex() == full["opRoot"]
    # op 2 of a step is a layer-norm mean over the teacher's embeddings: 384 adds and a divide
    r = cli(["step", "explain", str(out), "--op", "2", "--element", "3"])
    assert r.returncode == 0, r.stderr
    assert "LN_MEAN" in r.stdout and "385 steps" in r.stdout
    assert r.stdout.rstrip().endswith("equal")
    bad = cli(["step", "explain", str(out), "--op", "100000", "--element", "0"])
    assert bad.returncode != 0 and "out of range" in bad.stderr


@pytest.mark.heavy
def test_step_trace_wrong_expected_leaf_fails(ck: dict[str, Any]) -> None:
    r = _trace(ck, ck["dir"] / "bad", "0x" + "00" * 32)
    assert r.returncode != 0 and "not at the expected" in " ".join(r.stderr.split())
    # what the sink wrote while the step ran is removed: no half trace is left
    assert not [p.name for p in (ck["dir"] / "bad").glob("*")]


@pytest.mark.heavy
def test_spec_graph_prints_the_traced_root(ck: dict[str, Any]) -> None:
    r = cli(["spec", "graph", str(ck["spec"]), "--out", str(ck["dir"] / "graph.json")])
    assert r.returncode == 0, r.stderr
    root = json.loads((ck["dir"] / "graph.json").read_text())["graphRoot"]
    assert f"graphRoot: {root}" in r.stdout and "GEMM" in r.stdout
    graph = graph_from_json(json.loads((ck["dir"] / "graph.json").read_text()))
    assert f"finalRoot:   0x{final_root(graph.final).hex()}" in r.stdout
