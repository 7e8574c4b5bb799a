"""EventWatcher against a real anvil: ordered delivery, confirmations, and re-delivery after a
reorg."""

from __future__ import annotations

from ledger.chain import Chain
from ledger.watch import EventWatcher


def test_watcher_delivers_in_order_and_respects_confirmations(anvil):
    chain = Chain(anvil.url, anvil.accounts[0])
    probe = chain.deploy("Probe")
    start = chain.block_number()
    watcher = EventWatcher(chain, [(probe, "Stored")], start_block=start, confirmations=2)
    for v in (1, 2, 3):
        probe.transact("store", v)
    assert [e["args"]["value"] for e in watcher.poll()] == [1]  # 2 and 3 are not 2 blocks deep yet
    anvil.mine(2)
    assert [e["args"]["value"] for e in watcher.poll()] == [2, 3]
    assert watcher.poll() == []


def test_watcher_redelivers_the_new_branch_after_a_reorg(fresh_anvil):
    chain = Chain(fresh_anvil.url, fresh_anvil.accounts[0])
    probe = chain.deploy("Probe")
    watcher = EventWatcher(chain, [(probe, "Stored")], start_block=chain.block_number())
    probe.transact("store", 7)
    probe.transact("store", 8)
    assert [e["args"]["value"] for e in watcher.poll()] == [7, 8]
    # Replace the last two blocks with empty ones: both Stored events vanish from the chain.
    fresh_anvil.rpc("anvil_reorg", 2, [])
    probe.transact("store", 9)
    seen = [e["args"]["value"] for e in watcher.poll()]
    assert watcher.reorgs == 1
    assert seen == [9]
