"""The requester side: publish a spec and its materials, check the hash, escrow the reward."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from materials import SpecHashMismatchError

if TYPE_CHECKING:
    from ledger.protocol import Protocol
    from prover.spec import TaskSpec
    from store.client import Client


@dataclass(frozen=True)
class TaskTerms:
    """The on-chain parameters of a task (time in blocks, amounts in token base units)."""

    reward: int
    total_steps: int
    segment_steps: int
    challenge_window: int = 40
    segment_deadline: int = 200
    node_stake: int = 1000 * 10**18


@dataclass(frozen=True)
class CreatedTask:
    task_id: int
    spec_cid: str
    spec_hash: bytes


def create_task(protocol: Protocol, client: Client, spec: TaskSpec, terms: TaskTerms,
                teacher_dir: Path, dataset_dir: Path, cache_dir: Path) -> CreatedTask:
    """Publish spec + teacher + dataset, read the spec back verified against its hash, post the
    task."""
    from materials import Materials, publish

    pub = publish(client, spec, teacher_dir, dataset_dir)
    back = Materials(client, cache_dir).spec(pub.spec_cid, pub.spec_hash)  # what nodes will read
    if back.spec_hash() != pub.spec_hash:  # pragma: no cover - Materials.spec already checks
        raise SpecHashMismatchError(
            f"spec {pub.spec_cid} did not read back as published", cid=pub.spec_cid
        )
    task_id = protocol.create_task(
        pub.spec_cid,
        pub.spec_hash,
        terms.reward,
        total_steps=terms.total_steps,
        segment_steps=terms.segment_steps,
        challenge_window=terms.challenge_window,
        segment_deadline=terms.segment_deadline,
        node_stake=terms.node_stake,
    )
    return CreatedTask(task_id, pub.spec_cid, pub.spec_hash)
