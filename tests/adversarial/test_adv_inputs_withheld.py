"""Issue #14, class 2 (off-chain part): missing inputs never make an honest node pay.

On the real stack (anvil, the real contracts, the embedded store over HTTP, the real node daemon):

- a requester that unpins its teacher after posting gets no node to claim (the daemon fetches and
  verifies teacher, dataset and start checkpoint BEFORE claiming), so nobody is stall-slashed;
  the daemon retries with backoff, gives the task up after a bounded number of tries, and the
  requester can only cancel for its own money back;
- the daemon never claims again a task it has lost;
- an outage of the node's own store API is retried with a bounded, doubling wait and reported
  (start and end), not looped on.
Every party's books are checked to the wei (tests/support/cast.py ``Book``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.actors import E18, Requester
from tests.support.cast import Book

REQUESTER, NODE = 1, 2
REWARD, NODE_STAKE = 100 * E18, 1000 * E18


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    """A store of this test only (its teacher is unpinned and collected here)."""
    from store.server import serve

    with serve(tmp_path / "repo") as handle:
        yield handle


def _publish(client: Any, totalSteps: int = 16) -> Any:
    from materials import publish
    from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec

    spec = preset_spec("tiny", seed=23, totalSteps=totalSteps)
    return publish(client, spec, default_teacher_dir(), default_dataset_dir(spec.seq_len))


def test_withheld_teacher_is_never_claimed_and_pays_the_requester_nothing(
    anvil: Any, protocol: Any, store: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from node.daemon import NodeDaemon
    from store.client import Client

    caplog.set_level(logging.INFO)
    with Client(store.url, retries=1, backoff=0.01) as client:
        pub = _publish(client)
        req, node = protocol(REQUESTER), protocol(NODE)
        node.deposit(NODE_STAKE)
        book = Book(protocol(0), {"requester": req.me, "node": node.me})
        book.snap()
        task = Requester(req, client).post(pub, reward=REWARD, node_stake=NODE_STAKE)
        client.unpin(pub.teacher_cid)  # the requester withholds its teacher after posting
        client.gc()
        daemon = NodeDaemon(node, client, tmp_path / "node")
        daemon.inputs.base_s = 0.0  # no real waiting in the test; the bound on tries is what counts
        try:
            did = [str(daemon.run_once()) for _ in range(daemon.inputs.tries + 2)]
            assert all(d == "idle" for d in did), did
            assert daemon.journal.task(task).state == "refused"
            assert "teacher" in str(daemon.journal.task(task).reason)
        finally:
            daemon.close()
        assert int(req.task(task).status) == 1 and req.task(task).node == "0x" + "0" * 40
        fails = [r for r in caplog.records if "task-inputs-unavailable" in r.getMessage()]
        assert len(fails) >= 1 and any(
            "inputs-unavailable" in r.getMessage() and r.levelno == logging.ERROR
            for r in caplog.records
        )
        req.market.transact("cancelTask", task)
        book.check()  # nobody gained or lost anything: the requester's escrow came back


def test_daemon_never_reclaims_a_task_it_lost(
    anvil: Any, protocol: Any, store: Any, tmp_path: Path
) -> None:
    from node.daemon import NodeDaemon
    from store.client import Client

    with Client(store.url) as client:
        pub = _publish(client)
        req, node = protocol(REQUESTER), protocol(NODE)
        node.deposit(NODE_STAKE)
        p = protocol(0)
        book = Book(p, {"requester": req.me, "node": node.me, "treasury": p.me})
        book.snap()
        task = Requester(req, client).post(
            pub, reward=REWARD, node_stake=NODE_STAKE, segment_deadline=20
        )
        daemon = NodeDaemon(node, client, tmp_path / "node")
        try:
            assert str(daemon.run_once()) == f"claimed {task}"
            anvil.mine(25)  # the node does not deliver in time; anyone times it out
            req.timeout_stall(task)
            assert int(p.task(task).status) == 1  # open again
            assert str(daemon.run_once()) == f"lost {task}"
            assert [str(daemon.run_once()) for _ in range(3)] == ["idle"] * 3
            assert int(p.task(task).status) == 1 and int(p.task(task).epoch) == 1
        finally:
            daemon.close()
        stall = NODE_STAKE * int(p.market_params().stallSlashBps) // 10_000
        book.check(requester={"wallet": -REWARD}, node={"staked": -stall},
                   treasury={"wallet": stall})  # never the requester (#14)


def test_store_outage_is_retried_with_bounded_backoff_and_reported(
    anvil: Any, protocol: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from node.daemon import Activity, NodeDaemon
    from store.client import Client
    from store.server import serve

    caplog.set_level(logging.INFO)
    handle = serve(tmp_path / "repo")
    port = handle.port
    with Client(handle.url) as publisher:  # the requester's side, before the outage
        pub = _publish(publisher)
    with Client(handle.url, retries=1, backoff=0.01, timeout=5) as client:
        node = protocol(NODE)
        node.deposit(NODE_STAKE)
        Requester(protocol(REQUESTER), client).post(pub, reward=REWARD, node_stake=NODE_STAKE)
        daemon = NodeDaemon(node, client, tmp_path / "node")
        handle.stop()  # the node's own IPFS API goes down
        try:
            waits = []
            for _ in range(9):
                assert daemon.run_once().activity is Activity.WAITING
                waits.append(daemon.wait_s)
            assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]  # doubling, capped
            downs = [r for r in caplog.records if "store-unavailable" in r.getMessage()]
            assert len(downs) == 4  # failures 1, 2, 4, 8 are reported, not every retry
            again = serve(tmp_path / "repo", port=port)  # it comes back on the same address
            try:
                assert daemon.run_once().activity is not Activity.WAITING
                assert any(
                    "store-recovered" in r.getMessage() and "failures=9" in r.getMessage()
                    for r in caplog.records
                )
            finally:
                again.stop()
        finally:
            daemon.close()
