"""The demo's cast, driven in one process: two node daemons, an auditor, three jurors.

Each actor is the real role code (``node.daemon.NodeDaemon``, ``challenger.auditor.Auditor``,
``challenger.juror.Juror``) on its own dev account, stepped round-robin with ``run_once()`` so
the story is deterministic and readable. The only demo-specific behaviour is :class:`DemoCheat`:
prover step hooks that make the cheating node move one weight at one step.
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
    """DEMO FEATURE (fault injection): after the update of ``step``, add ``delta`` to one weight.

    Passed as ``hooks`` to the cheating node's daemon; every later state (and so every later leaf)
    differs from an honest replay from that step on, which is what the auditor catches.
    """

    def __init__(self, step: int, task_id: int | None = None, delta: float = 1e-3,
                 param: str = "encoder.layer.0.attention.self.query.weight") -> None:
        self.task_id, self.step, self.delta, self.param = task_id, step, delta, param
        self.fired = False
        self.current_task: int | None = None

    def on_after_update(self, step: int, student: Any, optimizer: Any) -> None:
        import torch

        if step != self.step or (self.task_id is not None and self.current_task != self.task_id):
            return
        with torch.no_grad():
            dict(student.named_parameters())[self.param].view(-1)[0] += self.delta
        self.fired = True


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
    """Node daemons (honest, cheating), an auditor that audits every segment, three jurors."""
    from challenger.auditor import Auditor
    from challenger.juror import Juror
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
    for i in (1, 2, 3):
        name = f"juror-{i}"
        actors[name] = Juror(proto(name), Client(ipfs_api), workdir / name, cache_dir=shared_cache)
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
