"""The roots fixed with a task besides graphRoot (docs/referee.md "Step graph"): the per-step
scalar table and its root, and the teacher's root.

The scalar table of step t is what the AdamW kernel receives as precomputed scalars, computed
here from the spec alone exactly as ``prover.kernels.training.adamw_step`` computes them (Python
doubles, rounded once to binary32 when they reach the kernel). A recorded step's ``Scalar(j)``
values must equal it (tested). ``scalarRoot`` is the sha256 tree over
``leaf_t = sha256(the table's float32 values, little-endian)`` for t = 1..totalSteps;
``teacherRoot`` the sha256 tree over the tensor commitments of ``Teacher(j)`` in order.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from prover.trace import commit

if TYPE_CHECKING:
    from prover.spec import TaskSpec

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
