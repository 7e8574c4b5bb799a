"""A transaction that vanishes from the node's pool is sent again and still lands exactly once."""

from __future__ import annotations

import threading
import time

from ledger.chain import Chain


def test_dropped_transaction_is_rebroadcast_and_mined_once(fresh_anvil):
    chain = Chain(fresh_anvil.url, fresh_anvil.accounts[0], poll=0.05)
    probe = chain.deploy("Probe")
    fresh_anvil.rpc("evm_setAutomine", False)
    result: dict[str, object] = {}
    worker = threading.Thread(target=lambda: result.update(receipt=probe.transact("store", 77)))
    worker.start()
    deadline = time.monotonic() + 10
    pending: list[str] = []
    while not pending and time.monotonic() < deadline:
        content = fresh_anvil.rpc("txpool_content")["pending"]
        pending = [tx["hash"] for by_nonce in content.values() for tx in by_nonce.values()]
        time.sleep(0.05)
    assert len(pending) == 1
    fresh_anvil.rpc("anvil_dropTransaction", pending[0])  # gone, as after a node restart
    while time.monotonic() < deadline + 10:
        content = fresh_anvil.rpc("txpool_content")["pending"]
        if any(
            tx["hash"] == pending[0] for by_nonce in content.values() for tx in by_nonce.values()
        ):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the dropped transaction was not sent again")
    fresh_anvil.rpc("evm_mine")
    worker.join(timeout=30)
    receipt = result["receipt"]
    assert receipt["status"] == 1  # type: ignore[index]
    assert [e["args"]["value"] for e in probe.events("Stored", from_block=0)] == [77]
