"""#15 finding 11: the juror knows its replay budget before it commits to a dispute."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from challenger.budget import ReplayBudget, check_can_serve, commit_window_blocks
from challenger.errors import ReplayBudgetError

JURY = SimpleNamespace(commitWindow=30, replayStepsPerBlock=64)


def test_commit_window_grows_with_the_segment() -> None:
    assert commit_window_blocks(JURY, 16) == 31
    assert commit_window_blocks(JURY, 1024) == 46


def test_fits_compares_replay_time_with_blocks_left() -> None:
    b = ReplayBudget(seconds_per_step=1.0, block_time_s=2.0, margin=0.5)
    assert b.fits(10, 10) == (True, "replay of 10 steps needs 10s, fits in 10s of 10 blocks")
    ok, why = b.fits(11, 10)
    assert not ok and "does not fit" in why
    assert b.fits(1, -3)[0] is False


def test_can_serve_refuses_a_juror_too_slow_for_the_largest_segment() -> None:
    fast = ReplayBudget(seconds_per_step=0.1, block_time_s=12.0)
    assert "fits" in check_can_serve(fast, JURY, 1024)
    slow = ReplayBudget(seconds_per_step=1.0, block_time_s=12.0)
    with pytest.raises(ReplayBudgetError) as info:
        check_can_serve(slow, JURY, 1024)
    assert info.value.steps == 1024 and info.value.blocks == 46
