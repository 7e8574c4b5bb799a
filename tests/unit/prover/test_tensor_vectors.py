"""The tensor-commitment vectors the Solidity verifier is checked against
(tests/vectors/trace/tensor_commit.json, contracts/test/libraries/TensorCommit.t.sol): they are
what the reference (prover/trace/commit.py) gives today, and they are internally consistent."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

from prover.trace.commit import CHUNK_BYTES, bind_shape, chunk_proof, commit, verify_chunk

HERE = Path(__file__).resolve().parents[2] / "vectors" / "trace"
VECTORS = HERE / "tensor_commit.json"


def _generator():
    path = HERE / "make_tensor_vectors.py"
    spec = importlib.util.spec_from_file_location("make_tensor_vectors", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_vectors_regenerate_identically() -> None:
    committed = json.loads(VECTORS.read_text())
    assert _generator().build() == committed, (
        "tests/vectors/trace/tensor_commit.json is stale: run "
        ".venv/bin/python tests/vectors/trace/make_tensor_vectors.py and commit it"
    )


def test_chunks_rebuild_commit_and_prove() -> None:
    for t in json.loads(VECTORS.read_text())["tensors"]:
        raw = b"".join(bytes.fromhex(c["data"][2:]) for c in t["chunks"])
        values = np.frombuffer(raw[: 4 * t["numel"]], dtype="<f4").astype(np.float32)
        c = commit(values.reshape(t["dims"]))
        assert "0x" + c.commit.hex() == t["commit"]
        assert bind_shape(c.root, t["dims"]) == c.commit
        for ch in t["chunks"]:
            data = bytes.fromhex(ch["data"][2:])
            assert len(data) == CHUNK_BYTES
            proof = [bytes.fromhex(p[2:]) for p in ch["proof"]]
            leaf = bytes.fromhex(ch["leaf"][2:])
            assert verify_chunk(c.root, ch["index"], leaf, proof)
            # A tampered leaf does not verify.
            assert not verify_chunk(c.root, ch["index"], bytes(32), proof)


def test_state_tree_proofs() -> None:
    doc = json.loads(VECTORS.read_text())
    leaves = [bytes.fromhex(t["commit"][2:]) for t in doc["tensors"][:3]]
    leaves.append(bytes.fromhex(doc["state"]["scalarLeaf"][2:]))
    root = bytes.fromhex(doc["state"]["root"][2:])
    for j in range(3):
        assert ["0x" + p.hex() for p in chunk_proof(leaves, j)] == doc["state"]["proofs"][j]
        assert verify_chunk(root, j, leaves[j], chunk_proof(leaves, j))


def test_op_leaves_match_the_step_graph_encoder() -> None:
    """The op-leaf vectors (checked against StepOps.leaf in forge) are what prover/trace/graph.py
    encodes for the same ops: the fixture graph's GEMM + bias, broadcast MUL and COPY."""
    from prover.trace.graph import Level, Op, Ref, Slot
    from prover.trace.kinds import MapLevel, OpKind, RefKind

    expand = Level(MapLevel.STRIDED, offset=0, sizes=(2, 300), strides=(0, 0))
    ops = [
        Op(0, OpKind.GEMM, (2, 300), (
            Slot(Ref(RefKind.STATE, 1), (1, 2, 4)),
            Slot(Ref(RefKind.STATE, 2), (1, 4, 300)),
            Slot(Ref(RefKind.TEACHER, 0), (300,)),
        ), kattrs=(1, 2, 300, 4, 1, 1)),
        Op(1, OpKind.MUL, (2, 300), (
            Slot(Ref(RefKind.OP, 0), (2, 300)),
            Slot(Ref(RefKind.SCALAR, 0), (2, 300), (expand,)),
        )),
        Op(3, OpKind.COPY, (2, 300), (Slot(Ref(RefKind.OP, 2), (2, 300)),)),
    ]
    vectors = json.loads(VECTORS.read_text())["ops"]
    assert ["0x" + op.leaf().hex() for op in ops] == [v["leaf"] for v in vectors]
    assert [list(op.attrs) for op in ops] == [v["attrs"] for v in vectors]
