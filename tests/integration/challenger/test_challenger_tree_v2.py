"""Audits of a task under the v2 schemes (``stateHash: "tree-v2"``, ``schedule: "keccak-v2"``)
on the real chain and store: an honest node's segments audit clean end to end (leaves, end state,
end checkpoint through the checkpoint judge), and a one-ulp weight fault is disputed at its step.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.actors import DishonestNode, Fault
from tests.support.bots import BotWorld, bot_cache
from tests.support.store import publish_tiny


@pytest.fixture(scope="module")
def published_v2(store_handle: Any) -> Any:
    return publish_tiny(store_handle.url, seed=6, totalSteps=16, state_hash="tree-v2",
                        schedule="keccak-v2")


@pytest.fixture
def world_v2(anvil: Any, protocol: Any, store_handle: Any, published_v2: Any,
             shared_cache: Path, tmp_path: Path) -> Iterator[BotWorld]:
    from store.client import Client

    with Client(store_handle.url) as client:
        yield BotWorld(anvil, protocol, client, published_v2, bot_cache(shared_cache, tmp_path),
                    tmp_path)


def test_honest_v2_node_audits_clean(world_v2: BotWorld) -> None:
    spec = world_v2.published.spec
    assert spec.state_hash == "tree-v2" and spec.schedule == "keccak-v2"
    task_id = world_v2.post_task(challenge_window=30)
    node = world_v2.node()
    node.claim(task_id)
    auditor = world_v2.auditor()
    for k in range(spec.num_segments()):
        node.commit(task_id, k)
        auditor.run_once()
    s = auditor.status()
    assert s["audits"] == {"ok": 2}, [dict(r) for r in auditor.journal.rows("SELECT * FROM audits")]
    reasons = [r["reason"] for r in auditor.journal.decisions("audit")
               if r["decision"] == "no dispute"]
    assert len(reasons) == 2 and all(
        "all 8 leaves, the end state and the end checkpoint match" in r for r in reasons), reasons


def test_v2_one_ulp_weight_fault_is_disputed_at_its_step(world_v2: BotWorld) -> None:
    task_id = world_v2.post_task()
    node = world_v2.node(DishonestNode, fault=Fault.PERTURBED_WEIGHT, step=5)
    node.claim(task_id)
    node.commit(task_id, 0)
    auditor = world_v2.auditor()
    auditor.run_once()
    (row,) = auditor.journal.rows("SELECT * FROM disputes")
    assert row["step"] == 5, row["reason"]
