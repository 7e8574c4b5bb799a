"""The one rule every node and auditor applies before it claims or audits a task: a task
settled by the referee (created with its step graph) must carry, on chain, the roots its spec,
teacher and dataset give (``prover.trace.roots.task_roots``), else the referee would judge the
work by another graph. A jury task has no roots to check.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ledger.protocol import Protocol
    from prover.spec import TaskSpec
    from prover.trace.roots import TaskRoots


def check_task_roots(protocol: Protocol, task_id: int, spec: TaskSpec, teacher_dir: Path,
                     dataset_dir: Path) -> TaskRoots | None:
    """None for a jury task; for a refereed task the recomputed roots when the chain holds
    them, ``prover.errors.RootsMismatchError`` (naming the first root that differs) when not.
    Recomputing runs two training steps under the spec's profile."""
    from prover.trace.roots import task_roots

    if not protocol.is_refereed(task_id):
        return None
    roots = task_roots(spec, task_id, teacher_dir, dataset_dir)
    roots.check(task_id, protocol.step_graph(task_id))
    return roots
