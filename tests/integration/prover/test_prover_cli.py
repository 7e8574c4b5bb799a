"""CLI: spec init/validate/env and dataset build, in fresh processes on the real corpus."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from prover.dataset import load_manifest
from prover.presets import gensim_test_data
from prover.spec import loads_spec


def cli(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VERITRAIN_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "veritrain.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_spec_init_validate_env(tmp_path: Path) -> None:
    r = cli(["spec", "init", "--preset", "tiny", "--seed", "9"], tmp_path)
    assert r.returncode == 0, r.stderr
    spec = loads_spec(r.stdout)
    assert spec.seed == 9 and spec.seq_len == 32 and spec.profile.name == "repfma-1"
    assert r.stdout.strip().encode() == spec.canonical_bytes()
    # a new spec uses the v2 schemes; the v1 ones are still a flag away (no schedule field)
    assert spec.state_hash == "tree-v2" and '"schedule":"keccak-v2"' in r.stdout
    v1 = cli(["spec", "init", "--preset", "tiny", "--seed", "9", "--state-hash", "blake3",
              "--schedule", "keccak-v1"], tmp_path)
    assert v1.returncode == 0, v1.stderr
    assert loads_spec(v1.stdout).state_hash == "blake3" and "schedule" not in v1.stdout
    (tmp_path / "spec.json").write_text(r.stdout)
    v = cli(["spec", "validate", str(tmp_path / "spec.json")], tmp_path)
    assert json.loads(v.stdout) == {"valid": True, "specHash": spec.spec_hash_hex(),
                                    "canonical": True}
    e = cli(["spec", "env", str(tmp_path / "spec.json")], tmp_path)
    assert e.returncode == 0 and e.stdout.strip() == ""  # repfma-1 pins nothing
    stock = cli(["spec", "init", "--preset", "tiny", "--profile", "stock-avx2-1"], tmp_path)
    (tmp_path / "stock.json").write_text(stock.stdout)
    e = cli(["spec", "env", str(tmp_path / "stock.json")], tmp_path)
    assert "export ATEN_CPU_CAPABILITY='avx2'" in e.stdout.splitlines()
    bad = json.loads(r.stdout)
    bad["segmentSteps"] = 48
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    v = cli(["spec", "validate", str(tmp_path / "bad.json")], tmp_path)
    assert v.returncode == 2
    assert "segmentSteps must be a power of two, got 48" in v.stderr


def test_dataset_build_is_reproducible(tmp_path: Path) -> None:
    lee = [str(gensim_test_data() / "lee.cor")]  # any small real text
    outs = []
    for name in ("a", "b"):
        r = cli(["dataset", "build", *lee, "--out", str(tmp_path / name), "--seq-len", "16",
                 "--shard-size", "100"], tmp_path)
        assert r.returncode == 0, r.stderr
        outs.append(json.loads(r.stdout))
    assert outs[0]["sampleRoot"] == outs[1]["sampleRoot"]
    assert outs[0]["numSamples"] > 300  # four shards
    m = load_manifest(tmp_path / "a")
    assert tuple(m.input_ids.shape) == (outs[0]["numSamples"], 16)
    assert (m.input_ids[:, 0] == 101).all() and (m.input_ids[:, -1] == 102).all()  # [CLS] .. [SEP]
    assert (tmp_path / "a" / "shard-00000.safetensors").read_bytes() == \
        (tmp_path / "b" / "shard-00000.safetensors").read_bytes()
