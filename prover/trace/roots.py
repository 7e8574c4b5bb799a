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
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from prover.trace import commit

if TYPE_CHECKING:
    from prover.spec import TaskSpec
    from prover.trace.graph import Ref
    from prover.trace.tracer import Recorded

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
class StepGraphFields:
    """Every field of the referee's ``StepGraph`` (``contracts/src/types/RefereeTypes.sol``), in
    the struct's order: what a requester registers with a task (:meth:`as_tuple` is the ABI
    tuple)."""

    #: sha256 tree over the op leaves of steps 2.. (and of step 1 for ``graph_root1``).
    graph_root: bytes
    teacher_root: bytes
    scalar_root: bytes
    #: State hash v2 of the state before step 1.
    initial_state: bytes
    final_root: bytes
    n_ops: int
    #: State tensors (the state tree has n_state + 1 leaves, the scalar leaf last).
    n_state: int
    n_teacher: int
    total_steps: int
    #: Step 1's graph (AdamW reads Const(0) moments there).
    graph_root1: bytes
    #: The dataset and the keccak-v2 schedule's inputs (Batch(0) rows are opened against them).
    sample_root: bytes
    seed: int
    num_samples: int
    batch_size: int
    seq_len: int

    def as_tuple(self) -> tuple[bytes | int, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    def as_struct(self) -> dict[str, bytes | int]:
        """The fields by their Solidity names (the ledger orders them by the ABI)."""
        return {_solidity_name(f.name): getattr(self, f.name) for f in fields(self)}

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


#: What a task's ``StepGraph`` fixes, recomputed from the spec, the teacher and the dataset: the
#: requester records it with the task (``TaskMarket.createTaskWithGraph``), every node and
#: auditor recomputes and compares it before it claims or audits.
TaskRoots = StepGraphFields


def _solidity_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def step_graph_fields(spec: TaskSpec, first: Recorded, later: Recorded) -> StepGraphFields:
    """The registered ``StepGraph`` of a task from its spec and two recorded steps (``first``:
    step 1 from the initial state, ``later``: step 2; ``tracer.record_trainer_step`` twice on a
    fresh ``Trainer``). Only v2 specs can be refereed: the game opens batch rows by the
    keccak-v2 schedule and state tensors by state hash v2, so any other spec is refused."""
    from prover.errors import RefereeGraphError

    if spec.schedule != "keccak-v2":
        raise RefereeGraphError(f"the referee checks batch rows by the keccak-v2 schedule; this "
                                f"spec's schedule is {spec.schedule}", reason="schedule")
    if spec.state_hash != "tree-v2":
        raise RefereeGraphError(f"the referee opens state tensors by state hash tree-v2; this "
                                f"spec's stateHash is {spec.state_hash}", reason="stateHash")
    if first.step != 1:
        raise RefereeGraphError(f"`first` must be step 1, got step {first.step}", reason="steps")
    final, final1 = final_root(later.graph.final), final_root(first.graph.final)
    if final1 != final or len(first.graph.ops) != len(later.graph.ops):
        raise RefereeGraphError("step 1's graph has other final refs or another op count than "
                                "the later steps'", reason="graph1")
    return StepGraphFields(
        graph_root=later.graph.root(), teacher_root=teacher_root(later.tensors.teacher),
        scalar_root=scalar_root(spec), initial_state=first.state_hash_before,
        final_root=final, n_ops=len(later.graph.ops), n_state=len(later.graph.final),
        n_teacher=len(later.tensors.teacher), total_steps=spec.total_steps,
        graph_root1=first.graph.root(), sample_root=bytes.fromhex(spec.dataset.sample_root[2:]),
        seed=spec.seed, num_samples=spec.dataset.num_samples, batch_size=spec.batch_size,
        seq_len=spec.seq_len)


def has_step_graph(spec: TaskSpec) -> bool:
    """Whether the task can be refereed: its profile traces its training step (every op on
    prover.kernels' fixed-order kernels) and it uses the v2 schedule and state hash the game
    opens on-chain (``step_graph_fields``). Only such tasks are recorded with a step graph."""
    from prover import profile

    return (profile.get(spec.profile.name).fixed_train_ops and spec.schedule == "keccak-v2"
            and spec.state_hash == "tree-v2")


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
    return step_graph_fields(spec, first, later)
