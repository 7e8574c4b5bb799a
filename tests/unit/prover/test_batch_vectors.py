"""The referee's binding vectors (tests/vectors/trace/batch_bindings.json, written by
make_batch_vectors.py from a real traced tiny step): current, and every batch row they open is
the keccak-v2 schedule's sample of the real dataset, proven against its sampleRoot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from eth_abi import decode

HERE = Path(__file__).resolve().parents[2] / "vectors" / "trace"
CTX = ("(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,bytes32,bytes32,"
       "bytes32,bytes32,uint256,bytes32,uint64,uint64,uint32,uint32)")
TYPES = [CTX, "(uint32,uint16,uint8[],uint32[],uint32[],int64[])", "bytes",
         "(bytes32,uint32[],bytes32[],bytes,bytes32[])[]"]


@pytest.mark.heavy  # a traced tiny step: ~45 s under load
def test_batch_vectors_regenerate_identically(tmp_path: Path) -> None:
    out = tmp_path / "v.json"
    subprocess.run([sys.executable, str(HERE / "make_batch_vectors.py"), "--out", str(out)],
                   check=True, capture_output=True)
    assert out.read_bytes() == (HERE / "batch_bindings.json").read_bytes(), (
        "tests/vectors/trace/batch_bindings.json is stale: run .venv/bin/python "
        "tests/vectors/trace/make_batch_vectors.py and commit it")


def test_batch_vectors_open_scheduled_rows_of_the_dataset() -> None:
    from eth_utils import keccak

    from prover import schedule
    from prover.merkle import root_from_proof
    from prover.presets import preset_spec
    from prover.trace.kinds import OpKind

    doc = json.loads((HERE / "batch_bindings.json").read_text())
    spec = preset_spec("tiny", state_hash="tree-v2", schedule="keccak-v2")
    scheduled = schedule.batch_indices(spec, doc["taskId"], doc["step"])
    rows = embeds = 0
    for v in doc["vectors"]:
        ctx, op, results, openings = decode(TYPES, bytes.fromhex(v["abi"][2:]))
        assert (op[0], ctx[2], ctx[3]) == (v["op"], v["e"], v["s"])
        assert "0x" + ctx[14].hex() == doc["sampleRoot"] == spec.dataset.sample_root
        if OpKind(op[1]) is OpKind.EMBED_BWD:
            embeds += 1
            assert len(results) == 4 or len(results) % 8 == 0
        for _, dims, _, chunk, chunk_proof in openings:
            if dims or len(chunk) != 4 * ctx[18]:
                continue
            # a batch row: the proof of one of the step's scheduled samples under sampleRoot
            proven = [i for i in scheduled if root_from_proof(
                keccak(i.to_bytes(32, "big") + keccak(chunk)), i, chunk_proof) == ctx[14]]
            assert proven, "a batch row that is not a scheduled sample of the dataset"
            rows += 1
    assert rows > 0 and embeds > 0
