"""The roots fixed with a task besides graphRoot (docs/referee.md "Step graph"): the per-step
scalar table and its root, and the teacher's root.

The scalar table of step t is what the AdamW kernel receives as precomputed scalars, computed
here from the spec alone exactly as ``prover.kernels.training.adamw_step`` computes them (Python
doubles, rounded once to binary32 when they reach the kernel). A recorded step's ``Scalar(j)``
values must equal it (tested). ``scalarRoot`` is the sha256 tree over
``leaf_t = sha256(the table's float32 values, little-endian)`` for t = 1..totalSteps;
``teacherRoot`` the sha256 tree over the tensor commitments of ``Teacher(j)`` in order.
``finalRoot`` is the sha256 tree over ``sha256(abi.encodePacked(uint32 j, uint8 refKind,
uint32 refIndex))``, one leaf per state tensor j after the step (``StepGraph.final``), as the
referee's ``pickFinal`` and ``disputeKept`` check it.

``task_roots`` computes all of a task's ``StepGraph`` at once (``TaskRoots``): the requester
records it with the task (``TaskMarket.createTaskWithGraph``), every node and auditor recomputes
it before claiming or auditing (``materials/roots.py``) and ``TaskRoots.check`` names the first
field the chain holds otherwise.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from prover.trace import commit

if TYPE_CHECKING:
    from prover.spec import TaskSpec
    from prover.trace.graph import Ref

#: Names of one step's scalars, in table order (``Scalar(j)``); group 0 decays, group 1 not.
SCALAR_NAMES = ("decay.g0", "beta1", "omb1", "beta2", "omb2", "stepSize", "bc2Sqrt", "eps",
                "decay.g1")


def _powi(base: float, n: int) -> float:
    """``base ** n`` by binary exponentiation in doubles (the kernels' AdamW does the same)."""
    from prover.kernels.training import _powi as powi

    return powi(base, n)


def scalar_table(spec: TaskSpec, t: int) -> np.ndarray:
    """The float32 scalars of step ``t`` in :data:`SCALAR_NAMES` order."""
    from prover import schedule

    o = spec.optimizer
    lr = schedule.lr_at(spec, t)
    b1, b2 = (float(b) for b in o.betas)
    bc1, bc2 = 1.0 - _powi(b1, t), 1.0 - _powi(b2, t)
    vals = (1.0 - lr * float(o.weight_decay), b1, 1.0 - b1, b2, 1.0 - b2, lr / bc1,
            math.sqrt(bc2), float(o.eps), 1.0 - lr * 0.0)
    return np.array(vals, dtype=np.float32)


def scalar_leaf(table: np.ndarray) -> bytes:
    return hashlib.sha256(table.astype("<f4").tobytes()).digest()


def scalar_root(spec: TaskSpec) -> bytes:
    """The sha256 tree over every step's scalar-table leaf."""
    return commit.root_of([scalar_leaf(scalar_table(spec, t))
                           for t in range(1, spec.total_steps + 1)])


def teacher_root(tensors: Sequence[np.ndarray]) -> bytes:
    """The sha256 tree over the teacher tensors' commitments (``Teacher(j)`` order)."""
    return commit.root_of([commit.commit(np.ascontiguousarray(t, dtype=np.float32)).commit
                           for t in tensors])


def final_leaf(j: int, ref: Ref) -> bytes:
    """The leaf of state tensor ``j`` after the step: where its value comes from (``ref``)."""
    return hashlib.sha256(struct.pack(">IBI", j, int(ref.kind), ref.index & 0xFFFFFFFF)).digest()


def final_root(final: Sequence[tuple[str, Ref]]) -> bytes:
    """``finalRoot`` of a step graph's final refs (``StepGraph.final``, state v2 order)."""
    if not final:
        raise ValueError("finalRoot of a graph without final refs: record the step graph first")
    return commit.root_of([final_leaf(j, ref) for j, (_, ref) in enumerate(final)])


@dataclass(frozen=True)
class TaskRoots:
    """What a task's ``StepGraph`` fixes (contracts/src/types/RefereeTypes.sol), recomputed
    from the spec, the teacher and the dataset: the requester records it with the task
    (``TaskMarket.createTaskWithGraph``), every node and auditor recomputes and compares it
    before it claims or audits."""

    #: sha256 tree over the op leaves of a step after the first (``veritrain spec graph``).
    graph_root: bytes
    #: sha256 tree over the teacher tensors' commitments.
    teacher_root: bytes
    #: sha256 tree over every step's scalar-table leaf.
    scalar_root: bytes
    #: The state hash before step 1 (the task's initial state; it binds the task id).
    initial_state: bytes
    #: sha256 tree over where each state tensor after the step comes from.
    final_root: bytes
    n_ops: int
    n_state: int
    n_teacher: int
    total_steps: int

    def as_struct(self) -> dict[str, bytes | int]:
        """The fields by their Solidity names (the ledger orders them by the ABI)."""
        return {"graphRoot": self.graph_root, "teacherRoot": self.teacher_root,
                "scalarRoot": self.scalar_root, "initialState": self.initial_state,
                "finalRoot": self.final_root, "nOps": self.n_ops, "nState": self.n_state,
                "nTeacher": self.n_teacher, "totalSteps": self.total_steps}

    def check(self, task_id: int, on_chain: Mapping[str, Any]) -> None:
        """Raise RootsMismatchError naming the first field of ours that ``on_chain`` (the
        recorded StepGraph, by Solidity name) holds otherwise."""
        from prover.errors import RootsMismatchError

        for name, ours in self.as_struct().items():
            theirs = on_chain.get(name)
            if isinstance(ours, bytes):
                same = theirs is not None and bytes(theirs) == ours
                shown = ("0x" + bytes(theirs).hex() if theirs is not None else "missing",
                         "0x" + ours.hex())
            else:
                same = theirs is not None and int(theirs) == ours
                shown = (str(theirs), str(ours))
            if not same:
                raise RootsMismatchError(
                    f"task {task_id}: the {name} recorded on chain is {shown[0]}, the spec, "
                    f"teacher and dataset give {shown[1]}",
                    task_id=task_id, root=name, on_chain=shown[0], computed=shown[1])


def has_step_graph(spec: TaskSpec) -> bool:
    """Whether the spec's profile traces its training step (every op on prover.kernels'
    fixed-order kernels): only such tasks can be recorded with a step graph (the referee)."""
    from prover import profile

    return profile.get(spec.profile.name).fixed_train_ops


def task_roots(spec: TaskSpec, task_id: int, teacher_dir: str | Path,
               dataset_dir: str | Path) -> TaskRoots:
    """Record steps 1 and 2 of task ``task_id`` from the spec's initial state (step 1 reads
    zero optimizer moments, so the graph of every later step is step 2's) and return the
    roots its StepGraph fixes. Runs two training steps under the spec's profile."""
    from prover.trace.tracer import record_trainer_step
    from prover.train import Trainer

    trainer = Trainer(spec, task_id, teacher_dir, dataset_dir)
    first = record_trainer_step(trainer)
    later = record_trainer_step(trainer)
    g = later.graph
    return TaskRoots(graph_root=g.root(), teacher_root=teacher_root(later.tensors.teacher),
                     scalar_root=scalar_root(spec), initial_state=first.state_hash_before,
                     final_root=final_root(g.final), n_ops=len(g.ops),
                     n_state=len(g.state_names), n_teacher=len(g.teacher_names),
                     total_steps=spec.total_steps)
