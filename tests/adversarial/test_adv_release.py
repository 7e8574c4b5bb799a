"""Issue #14, class 2 (on-chain part): missing data never pays the one who withholds it.

On the real stack (anvil, the real contracts, the embedded store over HTTP, the real node daemon,
real training):

- the requester unpins its teacher after a node claimed: the daemon retries with bounded backoff,
  then gives the task back for free (``releaseTask``, INPUTS_UNAVAILABLE) instead of stalling into
  a slash; it never claims the task again; the requester cancels and gets back exactly its reward;
- the node that committed the final prefix lets its checkpoint disappear and stalls: the daemon of
  a second operator sees the withheld start checkpoint before claiming, claims and releases at
  once (START_CHECKPOINT_UNAVAILABLE), which rolls the prefix back one segment; the daemon of a
  third operator redoes it from the spec, finishes and is paid. The withholder pays its stall (to
  the treasury, never the requester) and earns nothing; the task is never stranded.

Every party's books are checked to the wei (tests/support/cast.py ``Book``), the treasury
(the deployer) included.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.protocol import ReleaseReason, TaskStatus
from tests.support.actors import E18, HonestNode, Requester
from tests.support.cast import Book
from tests.support.chain import drive

REQUESTER, NODE, NODE2, NODE3 = 1, 2, 3, 5
REWARD, NODE_STAKE, WINDOW = 100 * E18, 1000 * E18, 12


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    """A store of this test only (content is unpinned and collected here)."""
    from store.server import serve

    with serve(tmp_path / "repo") as handle:
        yield handle


def _publish(client: Any, total_steps: int = 16) -> Any:
    from materials import publish
    from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec

    spec = preset_spec("tiny", seed=29, totalSteps=total_steps)
    return publish(client, spec, default_teacher_dir(), default_dataset_dir(spec.seq_len))


def _released(protocol: Any, task: int) -> list[Any]:
    p = protocol(0)
    return list(p.market.events("TaskReleased", from_block=p.addresses.deployBlock, taskId=task))


def test_inputs_withheld_after_the_claim_are_released_for_free(
    anvil: Any, protocol: Any, store: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from node.daemon import Activity, NodeDaemon
    from node.errors import CancelRefusedError
    from node.requester import cancel_task
    from store.client import Client

    caplog.set_level(logging.INFO)
    with Client(store.url, retries=1, backoff=0.01) as client:
        pub = _publish(client)
        req, node, p = protocol(REQUESTER), protocol(NODE), protocol(0)
        node.deposit(NODE_STAKE)
        book = Book(p, {"requester": req.me, "node": node.me, "treasury": p.me})
        book.snap()
        task = Requester(req, client).post(pub, reward=REWARD, node_stake=NODE_STAKE)
        node.claim_task(task)  # claimed (say, before a crash that lost the node's cache)
        with pytest.raises(CancelRefusedError) as refused:  # a node is within its deadline
            cancel_task(req, task)
        assert refused.value.reason == "in-progress"
        client.unpin(pub.teacher_cid)  # then the requester withholds its teacher
        client.gc()
        daemon = NodeDaemon(node, client, tmp_path / "node")
        daemon.inputs.base_s = 0.0  # no real waiting; the bound on tries is what counts
        try:
            assert daemon.run_once().activity is Activity.ADOPTED
            did = [daemon.run_once() for _ in range(daemon.inputs.tries)]
            waiting = [Activity.WAITING] * (daemon.inputs.tries - 1)
            assert [d.activity for d in did] == [*waiting, Activity.LOST]
            assert did[-1].detail == "released"
            assert daemon.journal.task(task).state == "lost"
            assert [str(daemon.run_once()) for _ in range(2)] == ["idle"] * 2  # never re-claimed
        finally:
            daemon.close()
        (ev,) = _released(protocol, task)
        assert ReleaseReason(int(ev["args"]["reason"])) is ReleaseReason.INPUTS_UNAVAILABLE
        t = p.task(task)
        assert int(t.status) == TaskStatus.OPEN and int(t.releases) == 1
        assert p.has_released(task, node.me)
        assert any("task-released" in r.getMessage() for r in caplog.records)
        book.check(requester={"wallet": -REWARD})  # the node lost nothing: no stall slash
        done = cancel_task(req, task)
        assert (done.refunded, done.paid, done.forfeited) == (REWARD, 0, 0)
        book.check()  # nobody gained or lost anything; the requester has exactly its reward back


@pytest.mark.heavy
def test_withheld_final_prefix_checkpoint_is_rolled_back_and_the_task_completes(
    anvil: Any, protocol: Any, store: Any, tmp_path: Path
) -> None:
    from node.daemon import NodeDaemon
    from store.client import Client

    with Client(store.url, retries=1, backoff=0.01) as client:
        pub = _publish(client)
        req, p = protocol(REQUESTER), protocol(0)
        withholder = HonestNode(protocol(NODE), client, tmp_path / "withholder")
        second, third = protocol(NODE2), protocol(NODE3)
        for n in (withholder.protocol, second, third):
            n.deposit(NODE_STAKE)
        book = Book(p, {"requester": req.me, "withholder": withholder.protocol.me,
                        "second": second.me, "third": third.me, "treasury": p.me})
        book.snap()
        task = Requester(req, client).post(pub, reward=REWARD, node_stake=NODE_STAKE,
                                           challenge_window=WINDOW, segment_deadline=40)
        withholder.claim(task)
        c0 = withholder.commit(task, 0)
        anvil.mine(WINDOW + 1)
        assert p.is_final(task, 0)
        client.unpin(c0.checkpoint_cid)  # the final prefix's checkpoint disappears
        client.gc()
        anvil.mine(max(0, int(p.task(task).segmentDueBlock) - p.chain.block_number() + 1))
        p.timeout_stall(task)  # the withholder leaves; the task reopens at segment 1
        assert int(p.task(task).nextSegment) == 1
        d2 = NodeDaemon(second, client, tmp_path / "second")
        d2.inputs.base_s = 0.0
        try:
            for _ in range(d2.inputs.tries + 1):
                d2.run_once()
            assert d2.journal.task(task).state == "lost"
        finally:
            d2.close()
        (ev,) = _released(protocol, task)
        reason = ReleaseReason(int(ev["args"]["reason"]))
        assert reason is ReleaseReason.START_CHECKPOINT_UNAVAILABLE
        t = p.task(task)
        assert int(t.nextSegment) == 0 and int(t.rolledBackFrom) == 1
        assert int(t.status) == TaskStatus.OPEN
        d3 = NodeDaemon(third, client, tmp_path / "third")
        try:
            drive(anvil, [d3], lambda: d3.rewarded == [task], max_blocks=300)
            assert [s.k for s in d3.journal.segments(task)] == [0, 1]  # segment 0 redone
        finally:
            d3.close()
        stall = NODE_STAKE * int(p.market_params().stallSlashBps) // 10_000
        book.check(requester={"wallet": -REWARD}, withholder={"staked": -stall},
                   third={"wallet": REWARD}, treasury={"wallet": stall})


def test_a_stranded_task_is_cancelled_in_one_call(world: Any) -> None:
    """The node claimed and went silent past its due block: the requester's cancel times the
    stall out (slash to the treasury) and refunds exactly the reward; books exact."""
    from node.errors import CancelRefusedError
    from node.requester import cancel_task
    from tests.support.cast import DEADLINE
    from tests.support.cast import NODE_STAKE as STAKE
    from tests.support.cast import REWARD as PAID

    w = world
    w.book.snap()
    task = w.post()
    w.node.claim_task(task)
    with pytest.raises(CancelRefusedError):  # within its deadline the node is working
        cancel_task(w.requester, task)
    w.anvil.mine(DEADLINE + 1)
    done = cancel_task(w.requester, task)
    assert (done.refunded, done.paid, done.forfeited) == (PAID, 0, 0)
    assert int(w.requester.task(task).status) == TaskStatus.CANCELLED
    stall = STAKE * int(w.deployer.market_params().stallSlashBps) // 10_000
    w.book.check(node={"staked": -stall}, treasury={"wallet": stall})
