"""Node test fixtures: an embedded store, a published tiny spec, a task factory, a funded node."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from node.daemon import Activity, Iteration
from tests.support.replay import cli_replay
from tests.support.store import publish_tiny, serving

E18 = 10**18
SEG = 8


@dataclass
class Env:
    store_url: str
    client: Any
    published: Any


@pytest.fixture(scope="session")
def node_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from serving(tmp_path_factory.mktemp("node-store") / "repo")


@pytest.fixture(scope="session")
def tiny_published(node_store: Any) -> Any:
    """The tiny preset with 4 segments of 8 steps, teacher and dataset on the embedded store."""
    return publish_tiny(node_store.multiaddr, totalSteps=4 * SEG, segmentSteps=SEG)


@pytest.fixture(scope="session")
def tiny2_published(node_store: Any) -> Any:
    """The tiny preset with 2 segments of 8 steps."""
    return publish_tiny(node_store.multiaddr, totalSteps=2 * SEG, segmentSteps=SEG)


@pytest.fixture
def client(node_store: Any) -> Any:
    from store.client import Client

    return Client(node_store.multiaddr)


def create_task(requester: Any, published: Any, *, segments: int = 4, reward: int = 64 * E18,
                window: int = 10, deadline: int = 500, stake: int = 1000 * E18,
                spec_cid: str | None = None, spec_hash: bytes | None = None) -> int:
    return int(
        requester.create_task(
            spec_cid or published.spec_cid,
            spec_hash or published.spec_hash,
            reward,
            total_steps=segments * SEG,
            segment_steps=SEG,
            challenge_window=window,
            segment_deadline=deadline,
            node_stake=stake,
        )
    )


@pytest.fixture
def node_account(protocol: Callable[[int], Any]) -> Any:
    """Account 2 as a node with 2000 VERI staked."""
    p = protocol(2)
    p.deposit(2000 * E18)
    return p


def drive(daemon: Any, until: Callable[[], bool], *, max_iter: int = 200,
          mine: Any = None) -> list[Iteration]:
    """run_once until ``until()``; returns what each iteration did."""
    did: list[Iteration] = []
    for _ in range(max_iter):
        if until():
            return did
        did.append(daemon.run_once())
        if mine is not None and did[-1].activity == Activity.WAITING:
            mine()
    raise AssertionError(f"condition not reached; last actions: {[str(d) for d in did[-10:]]}")


def replay_roots_in_subprocess(published: Any, task_id: int, total_steps: int, teacher: Path,
                               dataset: Path, tmp: Path) -> list[str]:
    """Replay the whole task with `veritrain replay` in a separate process; per-segment roots."""
    from prover import merkle

    spec_file = tmp / "spec.json"
    spec_file.write_bytes(published.spec.canonical_bytes())
    doc = cli_replay(spec_file, total_steps, task_id=task_id, teacher=teacher, dataset=dataset,
                     timeout=300)
    leaves = [bytes.fromhex(x[2:]) for x in doc["leaves"]]
    return ["0x" + merkle.trace_root(leaves[i:i + SEG]).hex() for i in range(0, len(leaves), SEG)]


def wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
