"""Bounded retries with reports: outages of the store or the RPC, and a task's unavailable inputs.

An outage is never looped on silently or forever at full speed: the wait between retries
doubles from ``base_s`` up to ``cap_s``; the start of an outage is reported once (a WARNING log
event), while it lasts it is reported again at the 2nd, 4th, 8th, ... failure, and its end is
reported with its length. A task whose inputs cannot be fetched or do not verify is retried the
same way, at most ``tries`` times, and then given up (the caller decides what giving up means).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from node.logs import log_event

log = logging.getLogger("node.outage")


@dataclass
class Backoff:
    """Consecutive failures of one thing and the wait they call for."""

    what: str
    base_s: float = 1.0
    cap_s: float = 60.0
    failures: int = 0
    since: float = 0.0
    #: monotonic time before which the next try is not due
    next_at: float = 0.0

    def failed(self, detail: str, **fields: Any) -> float:
        """Record one failure; returns the seconds to wait before the next try (bounded)."""
        now = time.monotonic()
        if self.failures == 0:
            self.since = now
        self.failures += 1
        wait = min(self.cap_s, self.base_s * 2 ** (self.failures - 1))
        self.next_at = now + wait
        if self.failures & (self.failures - 1) == 0:  # 1st, 2nd, 4th, 8th, ... failure
            log_event(log, f"{self.what}-unavailable", logging.WARNING, failures=self.failures,
                      retry_in_s=round(wait, 2), detail=detail, **fields)
        return wait

    def due(self) -> bool:
        return time.monotonic() >= self.next_at

    def recovered(self, **fields: Any) -> None:
        if self.failures:
            log_event(log, f"{self.what}-recovered", failures=self.failures,
                      down_s=round(time.monotonic() - self.since, 2), **fields)
        self.failures, self.next_at = 0, 0.0


@dataclass
class TaskInputRetries:
    """Per task: how often its inputs failed, when to try again, and when to give up."""

    tries: int = 3
    base_s: float = 2.0
    cap_s: float = 60.0
    tasks: dict[int, Backoff] = field(default_factory=dict)

    def due(self, task_id: int) -> bool:
        b = self.tasks.get(task_id)
        return b is None or b.due()

    def failed(self, task_id: int, detail: str) -> bool:
        """Record a failure; True when the task has used up its tries (give it up)."""
        b = self.tasks.setdefault(task_id, Backoff("task-inputs", self.base_s, self.cap_s))
        b.failed(detail, task=task_id, tries_left=max(0, self.tries - b.failures - 1))
        return b.failures >= self.tries

    def ok(self, task_id: int) -> None:
        b = self.tasks.pop(task_id, None)
        if b is not None:
            b.recovered(task=task_id)
