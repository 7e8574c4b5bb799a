"""Issue #18: a task's step-graph roots are recorded with it, and every node and auditor checks
them before it claims or audits.

On the real stack (anvil, the real contracts wired to both adjudicators, the embedded store over
HTTP, real torch steps of the tiny preset): a requester that records a wrong teacherRoot,
scalarRoot or graphRoot with its task (``createTaskWithGraph``) gets no honest node to claim it
(the daemon recomputes the roots from the spec, teacher and dataset and refuses, naming the
root), no auditor audits a careless node's commit on it, the jury cannot be used instead (the
market refuses it on a refereed task), and nobody loses a wei: the requester cancels and gets
its reward back as the cancel rules say. Every party's books are checked to the wei.
"""

from __future__ import annotations

import enum
import hashlib
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.support.actors import E18, HonestNode, Requester
from tests.support.cast import Book

REQUESTER, NODE, CARELESS, AUDITOR = 1, 2, 3, 4
REWARD, NODE_STAKE = 100 * E18, 1000 * E18


class WrongRoot(enum.Enum):
    """The root the requester records wrong (by its Solidity name)."""

    TEACHER = "teacherRoot"
    SCALAR = "scalarRoot"
    GRAPH = "graphRoot"


@pytest.fixture(scope="module")
def published(store_url: str) -> Any:
    from tests.support.store import publish_tiny

    return publish_tiny(store_url, seed=29, totalSteps=16)


def _roots(pub: Any, task_id: int) -> Any:
    from prover.presets import default_dataset_dir, default_teacher_dir
    from prover.trace.roots import task_roots

    spec = pub.spec
    return task_roots(spec, task_id, default_teacher_dir(), default_dataset_dir(spec.seq_len))


def _graph(pub: Any, req: Any, wrong: WrongRoot | None) -> dict[str, Any]:
    """The StepGraph of the next task, with root ``wrong`` replaced by another 32 bytes."""
    graph = _roots(pub, req.task_count() + 1).as_struct()
    if wrong is not None:
        graph[wrong.value] = hashlib.sha256(b"not the " + graph[wrong.value]).digest()
    return graph


def test_right_roots_are_claimed(anvil: Any, protocol: Any, store_url: str,
                                 published: Any, tmp_path: Path) -> None:
    """The control: with the roots the spec gives, the honest daemon claims the task."""
    from node.daemon import NodeDaemon
    from store.client import Client

    req, node = protocol(REQUESTER), protocol(NODE)
    node.deposit(NODE_STAKE)
    with Client(store_url) as client:
        task = Requester(req, client).post(published, reward=REWARD, node_stake=NODE_STAKE,
                                           graph=_graph(published, req, None))
        assert req.adjudicator_of(task).lower() == req.referee.address.lower()
        daemon = NodeDaemon(node, client, tmp_path / "node")
        try:
            assert str(daemon.run_once()) .startswith("claimed"), daemon.journal.task(task)
        finally:
            daemon.close()
    assert req.task(task).node.lower() == node.me.lower()


@pytest.mark.parametrize("wrong", list(WrongRoot), ids=lambda w: w.value)
def test_wrong_root_is_never_claimed_and_costs_nobody(
    anvil: Any, protocol: Any, store_url: str, published: Any, tmp_path: Path,
    wrong: WrongRoot, caplog: pytest.LogCaptureFixture
) -> None:
    from materials.roots import check_task_roots
    from node.daemon import NodeDaemon
    from prover.errors import RootsMismatchError
    from store.client import Client

    caplog.set_level(logging.INFO)
    req, node = protocol(REQUESTER), protocol(NODE)
    node.deposit(NODE_STAKE)
    book = Book(protocol(0), {"requester": req.me, "node": node.me})
    book.snap()
    with Client(store_url) as client:
        task = Requester(req, client).post(published, reward=REWARD, node_stake=NODE_STAKE,
                                           graph=_graph(published, req, wrong))
        assert req.is_refereed(task)
        assert bytes(req.step_graph(task)[wrong.value]) != _roots(published, task).as_struct()[
            wrong.value]
        daemon = NodeDaemon(node, client, tmp_path / "node")
        try:
            did = [str(daemon.run_once()) for _ in range(2)]
            assert all(d == "idle" for d in did), did
            row = daemon.journal.task(task)
            assert row.state == "refused" and wrong.value in str(row.reason), row
        finally:
            daemon.close()
        assert any("roots-mismatch" in r.getMessage() and r.levelno == logging.ERROR
                   for r in caplog.records)
        with pytest.raises(RootsMismatchError) as err:
            m = HonestNode(req, client, tmp_path / "req").materials
            spec = published.spec
            check_task_roots(req, task, spec, m.teacher_dir(spec), m.dataset_dir(spec))
        assert err.value.root == wrong.value and err.value.task_id == task
    t = req.task(task)
    assert int(t.status) == 1 and int(t.node, 16) == 0, "nobody claimed it"
    req.cancel_task(task)
    book.check()  # the requester got its whole reward back; the node's stake never moved


