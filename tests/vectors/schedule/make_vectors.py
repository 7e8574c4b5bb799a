"""Write tests/vectors/schedule/schedule_v2.json: samples of the v2 data schedule computed by
prover/schedule.py, which contracts/test/libraries/DataSchedule.t.sol checks the Solidity
(contracts/src/libraries/DataSchedule.sol) against.

Cases cover datasets of 1 sample, sizes just past a power of four (the walk is longest there),
exact powers of four, a large dataset, seeds and task ids at their range limits, and positions
that cross epochs. tests/unit/prover/test_prover_schedule_v2.py checks that the file is current.

Run: .venv/bin/python tests/vectors/schedule/make_vectors.py
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from prover.dataset import sample_proof, sample_root  # noqa: E402
from prover.schedule import epoch_key, half_bits, sample_at  # noqa: E402

OUT = Path(__file__).with_name("schedule_v2.json")

#: (numSamples, seed, taskId, positions)
CASES: list[tuple[int, int, int, list[int]]] = [
    (1, 0, 1, [0, 1, 2, 5]),
    (2, 7, 3, [0, 1, 2, 3, 4, 5]),
    (5, 1, 1, list(range(12))),
    (16, 42, 9, [0, 7, 15, 16, 31, 100]),
    (17, 0, 2**40 + 5, list(range(0, 40, 3))),
    (1000, 2**63 - 1, 2**256 - 1, [0, 1, 999, 1000, 1001, 123456]),
    (4097, 3, 77, [0, 4096, 4097, 8193, 2**40]),
    (1_000_003, 123, 4, [0, 1, 500_000, 1_000_002, 1_000_003, 2**50]),
]


def stand_in_root(i: int) -> str:
    """A stand-in sample root, fixed so the file is reproducible."""
    return "0x" + hashlib.sha256(f"veritrain-schedule-vector:{i}".encode()).hexdigest()


def build() -> dict[str, Any]:
    cases = []
    for i, (n, seed, task_id, positions) in enumerate(CASES):
        root = stand_in_root(i)
        cases.append({
            "sampleRoot": root, "seed": seed, "taskId": str(task_id), "numSamples": n,
            "halfBits": half_bits(n),
            "key0": "0x" + epoch_key(root, seed, task_id, 0).hex(),
            "positions": [str(p) for p in positions],
            "samples": [sample_at(root, seed, task_id, n, p) for p in positions],
        })
    # a real (tiny) dataset: 5 samples of 4 tokens, its sampleRoot and each sample's proof
    import numpy as np

    rows = (np.arange(20, dtype=np.int64).reshape(5, 4) * 7919 % 30522).astype("<i4")
    proofs = []
    for i in range(len(rows)):
        h, sib = sample_proof(rows, i)
        proofs.append({"index": i, "sampleHash": "0x" + h.hex(),
                       "proof": ["0x" + x.hex() for x in sib]})
    dataset = {"sampleRoot": "0x" + sample_root(rows).hex(), "samples": proofs}
    return {"scheme": "keccak-v2", "cases": cases, "dataset": dataset}


def render() -> str:
    return json.dumps(build(), indent=1) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    print(OUT)
