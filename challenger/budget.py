"""The juror's replay budget (#15 finding 11): how fast this machine replays, and whether a replay
fits the blocks left before a commit deadline. A juror that cannot finish a replay in time stays
out of that vote (it is penalised for silence either way, but it does not waste its CPU), and it
refuses to join the pool when the market's largest segment cannot fit the jury's commit window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from challenger.errors import ReplayBudgetError


@dataclass(frozen=True)
class ReplayBudget:
    """What a replay costs here and how fast the chain moves."""

    #: Seconds this machine needs per replayed optimizer step (measure it: `veritrain prove`).
    seconds_per_step: float
    #: Seconds per block of the chain the jury runs on.
    block_time_s: float = 12.0
    #: Share of the time left the juror plans on (the rest covers fetches and the commit).
    margin: float = 0.8

    def seconds(self, steps: int) -> float:
        return steps * self.seconds_per_step

    def fits(self, steps: int, blocks_left: int) -> tuple[bool, str]:
        """Whether replaying ``steps`` steps fits ``blocks_left`` blocks, and why (journal)."""
        need, have = self.seconds(steps), max(0, blocks_left) * self.block_time_s * self.margin
        verdict = "fits" if need <= have else "does not fit"
        why = f"replay of {steps} steps needs {need:.0f}s, {verdict} in {have:.0f}s"
        return need <= have, f"{why} of {blocks_left} blocks"


def commit_window_blocks(jury: Any, segment_steps: int) -> int:
    """The commit window a dispute on a segment of ``segment_steps`` steps gets (JuryParams)."""
    rate = int(jury.replayStepsPerBlock)
    return int(jury.commitWindow) + math.ceil(segment_steps / rate)


def check_can_serve(budget: ReplayBudget, jury: Any, max_segment_steps: int) -> str:
    """Raise ReplayBudgetError unless a replay of the market's largest segment fits the commit
    window a dispute on it gets; returns the reason line for the journal."""
    window = commit_window_blocks(jury, max_segment_steps)
    ok, why = budget.fits(max_segment_steps, window)
    if not ok:
        raise ReplayBudgetError(
            f"this juror cannot replay the market's largest segment in time: {why}",
            steps=max_segment_steps, blocks=window)
    return why
