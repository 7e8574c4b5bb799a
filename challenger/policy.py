"""Which committed segments an auditor replays: a secret coin per segment, a compute budget,
and priority to fresh segments of nodes with little history.

The coin comes from local secret randomness (``secrets.SystemRandom`` by default), never from
anything on chain, so a node cannot know which of its segments will be checked: faking any
segment is caught with probability ``p`` each time (see docs/challenger.md for the table).
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class AuditPolicy:
    """How an auditor picks and budgets its audits."""

    #: Probability of auditing a segment of a node with an established history.
    probability: float = 0.2
    #: Probability for nodes with fewer than ``fresh_history`` audited segments (new nodes).
    fresh_probability: float = 1.0
    #: Audits of a node after which it counts as established.
    fresh_history: int = 8
    #: Replay budget in optimizer steps per hour (0: unlimited).
    budget_steps_per_hour: int = 0
    #: Burst: the bucket holds at most this many hours of budget.
    budget_burst_hours: float = 0.25
    #: Blocks before the challenge window closes under which a queued audit is dropped.
    min_blocks_left: int = 2
    #: On a refereed task whose end state is right but whose end checkpoint is unavailable or
    #: holds another state: open the end-state game anyway, betting the bond that the node cannot
    #: reveal the state it committed (it wins only against a node that lost its state; a node
    #: that withholds the file but keeps the state reveals every chunk and takes the bond).
    #: False: attest the fault and open nothing (``Verdict.CHECKPOINT_FAULT``).
    demand_state: bool = False

    def chance(self, node_history: int) -> float:
        p = self.fresh_probability if node_history < self.fresh_history else self.probability
        return min(1.0, max(0.0, p))


class Budget:
    """A token bucket of replay steps, refilled at ``steps_per_hour``."""

    def __init__(self, steps_per_hour: int, burst_hours: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = steps_per_hour / 3600.0
        self.cap = max(1.0, steps_per_hour * burst_hours)
        self.unlimited = steps_per_hour <= 0
        self.clock = clock
        self.tokens = self.cap
        self.last = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.cap, self.tokens + (now - self.last) * self.rate)
        self.last = now

    def allows(self, steps: int) -> bool:
        if self.unlimited:
            return True
        self._refill()
        return self.tokens >= min(steps, self.cap)

    def spend(self, steps: int) -> None:
        if not self.unlimited:
            self._refill()
            self.tokens -= steps


def secret_rng() -> random.Random:
    """The default coin: the OS's CSPRNG (``secrets``), unpredictable to nodes."""
    return secrets.SystemRandom()
