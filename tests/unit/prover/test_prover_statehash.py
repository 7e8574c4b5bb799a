"""Canonical state serialization: exact byte layout, both digests, sensitivity to one ulp."""

from __future__ import annotations

import hashlib
import struct

import blake3
import pytest
import torch

from prover import statehash


class Tiny(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.b = torch.nn.Linear(2, 3)
        self.a = torch.nn.Parameter(torch.tensor([1.5, -2.0]))


def make() -> tuple[Tiny, torch.optim.Optimizer]:
    m = Tiny()
    with torch.no_grad():
        m.b.weight.copy_(torch.arange(6, dtype=torch.float32).reshape(3, 2))
        m.b.bias.fill_(0.25)
    opt = torch.optim.AdamW(m.parameters(), lr=0.1, fused=True)
    return m, opt


RNG = {"scheme": "derived-v1", "seed": 1, "taskId": 2}


def _s(x: str) -> bytes:
    return struct.pack("<I", len(x)) + x.encode()


def test_layout_of_a_fresh_state_is_exactly_the_documented_one() -> None:
    m, opt = make()
    raw = statehash.state_bytes(m, opt, 3, RNG, 24)
    expected = statehash.MAGIC + struct.pack("<I", 3)
    for name in ("a", "b.bias", "b.weight"):  # sorted
        t = dict(m.state_dict())[name]
        expected += _s(name) + _s("float32") + struct.pack("<I", t.dim())
        expected += b"".join(struct.pack("<Q", d) for d in t.shape)
        expected += struct.pack("<Q", 4 * t.numel()) + t.numpy().astype("<f4").tobytes()
    expected += struct.pack("<I", 0)  # no optimizer state before the first step
    expected += struct.pack("<Q", 3) + _s('{"scheme":"derived-v1","seed":1,"taskId":2}')
    expected += struct.pack("<Q", 24)
    assert raw == expected
    assert statehash.state_hash("sha256", m, opt, 3, RNG, 24) == hashlib.sha256(raw).digest()
    assert statehash.state_hash("blake3", m, opt, 3, RNG, 24) == blake3.blake3(raw).digest()


def test_optimizer_state_is_included_after_a_step() -> None:
    m, opt = make()
    before = statehash.state_hash("blake3", m, opt, 0, RNG, 0)
    (m.b(torch.ones(1, 2)).sum() + m.a.sum()).backward()
    opt.step()
    names = [n for n, _ in statehash.optimizer_tensors(m, opt)]
    assert names == sorted(names)
    assert {"a/exp_avg", "a/exp_avg_sq", "a/step", "b.weight/exp_avg"} <= set(names)
    assert statehash.state_hash("blake3", m, opt, 0, RNG, 0) != before


@pytest.mark.parametrize("algo", ["sha256", "blake3"])
def test_one_ulp_step_rng_and_cursor_each_change_the_hash(algo: str) -> None:
    m, opt = make()
    base = statehash.state_hash(algo, m, opt, 3, RNG, 24)
    assert statehash.state_hash(algo, m, opt, 4, RNG, 24) != base
    assert statehash.state_hash(algo, m, opt, 3, {**RNG, "seed": 2}, 24) != base
    assert statehash.state_hash(algo, m, opt, 3, RNG, 25) != base
    with torch.no_grad():
        w = m.b.weight
        w[1, 1] = torch.nextafter(w[1, 1], torch.tensor(float("inf")))
    assert statehash.state_hash(algo, m, opt, 3, RNG, 24) != base


def test_background_hasher_equals_inline_and_threads_do_not_change_blake3() -> None:
    m, opt = make()
    hasher = statehash.BackgroundHasher("blake3", threads=1)
    try:
        fut = hasher.submit(m, opt, 3, RNG, 24)
        assert fut.result() == statehash.state_hash("blake3", m, opt, 3, RNG, 24)
    finally:
        hasher.close()
    assert statehash.state_hash("blake3", m, opt, 3, RNG, 24, threads=-1) == \
        statehash.state_hash("blake3", m, opt, 3, RNG, 24, threads=1)


def test_unknown_algorithm_is_refused() -> None:
    from prover.errors import ProverError

    with pytest.raises(ProverError, match="unknown stateHash"):
        statehash.new_hasher("md5")
