"""Writes tests/vectors/trace/tensor_commit.json: tensor commitments and state hashes v2 made by
the reference (prover/trace/commit.py), which contracts/test/libraries/TensorCommit.t.sol checks
the Solidity verifier against. Seeded: regenerating gives the same bytes
(tests/unit/prover/test_tensor_vectors.py checks that).

    .venv/bin/python tests/vectors/trace/make_tensor_vectors.py
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from prover.trace.commit import (  # noqa: E402
    CHUNK_BYTES,
    chunk_leaves,
    chunk_proof,
    commit,
    root_of,
)

OUT = Path(__file__).with_name("tensor_commit.json")
# Shapes: one element, exactly one chunk, one past a chunk, a matrix over three chunks (padded
# tree), rank 3, and a rank-0 scalar.
SHAPES: list[tuple[int, ...]] = [(3,), (256,), (257,), (2, 300), (5, 5, 50), ()]


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _tensor(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, dict]:
    values = rng.standard_normal(shape).astype(np.float32)
    flat = values.reshape(-1)
    if flat.size > 2:
        # Specials and a subnormal so byte order and lanes are checked on odd patterns too.
        flat[1] = np.float32(-0.0)
        flat[2] = np.frombuffer(struct.pack("<I", 0x00000001), dtype=np.float32)[0]
    leaves = chunk_leaves(values)
    c = commit(values)
    raw = np.ascontiguousarray(values).astype("<f4").reshape(-1).tobytes()
    raw = raw.ljust(len(leaves) * CHUNK_BYTES, b"\x00")
    chunks = []
    for i in range(len(leaves)):
        chunks.append({
            "index": i,
            "data": _hex(raw[i * CHUNK_BYTES:(i + 1) * CHUNK_BYTES]),
            "leaf": _hex(leaves[i]),
            "proof": [_hex(p) for p in chunk_proof(leaves, i)],
        })
    picks = sorted({0, flat.size // 2, flat.size - 1, min(2, flat.size - 1)})
    elements = {"e": [int(e) for e in picks], "bits": [int(flat.view(np.uint32)[e]) for e in picks]}
    return values, {
        "dims": [int(d) for d in shape],
        "numel": int(flat.size),
        "root": _hex(c.root),
        "commit": _hex(c.commit),
        "chunks": chunks,
        "elements": elements,
    }


# Op leaves (docs/referee.md "Step graph"): the GEMM + bias, the broadcast MUL and a COPY of the
# synthetic graph in contracts/test/shared/RefereeFixture.sol (kinds and attrs layout:
# prover/trace/kinds.py and graph.py: kind attrs, then per slot rank, dims, nLevels, levels).
OPS = [
    {"index": 0, "kind": 1, "refKinds": [0, 0, 2], "refIndices": [1, 2, 0], "dims": [2, 300],
     "attrs": [1, 2, 300, 4, 1, 1, 3, 1, 2, 4, 0, 3, 1, 4, 300, 0, 1, 300, 0]},
    {"index": 1, "kind": 21, "refKinds": [4, 3], "refIndices": [0, 0], "dims": [2, 300],
     "attrs": [2, 2, 300, 0, 2, 2, 300, 1, 0, 0, 2, 2, 300, 0, 0]},
    {"index": 3, "kind": 33, "refKinds": [4], "refIndices": [2], "dims": [2, 300],
     "attrs": [2, 2, 300, 0]},
]


def op_leaf(op: dict) -> bytes:
    """sha256 of (u32 index, u16 kind, u8 nInputs, (u8 refKind, u32 refIndex)*, u8 rank,
    u32 dims*, u16 nAttrs, i64 attrs*), big-endian like abi.encodePacked."""
    b = struct.pack(">IHB", op["index"], op["kind"], len(op["refKinds"]))
    for k, i in zip(op["refKinds"], op["refIndices"], strict=True):
        b += struct.pack(">BI", k, i)
    b += struct.pack(">B", len(op["dims"])) + b"".join(struct.pack(">I", d) for d in op["dims"])
    b += struct.pack(">H", len(op["attrs"])) + b"".join(struct.pack(">q", a) for a in op["attrs"])
    return hashlib.sha256(b).digest()


def build() -> dict:
    rng = np.random.default_rng(20261202)
    tensors = [_tensor(rng, s)[1] for s in SHAPES]
    # A state hash v2 over the first three tensors and a scalar leaf (docs/referee.md).
    rng_json = b'{"generator": "pcg64", "state": 7}'
    scalar_leaf = hashlib.sha256(
        b"veritrain/state/v2" + struct.pack(">Q", 12) + hashlib.sha256(rng_json).digest()
        + struct.pack(">Q", 96)
    ).digest()
    leaves = [bytes.fromhex(t["commit"][2:]) for t in tensors[:3]] + [scalar_leaf]
    state = {
        "nTensors": 3,
        "root": _hex(root_of(leaves)),
        "scalarLeaf": _hex(scalar_leaf),
        "proofs": [[_hex(p) for p in chunk_proof(leaves, j)] for j in range(3)],
    }
    ops = [{**op, "leaf": _hex(op_leaf(op))} for op in OPS]
    return {"_doc": __doc__.splitlines()[0], "tensors": tensors, "state": state, "ops": ops}


def main() -> None:
    OUT.write_text(json.dumps(build(), indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
