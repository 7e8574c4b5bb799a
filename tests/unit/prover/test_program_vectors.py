"""The element-program vectors the Solidity programs are checked against
(tests/vectors/trace/programs_<profile>.json, written by make_program_vectors.py from a real
traced tiny-preset step): they are what the reference (prover/trace/programs.py and
evaluate.py) gives today, and they cover every kind of the step."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from eth_abi import decode

HERE = Path(__file__).resolve().parents[2] / "vectors" / "trace"
TYPES = ["(uint32,uint16,uint8[],uint32[],uint32[],int64[])", "uint256", "uint256", "uint256[]",
         "uint256[]", "uint256[]"]


@pytest.mark.parametrize("profile", [
    "repfma-1", pytest.param("repcpu-2", marks=pytest.mark.heavy)])  # ~45 s each under load
def test_program_vectors_regenerate_identically(profile: str, tmp_path: Path) -> None:
    out = tmp_path / "v.json"
    subprocess.run([sys.executable, str(HERE / "make_program_vectors.py"), "--profile", profile,
                    "--out", str(out)], check=True, capture_output=True)
    assert out.read_bytes() == (HERE / f"programs_{profile}.json").read_bytes(), (
        f"tests/vectors/trace/programs_{profile}.json is stale: run .venv/bin/python "
        f"tests/vectors/trace/make_program_vectors.py --profile {profile} and commit it")


@pytest.mark.parametrize("profile", ["repfma-1", "repcpu-2"])
def test_program_vectors_decode_and_chain(profile: str) -> None:
    from prover.trace.kinds import Opcode, OpKind

    doc = json.loads((HERE / f"programs_{profile}.json").read_text())
    kinds = set()
    for v in doc["vectors"]:
        op, e, length, steps, codes, values = decode(TYPES, bytes.fromhex(v["abi"][2:]))
        kinds.add(OpKind(op[1]).name)
        assert (op[0], e, length) == (v["op"], v["e"], v["length"])
        assert len(steps) == len(codes) == len(values) and list(steps) == sorted(set(steps))
        assert steps[-1] < length
        by_step = dict(zip(steps, zip(codes, values, strict=True), strict=True))
        for s, (word, bits) in by_step.items():
            Opcode(word >> 248)
            for i in range(3):
                src = (word >> (80 * i + 72)) & 3
                value = (word >> (80 * i)) & ((1 << 64) - 1)
                if src == 1:  # Prev: a sampled earlier step's result is this operand's value
                    assert value < s
                    if value in by_step:
                        field = (bits >> (64 * i)) & ((1 << 64) - 1)
                        assert field == by_step[value][1] >> 192
    # every kind of the traced step is covered
    assert kinds == set(doc["kinds"]) and len(kinds) >= 26