@pytest.mark.heavy
def test_wrong_root_is_not_audited_and_the_jury_cannot_step_in(
    anvil: Any, protocol: Any, store_url: str, published: Any, tmp_path: Path
) -> None:
    """A careless node claims and commits anyway: the auditor refuses to audit (no dispute, no
    attestation, no bond), the jury is refused on the task, and the cancel pays as its rules
    say (the committed final segment to its committer, the stall slash to the treasury)."""
    from challenger.auditor import Auditor
    from challenger.policy import AuditPolicy
    from ledger.errors import ContractRevertError, WrongAdjudicatorError
    from store.client import Client

    req, aud = protocol(REQUESTER), protocol(AUDITOR)
    p = protocol(0)
    with Client(store_url) as client:
        careless = HonestNode(protocol(CARELESS), client, tmp_path / "careless")
        task = Requester(req, client).post(published, reward=REWARD, node_stake=NODE_STAKE,
                                           graph=_graph(published, req, WrongRoot.TEACHER))
        careless.claim(task)
        book = Book(p, {"requester": req.me, "auditor": aud.me, "careless": careless.protocol.me})
        book.snap()
        c = careless.commit(task, 0)
        auditor = Auditor(aud, client, tmp_path / "auditor", AuditPolicy(probability=1.0))
        auditor.run_once()
        rows = auditor.journal.rows("SELECT status, reason FROM audits WHERE task_id = ?", task)
        assert [r["status"] for r in rows] == ["refused"], rows
        assert "teacherRoot" in rows[0]["reason"]
        assert p.dispute_count() == 0 and int(p.referee.call("disputeCount")) == 0
        assert int(p.view(p.market, "segment", task, 0).openDisputes) == 0
        with pytest.raises(WrongAdjudicatorError):
            aud.open_dispute(task, 0, 1, c.result.leaves[0], [])
        with pytest.raises(ContractRevertError, match="NotTaskAdjudicator"):
            aud.jury.transact("openEndStateDispute", task, 0, aud.roots(task, 0),
                              (bytes(32), bytes(32)))
        deadline = int(req.task(task).segmentDueBlock)
        anvil.mine(max(deadline, int(req.segment(task, 0).committedAt) + 41)
                   - p.chain.block_number() + 1)
        receipt = req.cancel_task(task)
        (ev,) = req.market.decode_events(receipt, "TaskCancelled")
        segs = published.spec.total_steps // published.spec.segment_steps
        pay = REWARD // segs
        assert int(ev["args"]["paid"]) == pay and int(ev["args"]["refunded"]) == REWARD - pay
        stall = NODE_STAKE * int(p.market_params().stallSlashBps) // 10_000
        book.check(requester={"wallet": REWARD - pay},
                   careless={"wallet": pay, "staked": -stall})


@pytest.mark.heavy
def test_fault_on_refereed_task_never_opens_a_jury_dispute(
    anvil: Any, protocol: Any, store_url: str, published: Any, tmp_path: Path
) -> None:
    """Routing by the task's adjudicator: with the right roots, the auditor audits, finds the
    fault and does not send it to the jury (journalled for the referee-game bot); no bond
    moves, no jury dispute exists."""
    from challenger.auditor import Auditor
    from challenger.policy import AuditPolicy
    from store.client import Client
    from tests.support.actors import DishonestNode, Fault

    req, aud = protocol(REQUESTER), protocol(AUDITOR)
    p = protocol(0)
    with Client(store_url) as client:
        cheat = DishonestNode(protocol(CARELESS), client, tmp_path / "cheat",
                              fault=Fault.WRONG_LEAF_AT_STEP, step=2)
        task = Requester(req, client).post(published, reward=REWARD, node_stake=NODE_STAKE,
                                           graph=_graph(published, req, None))
        cheat.claim(task)
        cheat.commit(task, 0)
        book = Book(p, {"auditor": aud.me, "cheat": cheat.protocol.me})
        book.snap()
        auditor = Auditor(aud, client, tmp_path / "auditor", AuditPolicy(probability=1.0))
        auditor.run_once()
        rows = auditor.journal.rows("SELECT status, reason FROM audits WHERE task_id = ?", task)
        assert [r["status"] for r in rows] == ["error"], rows
        assert "differs first at step 2" in rows[0]["reason"]
        assert "referee" in rows[0]["reason"]
        assert p.dispute_count() == 0 and int(p.referee.call("disputeCount")) == 0
        book.check()
