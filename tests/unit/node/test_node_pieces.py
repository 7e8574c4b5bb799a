"""Crash points, policy terms, amounts and structured logs."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
from types import SimpleNamespace

import pytest

E18 = 10**18


def test_crash_point_kills_only_at_the_named_point_and_segment():
    code = ("from node.crashpoints import CrashPoints\n"
            "c = CrashPoints('after-upload@2')\n"
            "c.hit('after-upload', 1); c.hit('after-commit', 2); print('alive', flush=True)\n"
            "c.hit('after-upload', 2); print('unreachable')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == -signal.SIGKILL
    assert r.stdout == "alive\n"


def test_crash_points_are_inert_unless_set_and_reject_unknown_names(monkeypatch):
    from node.crashpoints import ENV, CrashPoints

    monkeypatch.delenv(ENV, raising=False)
    c = CrashPoints()
    c.hit("mid-step", 0)  # nothing happens
    assert c.name is None
    with pytest.raises(ValueError, match="unknown crash point"):
        CrashPoints("after-lunch")


def _task(reward: int, total: int = 32, stake: int = 1000 * E18, window: int = 40,
          deadline: int = 200):
    return SimpleNamespace(reward=reward,
                           params=SimpleNamespace(totalSteps=total, segmentSteps=8, nodeStake=stake,
                                                  challengeWindow=window,
                                                  segmentDeadline=deadline))


def _bounds():
    """The market bounds of deploy/params.json, as MarketParams reads back from the chain."""
    from deploy.deployer import MarketConfig

    m = MarketConfig()
    return SimpleNamespace(maxChallengeWindow=m.max_challenge_window,
                           maxSegmentDeadline=m.max_segment_deadline,
                           maxSegmentSteps=m.max_segment_steps, minNodeStake=m.min_node_stake)


def test_policy_terms():
    from node.errors import TaskRefusedError
    from node.policy import Policy, check_terms

    check_terms(Policy(min_reward_per_step=E18), 1, _task(32 * E18))
    with pytest.raises(TaskRefusedError) as info:
        check_terms(Policy(min_reward_per_step=2 * E18), 1, _task(32 * E18))
    assert info.value.reason == "reward-too-low"
    with pytest.raises(TaskRefusedError) as info:
        check_terms(Policy(max_node_stake=10 * E18), 1, _task(32 * E18))
    assert info.value.reason == "stake-too-high"
    with pytest.raises(TaskRefusedError) as info:
        check_terms(Policy(task_ids=frozenset({2})), 1, _task(32 * E18))
    assert info.value.reason == "not-allowed"
    with pytest.raises(TaskRefusedError) as info:
        check_terms(Policy(max_challenge_window=39), 1, _task(32 * E18))
    assert info.value.reason == "window-too-long"
    with pytest.raises(TaskRefusedError) as info:
        check_terms(Policy(min_segment_deadline=201), 1, _task(32 * E18))
    assert info.value.reason == "deadline-too-short"


@pytest.mark.parametrize(("field", "value"), [("deadline", 2**64 - 1), ("window", 2**64 - 1),
                                              ("deadline", 0),
                                              ("stake", 0)])
def test_policy_refuses_tasks_outside_market_bounds(field: str, value: int) -> None:
    """#15 finding 2: the node checks every window, deadline and stake against the market's bounds
    before it locks stake (a 2^64-1 deadline would wrap the due block)."""
    from node.errors import TaskRefusedError
    from node.policy import Policy, check_terms

    check_terms(Policy(), 1, _task(32 * E18), _bounds())
    with pytest.raises(TaskRefusedError) as info:
        check_terms(Policy(), 1, _task(32 * E18, **{field: value}), _bounds())
    assert info.value.reason == "out-of-bounds"


def test_amounts_are_tokens_with_decimals():
    from node.cli import fmt, parse_amount
    from veritrain.errors import ConfigError

    assert parse_amount("1000") == 1000 * E18
    assert parse_amount("0.5") == E18 // 2
    assert fmt(1500 * E18) == "1,500" and fmt(E18 // 4) == "0.25"
    for bad in ("ten", "-1"):
        with pytest.raises(ConfigError):
            parse_amount(bad)


def test_events_log_as_text_and_json():
    from node.logs import JsonFormatter, log_event

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    log = logging.getLogger("node.test-events")
    log.addHandler(Keep())
    log.setLevel(logging.INFO)
    log_event(log, "segment-committed", task=3, k=1, root=b"\x01\x02", detail="two words")
    (rec,) = records
    assert rec.getMessage() == 'segment-committed task=3 k=1 root=0x0102 detail="two words"'
    doc = json.loads(JsonFormatter().format(rec))
    assert doc["event"] == "segment-committed" and doc["task"] == 3 and doc["root"] == "0x0102"


@pytest.mark.parametrize(("what", "next_segment", "reason"), [
    ("teacher", 2, "INPUTS_UNAVAILABLE"),
    ("dataset", 0, "INPUTS_UNAVAILABLE"),
    ("checkpoint", 2, "START_CHECKPOINT_UNAVAILABLE"),
    ("checkpoint", 0, "INPUTS_UNAVAILABLE"),  # segment 0 starts from the spec: nothing to roll back
])
def test_release_reason_names_whose_input_is_missing(what, next_segment, reason):
    """#14: a missing start checkpoint is the previous node's (rolled back); the rest is the
    requester's."""
    from ledger.protocol import ReleaseReason
    from node.errors import CheckpointUnavailableError, InputsUnavailableError
    from node.release import reason_for

    exc = InputsUnavailableError("gone", task_id=1, what=what, cid="bafy")
    assert reason_for(exc, next_segment) is ReleaseReason[reason]
    local = CheckpointUnavailableError("gone", task_id=1, k=next_segment - 1)
    assert reason_for(local, 3) is ReleaseReason.START_CHECKPOINT_UNAVAILABLE
    assert reason_for(OSError("disk"), 3) is ReleaseReason.INPUTS_UNAVAILABLE
