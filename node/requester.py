"""The requester side: publish a spec and its materials, check the hash, escrow the reward."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from materials import SpecHashMismatchError

if TYPE_CHECKING:
    from ledger.protocol import Protocol
    from prover.spec import TaskSpec
    from prover.trace.roots import TaskRoots
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
    #: The roots recorded with the task (None: created without its step graph, for the jury).
    roots: TaskRoots | None = None


#: Attempts at binding the roots to the next task id when other requesters post concurrently.
_ID_TRIES = 3


def create_task(protocol: Protocol, client: Client, spec: TaskSpec, terms: TaskTerms,
                teacher_dir: Path, dataset_dir: Path, cache_dir: Path,
                step_graph: bool | None = None) -> CreatedTask:
    """Publish spec + teacher + dataset, read the spec back verified against its hash, post the
    task. ``step_graph`` True records the task's step-graph roots with it (the referee settles
    its disputes), False does not (the jury); None follows the deployment's
    ``stepGraphByDefault`` for specs that can have a step graph (``roots.has_step_graph``)."""
    from materials import Materials, publish
    from prover.trace.roots import has_step_graph

    if step_graph and not has_step_graph(spec):
        raise _no_step_graph(spec)
    if step_graph is None:
        step_graph = protocol.addresses.stepGraphByDefault and has_step_graph(spec)
    pub = publish(client, spec, teacher_dir, dataset_dir)
    back = Materials(client, cache_dir).spec(pub.spec_cid, pub.spec_hash)  # what nodes will read
    if back.spec_hash() != pub.spec_hash:  # pragma: no cover - Materials.spec already checks
        raise SpecHashMismatchError(
            f"spec {pub.spec_cid} did not read back as published", cid=pub.spec_cid
        )
    post = partial(protocol.create_task, pub.spec_cid, pub.spec_hash, terms.reward,
                   total_steps=terms.total_steps, segment_steps=terms.segment_steps,
                   challenge_window=terms.challenge_window,
                   segment_deadline=terms.segment_deadline, node_stake=terms.node_stake)
    if not step_graph:
        return CreatedTask(post(), pub.spec_cid, pub.spec_hash)
    return _create_with_graph(protocol, post, pub.spec_cid, pub.spec_hash, spec, teacher_dir,
                              dataset_dir)


def _create_with_graph(protocol: Protocol, post: Callable[..., int], spec_cid: str,
                       spec_hash: bytes, spec: TaskSpec, teacher_dir: Path,
                       dataset_dir: Path) -> CreatedTask:
    """Post the task with its roots. The initial state binds the task id, so the roots are
    computed for the next id; if another task took it first, ours is cancelled (nobody can
    have claimed it: its roots are wrong for it) and posted again."""
    from node.errors import StepGraphUnavailableError
    from prover.trace.roots import task_roots

    for _ in range(_ID_TRIES):
        expected = protocol.task_count() + 1
        roots = task_roots(spec, expected, teacher_dir, dataset_dir)
        task_id = post(graph=roots.as_struct())
        if task_id == expected:
            return CreatedTask(task_id, spec_cid, spec_hash, roots)
        protocol.cancel_task(task_id)
    raise StepGraphUnavailableError(
        f"other tasks took the next task id {_ID_TRIES} times while the roots were computed",
        reason="task-id-race", hint="retry `veritrain task create` (each try was refunded)")


def _no_step_graph(spec: TaskSpec) -> Exception:
    """Why ``spec`` cannot be created with a step graph (the referee), as a typed error."""
    from node.errors import StepGraphUnavailableError

    jury = "or create the task without --step-graph (the jury settles it)"
    if spec.schedule != "keccak-v2" or spec.state_hash != "tree-v2":
        return StepGraphUnavailableError(
            f"the spec uses schedule {spec.schedule} and state hash {spec.state_hash}; the referee "
            "opens batch rows by keccak-v2 and state tensors by tree-v2",
            reason="schedule" if spec.schedule != "keccak-v2" else "stateHash",
            hint="write the spec with `veritrain spec init` (v2 schemes are its default) " + jury)
    return StepGraphUnavailableError(
        f"profile {spec.profile.name} has no step graph (its training step is not traced)",
        reason="profile", hint="use a profile with fixed training ops (repfma-1, repcpu-2) " + jury)


@dataclass(frozen=True)
class CancelledTask:
    """What a cancel moved (token base units)."""

    refunded: int
    paid: int
    forfeited: int


def cancel_task(protocol: Protocol, task_id: int) -> CancelledTask:
    """Cancel a task of ours that nobody works on: open, or stranded (claimed and past its due
    block; the contract times the stall out first). Refuses with a clear error otherwise."""
    from ledger.protocol import TaskStatus
    from node.errors import CancelRefusedError

    task = protocol.task(task_id)
    if str(task.requester).lower() != protocol.me.lower():
        raise CancelRefusedError(f"task {task_id} was posted by {task.requester}, not by you",
                               task_id=task_id, reason="not-requester",
                               hint="cancel with the requester's key (VERITRAIN_KEYSTORE)")
    status = TaskStatus(int(task.status))
    due = int(task.segmentDueBlock)
    if status == TaskStatus.CLAIMED and protocol.chain.block_number() + 1 <= due:
        raise CancelRefusedError(f"task {task_id} is claimed by {task.node} and due at block {due}",
                               task_id=task_id, reason="in-progress",
                               hint=f"a node works on it; cancel after block {due} if it stalls")
    if status not in (TaskStatus.OPEN, TaskStatus.CLAIMED):
        raise CancelRefusedError(f"task {task_id} is {status.name.lower()}: nothing to cancel",
                               task_id=task_id, reason="finished")
    if int(task.openDisputes):
        raise CancelRefusedError(f"task {task_id} has {task.openDisputes} open dispute(s)",
                               task_id=task_id, reason="disputes-open",
                               hint="cancel once they are resolved (`veritrain task show`)")
    receipt = protocol.cancel_task(task_id)
    (ev,) = protocol.market.decode_events(receipt, "TaskCancelled")
    forfeit = protocol.market.decode_events(receipt, "PayForfeited")
    return CancelledTask(int(ev["args"]["refunded"]), int(ev["args"]["paid"]),
                         sum(int(f["args"]["amount"]) for f in forfeit))
