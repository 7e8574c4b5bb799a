"""Data schedule v2 (``schedule: "keccak-v2"``) and the spec fields of protocol v2 disputes.

The v2 schedule is a keyed permutation per epoch that Solidity evaluates per position; the
committed vectors (tests/vectors/schedule/schedule_v2.json, checked by forge in
contracts/test/libraries/DataSchedule.t.sol) must be what prover/schedule.py computes today.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from eth_hash.auto import keccak

from prover import schedule
from prover.errors import ScheduleError, SpecValidationError
from prover.spec import parse_spec

HERE = Path(__file__).parent
VECTORS = HERE.parents[1] / "vectors" / "schedule"


def doc() -> dict[str, Any]:
    return json.loads((HERE / "spec_sample.json").read_text())


def spec(**changes: object):  # type: ignore[no-untyped-def]
    d = doc()
    d.update(changes)
    return parse_spec(d)


def test_vectors_are_current() -> None:
    s = importlib.util.spec_from_file_location("schedule_make_vectors", VECTORS / "make_vectors.py")
    assert s is not None and s.loader is not None
    module = importlib.util.module_from_spec(s)
    s.loader.exec_module(module)
    assert (VECTORS / "schedule_v2.json").read_text() == module.render(), \
        "stale vectors: run .venv/bin/python tests/vectors/schedule/make_vectors.py"


def test_feistel_is_the_documented_network() -> None:
    """Recomputed from the docs/referee.md text with nothing of prover.schedule but the key."""
    root, seed, task, n = "0x" + "ab" * 32, 5, 77, 1000
    key = keccak(b"veritrain/data/v2" + bytes.fromhex("ab" * 32) + seed.to_bytes(8, "big")
                 + task.to_bytes(32, "big") + (0).to_bytes(8, "big"))
    assert schedule.epoch_key(root, seed, task, 0) == key
    k = 5  # 4^5 = 1024 >= 1000 > 4^4
    for x in range(40):
        left, right = x >> k, x & 31
        while True:
            for i in range(4):
                f = int.from_bytes(keccak(key + i.to_bytes(32, "big") + right.to_bytes(32, "big")),
                                   "big") & 31
                left, right = right, left ^ f
            y = (left << k) | right
            if y < n:
                break
            left, right = y >> k, y & 31
        assert schedule.sample_at(root, seed, task, n, x) == y


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 16, 17, 100, 1025])
def test_each_epoch_is_a_permutation(n: int) -> None:
    root = "0x" + "11" * 32
    for epoch in (0, 1):
        seen = [schedule.sample_at(root, 3, 9, n, epoch * n + o) for o in range(n)]
        assert sorted(seen) == list(range(n))
    if n > 4:
        assert [schedule.sample_at(root, 3, 9, n, o) for o in range(n)] != list(range(n))


def test_v2_batches_follow_the_spec_and_differ_by_task() -> None:
    s2 = spec(schedule="keccak-v2")
    n, b = s2.dataset.num_samples, s2.batch_size
    got = schedule.batch_indices(s2, 3, 4)
    assert got == [schedule.sample_at(s2.dataset.sample_root, s2.seed, 3, n, 3 * b + j)
                   for j in range(b)]
    assert got != schedule.batch_indices(s2, 4, 4)
    assert got != schedule.batch_indices(spec(), 3, 4)  # v1 is another order
    seen = [i for t in range(1, n // b + 1) for i in schedule.batch_indices(s2, 3, t)]
    assert len(set(seen)) == len(seen) == (n // b) * b  # no sample twice within an epoch


def test_schedule_errors_are_clear() -> None:
    with pytest.raises(ScheduleError, match="outside the epoch"):
        schedule.permute(b"\0" * 32, 10, 10)
    with pytest.raises(ScheduleError, match="u64 range"):
        schedule.epoch_key("0x" + "00" * 32, 0, 1, 2**64)


def test_spec_fields_v2_validate_and_v1_bytes_are_unchanged() -> None:
    v1 = parse_spec(doc())
    assert v1.schedule == "keccak-v1" and "schedule" not in json.loads(v1.canonical_bytes())
    # naming the v1 schedule explicitly is the same spec (and its canonical form omits it)
    assert spec(schedule="keccak-v1").canonical_bytes() == v1.canonical_bytes()
    v2 = spec(schedule="keccak-v2", stateHash="tree-v2")
    canon = json.loads(v2.canonical_bytes())
    assert canon["schedule"] == "keccak-v2" and canon["stateHash"] == "tree-v2"
    assert v2.spec_hash() != v1.spec_hash()
    with pytest.raises(SpecValidationError, match=r"schedule.*keccak-v1.*keccak-v2"):
        spec(schedule="keccak-v3")
    with pytest.raises(SpecValidationError, match=r"stateHash.*tree-v2"):
        spec(stateHash="tree")


def test_sample_proofs_bind_rows_to_the_sample_root() -> None:
    """prover.dataset.sample_proof: every row proves against sample_root (what
    DataSchedule.verifySample checks on-chain); another row or index does not."""
    import numpy as np

    from prover import merkle
    from prover.dataset import sample_proof, sample_root

    rows = np.arange(7 * 6, dtype="<i4").reshape(7, 6)
    root = sample_root(rows)
    for i in range(7):
        h, sib = sample_proof(rows, i)
        assert h == keccak(rows[i].tobytes())
        leaf = keccak(i.to_bytes(32, "big") + h)
        assert merkle.verify(root, leaf, i, sib)
        assert not merkle.verify(root, keccak((i ^ 1).to_bytes(32, "big") + h), i ^ 1, sib)
    from prover.errors import DatasetError

    with pytest.raises(DatasetError, match="out of range"):
        sample_proof(rows, 7)
