"""EventSet (one eth_getLogs per range, decoded with eth_abi) agrees with web3's per-event
decoding on every event the contracts emitted in a game with a cheat, a jury and a slash."""

from __future__ import annotations

from typing import Any

from ledger.eventset import EventSet
from prover import merkle
from tests.support.cast import honest_hash, make_cast


def _plain(v: Any) -> Any:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if hasattr(v, "items"):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


def test_eventset_decodes_like_web3(anvil: Any, protocol: Any) -> None:
    w = make_cast(anvil, protocol)
    start = w.deployer.chain.block_number()
    task = w.post()
    w.node.claim_task(task)
    leaves = w.commit(w.node, task, 0, wrong_from=3)
    d = w.dispute(w.challenger, task, 0, 3, leaves)
    w.run_jury(d, lambda i, a: merkle.leaf(task, 3, honest_hash(task, 3)))
    p, end = w.deployer, w.deployer.chain.block_number()
    contracts = [p.stake, p.market, p.jury]
    fast = EventSet(p.chain, contracts).logs(start, end)
    slow = sorted(
        (
            e
            for c in contracts
            for item in c.artifact.abi
            if item.get("type") == "event"
            for e in c.events(item["name"], from_block=start, to_block=end)
        ),
        key=lambda e: (e["blockNumber"], e["logIndex"]),
    )
    assert len(fast) == len(slow) > 15
    names = {e["event"] for e in fast}
    assert {"TaskCreated", "JuryDrawn", "DisputeResolved", "StakeSlashed", "Jailed"} <= names
    for f, s in zip(fast, slow, strict=True):
        assert (f["event"], f["blockNumber"], f["logIndex"], f["address"]) == (
            s["event"],
            s["blockNumber"],
            s["logIndex"],
            s["address"],
        )
        assert f["blockHash"] == s["blockHash"] and f["transactionHash"] == s["transactionHash"]
        assert _plain(f["args"]) == _plain(dict(s["args"])), f["event"]
