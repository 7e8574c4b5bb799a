"""Leaves, positional trace roots and proofs: shared vectors, ABI encoding and properties."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_abi import encode
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from prover import merkle
from prover.errors import MerkleError

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "merkle.json"


def _vectors() -> list[dict]:
    assert VECTORS.is_file(), (f"{VECTORS} is missing: regenerate it with "
                               "tests/vectors/make_vectors.py")
    doc = json.loads(VECTORS.read_text())
    cases = doc if isinstance(doc, list) else doc.get("cases", doc.get("vectors", [doc]))
    return list(cases)


def test_shared_vectors_leaves_roots_and_proofs() -> None:
    cases = _vectors()
    assert cases
    for case in cases:
        task_id, start = int(case["taskId"]), int(case["segmentStart"])
        hashes = case["stateHashes"]
        assert len(hashes) == int(case["segmentSteps"])
        leaves = merkle.leaves_for(task_id, start, hashes)
        assert [merkle.hex32(x) for x in leaves] == [x.lower() for x in case["leaves"]]
        root = merkle.trace_root(leaves)
        assert merkle.hex32(root) == case["root"].lower()
        proofs = case["proofs"]
        items = proofs.items() if isinstance(proofs, dict) else enumerate(proofs)
        for key, pr in items:
            siblings = pr["proof"] if isinstance(pr, dict) else pr
            idx = (merkle.step_index(int(pr["step"]), start, len(leaves))
                   if isinstance(pr, dict) and "step" in pr else
                   int(pr["index"]) if isinstance(pr, dict) and "index" in pr else int(key))
            got = [merkle.hex32(x) for x in merkle.proof(leaves, idx)]
            assert got == [s.lower() for s in siblings]
            assert merkle.verify(root, leaves[idx], idx, siblings)


def test_leaf_is_double_keccak_of_abi_encode() -> None:
    h = bytes(range(32))
    inner = keccak(encode(["uint256", "uint256", "bytes32"], [7, 9, h]))
    assert merkle.leaf(7, 9, h) == keccak(inner)
    assert merkle.leaf(7, 9, "0x" + h.hex()) == keccak(inner)


def test_two_leaf_root_is_positional() -> None:
    a, b = keccak(b"a"), keccak(b"b")
    assert merkle.trace_root([a, b]) == keccak(a + b)
    assert merkle.trace_root([b, a]) == keccak(b + a) != merkle.trace_root([a, b])
    assert merkle.trace_root([a]) == a


def test_non_power_of_two_is_refused() -> None:
    with pytest.raises(MerkleError, match="power-of-two"):
        merkle.trace_root([keccak(b"x")] * 3)
    with pytest.raises(MerkleError):
        merkle.trace_root([])


def test_step_index_bounds() -> None:
    assert merkle.step_index(17, 16, 8) == 0
    assert merkle.step_index(24, 16, 8) == 7
    for bad in (16, 25):
        with pytest.raises(MerkleError):
            merkle.step_index(bad, 16, 8)


hashes32 = st.binary(min_size=32, max_size=32)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 5).flatmap(lambda d: st.lists(hashes32, min_size=2**d, max_size=2**d)),
       st.integers(0, 2**64), st.data())
def test_every_proof_verifies_and_has_log2_siblings(hs: list[bytes], task_id: int,
                                                    data: st.DataObject) -> None:
    start = data.draw(st.integers(0, 2**20)) * len(hs)
    leaves = merkle.leaves_for(task_id, start, hs)
    root = merkle.trace_root(leaves)
    idx = data.draw(st.integers(0, len(leaves) - 1))
    pr = merkle.proof(leaves, idx)
    assert len(pr) == len(leaves).bit_length() - 1
    assert merkle.verify(root, leaves[idx], idx, pr)
    # wrong index, wrong leaf, tampered sibling, out-of-range index: all refused
    if len(leaves) > 1:
        assert not merkle.verify(root, leaves[idx], idx ^ 1, pr) or leaves[idx] == leaves[idx ^ 1]
        bad = list(pr)
        bad[0] = keccak(bad[0])
        assert not merkle.verify(root, leaves[idx], idx, bad)
    assert not merkle.verify(root, keccak(leaves[idx]), idx, pr)
    assert not merkle.verify(root, leaves[idx], idx + len(leaves), pr)


def test_leaves_file_round_trip(tmp_path: Path) -> None:
    hs = [keccak(bytes([i])) for i in range(4)]
    p = merkle.write_leaves_file(tmp_path / "leaves.json", 3, 2, [9, 10, 11, 12], hs)
    doc = json.loads(p.read_text())
    assert set(doc) == {"taskId", "segment", "steps", "stateHashes"}
    back = merkle.read_leaves_file(p)
    assert back["stateHashes"] == [merkle.hex32(h) for h in hs]
    assert back["steps"] == [9, 10, 11, 12]
    with pytest.raises(MerkleError):
        merkle.write_leaves_file(tmp_path / "bad.json", 3, 2, [9], hs)


def test_leaves_file_losses_round_trip_and_old_files_still_read(tmp_path: Path) -> None:
    hs = [keccak(bytes([i])) for i in range(4)]
    losses = [2.5, 2.25, 2.0, 1.875]
    p = merkle.write_leaves_file(tmp_path / "leaves.json", 3, 2, [9, 10, 11, 12], hs, losses)
    assert json.loads(p.read_text())["losses"] == losses
    assert merkle.read_leaves_file(p)["losses"] == losses
    assert merkle.loads_leaves(p.read_bytes(), "bafy")["losses"] == losses
    old = merkle.write_leaves_file(tmp_path / "old.json", 3, 2, [9, 10, 11, 12], hs)
    assert "losses" not in merkle.read_leaves_file(old)
    with pytest.raises(MerkleError, match="4 steps but 3 losses"):
        merkle.write_leaves_file(tmp_path / "bad.json", 3, 2, [9, 10, 11, 12], hs, losses[:3])
    doc = json.loads(p.read_text())
    doc["losses"][1] = "2.25"
    with pytest.raises(MerkleError, match=r"losses\[\] must be a number"):
        merkle.loads_leaves(json.dumps(doc).encode(), "bafy")
