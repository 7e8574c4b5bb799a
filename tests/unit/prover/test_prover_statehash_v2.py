"""State hash v2 (``stateHash: "tree-v2"``): the definition in docs/referee.md, recomputed
here with hashlib and the reference commitment; one-ulp sensitivity; element openings."""

from __future__ import annotations

import hashlib
import json
import struct

import pytest
import torch

from prover import statehash
from prover.trace import commit as tc
from prover.trace import stateopen

RNG = {"scheme": "derived-v1", "seed": 3, "taskId": 9}


def _state() -> tuple[list[tuple[str, torch.Tensor]], list[tuple[str, torch.Tensor]]]:
    g = torch.Generator().manual_seed(0)
    params = [("a.bias", torch.randn(7, generator=g)),
              ("a.weight", torch.randn(33, 40, generator=g)),
              ("b.weight", torch.randn(300, generator=g))]
    optim = [(f"{n}/{k}", torch.randn(t.shape, generator=g) if k != "step" else torch.tensor(4.0))
             for n, t in params for k in ("exp_avg", "exp_avg_sq", "step")]
    return params, sorted(optim)


def test_tree_v2_is_the_documented_tree() -> None:
    params, optim = _state()
    leaves = [tc.commit_reference(t.numpy()).commit for _, t in (*params, *optim)]
    rng_json = json.dumps(RNG, sort_keys=True, separators=(",", ":")).encode()
    leaves.append(hashlib.sha256(b"veritrain/state/v2" + struct.pack(">Q", 4)
                                 + hashlib.sha256(rng_json).digest()
                                 + struct.pack(">Q", 32)).digest())
    want = tc.root_of_reference(leaves)
    assert statehash.tree_v2(params, optim, 4, RNG, 32) == want
    assert statehash.digest_state("tree-v2", params, optim, 4, RNG, 32) == want
    # every scalar is bound
    assert statehash.tree_v2(params, optim, 5, RNG, 32) != want
    assert statehash.tree_v2(params, optim, 4, RNG, 40) != want
    assert statehash.tree_v2(params, optim, 4, {**RNG, "taskId": 10}, 32) != want


def test_one_ulp_changes_exactly_that_tensors_commitment() -> None:
    params, optim = _state()
    before = statehash.v2_leaves(params, optim, 4, RNG, 32)
    w = params[1][1]
    bits = w.view(torch.int32)
    bits[5, 17] += 1  # one ulp up
    after = statehash.v2_leaves(params, optim, 4, RNG, 32)
    assert [i for i, (x, y) in enumerate(zip(before, after, strict=True)) if x != y] == [1]
    assert tc.root_of(after) != tc.root_of(before)


def test_open_element_verifies_and_catches_tampering() -> None:
    params, optim = _state()
    h = statehash.tree_v2(params, optim, 4, RNG, 32)
    for tensor, element in [(1, 0), (1, 33 * 40 - 1), ("b.weight", 299), (1, 600),
                            ("a.weight/exp_avg_sq", 1000), ("b.weight/step", 0)]:
        o = stateopen.open_element(params, optim, 4, RNG, 32, tensor, element)
        assert o.state_hash == h and stateopen.verify(o)
        named = dict([*params, *optim])
        assert o.value == named[o.name].reshape(-1)[element].item()
    o = stateopen.open_element(params, optim, 4, RNG, 32, 1, 600)
    flipped = bytearray(o.chunk)
    flipped[4 * (600 % 256)] ^= 1
    from dataclasses import replace

    assert not stateopen.verify(replace(o, chunk=bytes(flipped), bits=o.bits ^ 1))
    assert not stateopen.verify(replace(o, bits=o.bits ^ 1))
    assert not stateopen.verify(replace(o, tensor_index=2))
    assert not stateopen.verify(replace(o, shape=(40, 33)))
    assert not stateopen.verify(replace(o, element=o.element + 256))


def test_open_element_refuses_bad_indices() -> None:
    params, optim = _state()
    with pytest.raises(tc.TraceError, match="out of range"):
        stateopen.open_element(params, optim, 4, RNG, 32, 1, 33 * 40)
    with pytest.raises(tc.TraceError, match="no tensor named"):
        stateopen.open_element(params, optim, 4, RNG, 32, "c.weight", 0)
    with pytest.raises(tc.TraceError, match="tensor index"):
        stateopen.open_element(params, optim, 4, RNG, 32, 12, 0)


def test_v1_schemes_unchanged_by_v2() -> None:
    """sha256/blake3 still digest the v1 byte stream (old tasks keep their hashes)."""
    params, optim = _state()
    stream = b"".join(bytes(c) for c in statehash.serialize_chunks(params, optim, 4, RNG, 32))
    assert statehash.digest_state("sha256", params, optim, 4, RNG, 32) == \
        hashlib.sha256(stream).digest()
