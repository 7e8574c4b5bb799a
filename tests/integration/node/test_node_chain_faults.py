"""The chain misbehaves: a reorg drops a commitment; the RPC goes away for a while."""

from __future__ import annotations

import threading

from node.journal import SegmentState
from tests.integration.node.conftest import E18, create_task, drive, wait_for


def _deploy(anvil):
    from deploy.deployer import DeployConfig, deploy_all
    from ledger.chain import Chain
    from ledger.protocol import Protocol

    deployer = Chain(anvil.url, anvil.accounts[0])
    addresses = deploy_all(deployer, DeployConfig())
    boss = Protocol(deployer, addresses)

    def make(i: int, **chain_kw) -> Protocol:
        p = Protocol(Chain(anvil.url, anvil.accounts[i], **chain_kw), addresses)
        boss.token.transact("transfer", p.me, 10_000 * E18)
        return p

    return addresses, make


def test_reorg_that_drops_a_commitment_is_committed_again(
    fresh_anvil, client, tiny2_published, tmp_path, caplog
):
    from node.daemon import NodeDaemon

    _, make = _deploy(fresh_anvil)
    node = make(2)
    node.deposit(2000 * E18)
    task_id = create_task(make(1), tiny2_published, segments=2, window=5)
    daemon = NodeDaemon(node, client, tmp_path / "node")
    drive(
        daemon,
        lambda: (
            (s := daemon.journal.segment(task_id, 0)) is not None
            and s.state == SegmentState.COMMITTED
            and not daemon._busy()
        ),
    )
    committed_at = daemon.journal.segment(task_id, 0).commit_block
    head = node.chain.block_number()
    fresh_anvil.rpc("anvil_reorg", head - committed_at + 1, [])  # the commit's block is replaced
    assert int(node.task(task_id).nextSegment) == 0
    assert str(node.task(task_id).node).lower() == node.me.lower()  # the claim survived
    caplog.set_level("WARNING", logger="node.daemon")
    drive(daemon, lambda: int(node.task(task_id).nextSegment) == 2)
    assert any("commitment-dropped" in r.getMessage() for r in caplog.records)
    events = node.market.events("SegmentCommitted", from_block=0, taskId=task_id)
    assert sorted(int(e["args"]["k"]) for e in events) == [0, 1]
    fresh_anvil.mine(6)
    drive(daemon, lambda: daemon.rewarded == [task_id])
    daemon.close()


def test_rpc_down_for_a_while_then_back(client, tiny2_published, tmp_path, caplog):
    from deploy.anvil import start_anvil
    from node.daemon import NodeDaemon

    state = tmp_path / "anvil-state.json"
    anvil = start_anvil(state=state)
    try:
        _, make = _deploy(anvil)
        node = make(2, retries=1, backoff=0.1, timeout=2.0)
        node.deposit(2000 * E18)
        task_id = create_task(make(1), tiny2_published, segments=2, window=5)
        daemon = NodeDaemon(node, client, tmp_path / "node")
        caplog.set_level("INFO", logger="node.outage")
        stop = threading.Event()
        thread = threading.Thread(
            target=daemon.run, args=(stop, 0.2), kwargs={"stop_after_tasks": 1}
        )
        thread.start()
        try:
            wait_for(lambda: int(node.task(task_id).nextSegment) >= 1, 120, "segment 0 committed")
            anvil.stop()  # the RPC is gone (state dumped to disk)
            wait_for(lambda: any(r.getMessage().startswith("rpc-unavailable")
                                 for r in caplog.records), 60,
                     "the daemon waits for the RPC")
            assert thread.is_alive()
            anvil = start_anvil(port=anvil.port, state=state)  # back, same chain
            wait_for(lambda: int(node.task(task_id).nextSegment) == 2, 120, "segment 1 committed")
            anvil.mine(6)
            thread.join(timeout=120)
            assert not thread.is_alive()
        finally:
            stop.set()
            thread.join(timeout=60)
        assert daemon.rewarded == [task_id]
        # reported once it began and once it ended (bounded backoff in between: node/outage.py)
        assert any(r.getMessage().startswith("rpc-unavailable") for r in caplog.records)
        assert any(r.getMessage().startswith("rpc-recovered") for r in caplog.records)
        events = node.market.events("SegmentCommitted", from_block=0, taskId=task_id)
        assert sorted(int(e["args"]["k"]) for e in events) == [0, 1]
    finally:
        anvil.stop()
