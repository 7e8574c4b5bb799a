"""Named node faults, end to end with real training, the auditor and three juror bots:
the cheater is disputed at the right step, out-voted, slashed and jailed; the task reopens; an
honest node takes it over from the final prefix, is audited without a dispute and is paid.
Then every party's position is checked to the wei (tests/support/cast.py ``Book``).

Complements tests/integration/challenger/test_challenger_faults.py (which stops at the slash):
here the whole life of the task is played and nobody honest may lose anything.
Default run: the lazy node; ``-m heavy``: every fault of tests/support/actors.py ``Fault``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.disputes import dispute_phase
from ledger.protocol import DisputePhase, Outcome
from tests.support.actors import DishonestNode, Fault, Requester
from tests.support.faultplay import (
    CHALLENGER,
    CHEATER,
    HONEST,
    JUROR_STAKE,
    JURORS,
    NODE_STAKE,
    REQUESTER,
    REWARD,
    WINDOW,
    drive,
    play,
)

DEFAULT = [(Fault.SKIPPED_STEPS, 3)]
HEAVY = [(Fault.WRONG_LEAF_AT_STEP, 7), (Fault.PERTURBED_WEIGHT, 2), (Fault.DIFFERENT_LR, 1),
         (Fault.SWAPPED_BATCHES, 4), (Fault.CHECKPOINT_MISMATCH, 1), (Fault.WITHHELD_CHECKPOINT, 1),
         (Fault.SKIPPED_STEPS, 8)]


@pytest.mark.parametrize(("fault", "step"), DEFAULT, ids=[f"{f.value}-{s}" for f, s in DEFAULT])
def test_cheater_slashed_and_honest_takeover_paid(fault: Fault, step: int, anvil: Any,
                                                  protocol: Any,
                                                  store_url: str, published: Any,
                                                  tmp_path: Path) -> None:
    play(fault, step, anvil, protocol, store_url, published, tmp_path, tmp_path / "cache")


@pytest.mark.heavy
@pytest.mark.parametrize(("fault", "step"), HEAVY, ids=[f"{f.value}-{s}" for f, s in HEAVY])
def test_cheater_slashed_and_honest_takeover_paid_heavy(fault: Fault, step: int, anvil: Any,
                                                        protocol: Any,
                                                        store_url: str, published: Any,
                                                        tmp_path: Path) -> None:
    play(fault, step, anvil, protocol, store_url, published, tmp_path, tmp_path / "cache")


@pytest.mark.heavy
def test_withheld_leaves_lazy_node_is_caught(anvil: Any, protocol: Any, store_url: str,
                                             published: Any,
                                             tmp_path: Path) -> None:
    """The leaves file is withheld, but the leaves are on chain with the commit (#14): the lazy
    node's first frozen step is disputed with its proof, the jury finds the node wrong; it is
    slashed and jailed, the challenger paid, the honest takeover paid, every balance exact."""
    play(Fault.SKIPPED_STEPS, 3, anvil, protocol, store_url, published, tmp_path,
         tmp_path / "cache",
         withhold_leaves=True)


def test_withheld_leaves_wrong_mid_leaf_is_caught(anvil: Any, protocol: Any, store_url: str,
                                                  published: Any,
                                                  tmp_path: Path) -> None:
    """Formerly the residual weakness (a strict xfail): a made-up leaf mid-segment, an honest end
    state and a withheld leaves file. The leaves are published on chain with the commit, so the
    auditor proves the wrong leaf; NodeWrong, slashed, jailed; honest takeover paid; books exact."""
    play(Fault.WRONG_LEAF_AT_STEP, 2, anvil, protocol, store_url, published, tmp_path,
         tmp_path / "cache",
         withhold_leaves=True)


@pytest.mark.heavy
def test_reused_root_after_reopen_is_audited(anvil: Any, protocol: Any, store_url: str,
                                             published: Any,
                                             tmp_path: Path) -> None:
    from challenger.auditor import Auditor
    from challenger.juror import Juror
    from challenger.policy import AuditPolicy
    from store.client import Client

    cache = tmp_path / "cache"
    with Client(store_url) as client:
        jurors = [Juror(protocol(i), client, tmp_path / f"juror{i}", cache_dir=cache,
                        stake=JUROR_STAKE)
                  for i in JURORS]
        for j in jurors:
            j.opt_in()
        auditor = Auditor(protocol(CHALLENGER), client, tmp_path / "auditor",
                          AuditPolicy(probability=1.0),
                          cache_dir=cache)
        first = DishonestNode(protocol(CHEATER), client, tmp_path / "c1",
                              fault=Fault.CHECKPOINT_MISMATCH,
                              cache_dir=cache)
        second = DishonestNode(protocol(HONEST), client, tmp_path / "c2",
                               fault=Fault.CHECKPOINT_MISMATCH,
                               cache_dir=cache)
        p = protocol(0)
        task = Requester(protocol(REQUESTER), client).post(published, reward=REWARD,
                                                           challenge_window=WINDOW,
                                                           node_stake=NODE_STAKE)
        first.claim(task)
        first.commit(task, 0)
        auditor.run_once()
        drive(anvil, [auditor, *jurors], lambda: dispute_phase(p, 1) == DisputePhase.RESOLVED)
        assert int(p.dispute(1).outcome) == Outcome.NODE_WRONG
        second.claim(task)
        c = second.commit(task, 0)  # the same (honest) trace root, another tampered checkpoint
        assert c.trace_root == first.committed[0].trace_root
        for _ in range(3):
            auditor.run_once()
            anvil.mine(1)
        assert p.dispute_count() == 2, "the second bad checkpoint was not disputed"
        assert p.end_state_dispute_of(task, 0) == 2
        assert p.dispute(2).node.lower() == second.protocol.me.lower()
        drive(anvil, [auditor, *jurors], lambda: dispute_phase(p, 2) == DisputePhase.RESOLVED)
        assert int(p.dispute(2).outcome) == Outcome.NODE_WRONG and p.is_jailed(second.protocol.me)
        rows = auditor.journal.rows("SELECT node, status FROM audits WHERE task_id = ? AND k = 0 "
                                    "ORDER BY committed_block", task)
        assert [(r["node"].lower(), r["status"]) for r in rows] == \
            [(first.protocol.me.lower(), "disputed"), (second.protocol.me.lower(), "disputed")]
