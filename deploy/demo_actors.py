"""The demo's cast, driven in one process: two node daemons and an auditor.

Each actor is the real role code (``node.daemon.NodeDaemon``, ``challenger.auditor.Auditor``) on
its own dev account, stepped round-robin with ``run_once()`` so the story is deterministic and
readable; the referee game is played by their own bots (the daemon answers, the auditor plays
the game it opened). The only demo-specific behaviour is :class:`DemoCheat`: prover step hooks
that make the cheating node move one weight by one ulp at one step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node.ui import ProgressUi
from prover.train import BaseStepHooks


class DemoCheat(BaseStepHooks):
    """DEMO FEATURE (fault injection): just before ``step``, move one weight up by one ulp.

    Passed as ``hooks`` to the cheating node's daemon. Its leaf ``step - 1`` is honest (hashed
    before the move), but step ``step`` computes from a weight its leaf does not commit, so every
    leaf from ``step`` on differs from an honest replay, which is what the auditor catches; the
    referee game then ends at the first scalar operation that reads the moved weight (a product
    in the GEMM of ``param``). The node defends what it trained: its referee bot re-traces the
    step with :meth:`mutation`, the same move.

    In training the move happens in ``on_batch`` (after the state hash of ``step - 1`` was
    submitted) on a copy of the weight that replaces the parameter's data, never in place: that
    hash still reads the old tensor on its background thread. ``step`` must not be the first
    step of a segment (the student is taken from an earlier step's ``on_before_update``).
    """

    def __init__(self, step: int, task_id: int | None = None,
                 param: str = "encoder.layer.0.attention.self.query.weight",
                 index: int = 0) -> None:
        self.task_id, self.step, self.param, self.index = task_id, step, param, index
        self.fired = False
        self.current_task: int | None = None
        self._student: Any = None

    def _ours(self, task_id: int | None) -> bool:
        return self.task_id is None or task_id == self.task_id

    def on_before_update(self, step: int, student: Any, optimizer: Any) -> None:
        self._student = student

    def on_batch(self, step: int, input_ids: Any) -> None:
        from torch.utils._python_dispatch import _get_current_dispatch_mode

        # under a trace recording the re-trace's mutation has moved the weight already
        if step != self.step or not self._ours(self.current_task) or self._student is None \
                or _get_current_dispatch_mode() is not None:
            return None
        p = dict(self._student.named_parameters())[self.param]
        p.data = self._moved(p.data)
        self.fired = True
        return None

    def _moved(self, w: Any) -> Any:
        import torch

        out = w.detach().clone()
        flat = out.view(-1)
        flat[self.index] = torch.nextafter(flat[self.index], torch.tensor(float("inf")))
        return out

    def mutation(self, task_id: int, step: int) -> Callable[[Any], None] | None:
        """The move as the referee re-trace applies it (``prover.trace.retrace`` ``mutate``)."""
        if step != self.step or not self._ours(task_id):
            return None

        def move(trainer: Any) -> None:
            import torch

            p = dict(trainer.student.named_parameters())[self.param]
            with torch.no_grad():
                p.copy_(self._moved(p))

        return move


@dataclass
class LossLog:
    """Per-step losses each node trained, by (actor, task): the plot's data."""

    points: dict[tuple[str, int], dict[int, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observer(self, actor: str) -> Any:
        log = self

        class _Obs:
            def on_step_end(self, record: Any) -> None:
                with log.lock:
                    log.points.setdefault((actor, int(record.task_id)), {})[int(record.step)] = (
                        float(record.loss)
                    )

        return _Obs()


class DemoUi(ProgressUi):
    """The node daemon's progress bars on the demo's shared Progress, labelled with the actor;
    ``on_task`` hears which task the actor starts training."""

    def __init__(
        self, progress: Any, actor: str, on_task: Callable[[int], None] | None = None
    ) -> None:
        super().__init__(progress, label=actor)
        self.on_task = on_task

    def steps(self, task_id: int, k: int, total: int) -> Callable[[int], None]:
        if self.on_task is not None:
            self.on_task(task_id)
        return super().steps(task_id, k, total)


@dataclass
class Cast:
    """The running actors and their step functions, in round-robin order."""

    actors: dict[str, Any]
    steps: list[tuple[str, Callable[[], Any]]]
    cheat: DemoCheat

    def close(self) -> None:
        for a in self.actors.values():
            close = getattr(a, "close", None)
            if close is not None:
                close()


def build_cast(rpc_url: str, addresses: Any, accounts: dict[str, Any], ipfs_api: str, workdir: Path,
               progress: Any, losses: LossLog, cheat_step: int,
               honest_tasks: frozenset[int] | None = None) -> Cast:
    """Node daemons (honest, cheating) and an auditor that audits every segment."""
    from challenger.auditor import Auditor
    from challenger.policy import AuditPolicy
    from ledger.chain import Chain
    from ledger.protocol import Protocol
    from node.daemon import NodeDaemon
    from node.policy import Policy
    from store.client import Client

    shared_cache = workdir / "materials-cache"  # CID-keyed and verified: safe to share
    shared_cache.mkdir(parents=True, exist_ok=True)

    def proto(name: str) -> Protocol:
        return Protocol(Chain(rpc_url, accounts[name]), addresses)

    def node_dir(name: str) -> Path:
        d = workdir / name
        d.mkdir(parents=True, exist_ok=True)
        if not (d / "cache").exists():
            (d / "cache").symlink_to(shared_cache)
        return d

    cheat = DemoCheat(cheat_step)
    actors: dict[str, Any] = {
        "node-honest": NodeDaemon(
            proto("node-honest"),
            Client(ipfs_api),
            node_dir("node-honest"),
            Policy(task_ids=honest_tasks),
            observer=losses.observer("node-honest"),
            ui=DemoUi(progress, "node-honest"),
        ),
        "node-cheater": NodeDaemon(
            proto("node-cheater"),
            Client(ipfs_api),
            node_dir("node-cheater"),
            hooks=cheat,
            retrace_mutation=cheat.mutation,
            observer=losses.observer("node-cheater"),
            ui=DemoUi(
                progress, "node-cheater", on_task=lambda t: setattr(cheat, "current_task", t)
            ),
        ),
        "challenger": Auditor(
            proto("challenger"),
            Client(ipfs_api),
            workdir / "challenger",
            AuditPolicy(probability=1.0, fresh_probability=1.0),
            cache_dir=shared_cache,
        ),
    }
    auditor = actors["challenger"]

    def audit_all() -> None:
        """One auditor iteration, then every queued audit: two nodes commit two segments a round."""
        auditor.run_once()
        while auditor.audit_next():
            pass

    steps = [
        (name, audit_all if name == "challenger" else actor.run_once)
        for name, actor in actors.items()
    ]
    return Cast(actors, steps, cheat)
