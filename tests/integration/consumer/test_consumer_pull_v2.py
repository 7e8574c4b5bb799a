"""A verified pull of a task under the v2 schemes (``stateHash: "tree-v2"``,
``schedule: "keccak-v2"``) on a real anvil, the real contracts, the embedded store and real
training: the consumer's checkpoint judge recomputes the v2 state hash and accepts only the
committed one. Under ``-m heavy``: the same judge is checked by the default run in
tests/integration/prover/test_prover_tree_v2.py, this adds the chain and the store (~80 s)."""

from __future__ import annotations

import json
from typing import Any

import pytest

E18 = 10**18


@pytest.fixture
def world(protocol: Any, anvil: Any, tmp_path: Any) -> Any:
    from materials import publish
    from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec
    from store.client import Client
    from store.server import serve

    with serve(tmp_path / "repo") as store, Client(store.url) as client:
        spec = preset_spec("tiny", seed=2, totalSteps=8, state_hash="tree-v2",
                           schedule="keccak-v2")
        teacher, data = default_teacher_dir(), default_dataset_dir(spec.seq_len)
        pub = publish(client, spec, teacher, data)
        requester, node = protocol(1), protocol(2)
        node.deposit(1_000 * E18)
        yield {"client": client, "pub": pub, "requester": requester, "node": node,
               "teacher": teacher, "data": data, "anvil": anvil, "tmp": tmp_path}


def _commit(w: Any, end_hash: bytes | None = None) -> tuple[int, bytes]:
    from prover.segment import run_segment

    tid = w["requester"].create_task(w["pub"].spec_cid, w["pub"].spec_hash, 100 * E18,
                                     total_steps=8, segment_steps=8, challenge_window=2,
                                     segment_deadline=500, node_stake=100 * E18)
    w["node"].claim_task(tid)
    r = run_segment(w["pub"].spec, tid, 0, None, w["teacher"], w["data"], w["tmp"] / f"t{tid}")
    ck, lv = w["client"].put_dir(r.checkpoint_dir), w["client"].put_file(r.leaves_file)
    w["node"].commit_segment(tid, 0, r.trace_root, end_hash or r.end_state_hash, ck, lv,
                             leaves=r.leaves)
    w["anvil"].mine(3)
    return tid, r.end_state_hash


@pytest.mark.heavy
def test_pull_of_a_v2_task_is_verified(world: Any) -> None:
    from consumer.errors import CheckpointMismatchError
    from consumer.pull import pull

    w = world
    tid, end = _commit(w)
    out = w["tmp"] / "student"
    # no auditor here: the audit of v2 segments is test_challenger_tree_v2's
    res = pull(w["node"], w["client"], tid, out, allow_unaudited=True)
    assert (res.segment, res.final) == (0, True)
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["endStateHash"] == "0x" + end.hex() and prov["stateHashAlgo"] == "tree-v2"
    # an honest upload under a made-up commitment is refused by the v2 judge too
    bad, _ = _commit(w, end_hash=b"\x22" * 32)
    with pytest.raises(CheckpointMismatchError, match=r"holds state .* endStateHash is"):
        pull(w["node"], w["client"], bad, w["tmp"] / "bad", allow_unaudited=True)
