"""Which open tasks this node serves: reward per step, stake, spec profile, an optional
allow-list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from node.errors import TaskRefusedError


@dataclass(frozen=True)
class Policy:
    """What the operator accepts. Amounts are in token base units (wei)."""

    #: Smallest reward per optimizer step the node takes (reward / totalSteps).
    min_reward_per_step: int = 0
    #: Largest nodeStake the node agrees to lock for one task (None: any it can afford).
    max_node_stake: int | None = None
    #: Serve only these task ids (None: any).
    task_ids: frozenset[int] | None = None
    #: Blocks after a task is complete during which its checkpoints and leaves stay pinned.
    unpin_margin_blocks: int = 1000
    #: Segments trained ahead of the last commitment (uploads and commits overlap training).
    lookahead: int = 1
    #: Longest challenge window (blocks) the node accepts its stake frozen for after each commit
    #: (None: up to the market's bound).
    max_challenge_window: int | None = None
    #: Fewest blocks the node needs to produce and commit one segment.
    min_segment_deadline: int = 1
    #: An open task whose start checkpoint stays unavailable after the retries is claimed and
    #: released at once (free), which rolls its prefix back one segment: the task is not stranded
    #: and the withholder is not paid for that segment.
    roll_back_withheld_start: bool = True


#: (task field, market bound, what it protects) for the upper bounds createTask enforces.
_UPPER = (("challengeWindow", "maxChallengeWindow", "the stake would stay frozen"),
          ("segmentDeadline", "maxSegmentDeadline", "the due block would wrap"),
          ("segmentSteps", "maxSegmentSteps", "jurors could not replay a segment in time"))


def check_bounds(task_id: int, task: Any, bounds: Any) -> None:
    """Raise TaskRefusedError unless every window, deadline, size and stake of the task lies in
    the market's bounds (``MarketParams``). The market refuses such tasks at creation; the node
    checks again before it locks stake, so a market deployed without them cannot trap it."""
    params = task.params
    for name, bound, why in _UPPER:
        value, most = int(getattr(params, name)), int(getattr(bounds, bound))
        if not 1 <= value <= most:
            raise TaskRefusedError(f"task {task_id}: {name} is {value}, outside 1..{most} ({why})",
                                   task_id=task_id, reason="out-of-bounds",
                                   hint="the market should have refused this task; do not claim it")
    if int(params.nodeStake) < int(bounds.minNodeStake):
        raise TaskRefusedError(
            f"task {task_id}: nodeStake {params.nodeStake} is below the market's minimum "
            f"{bounds.minNodeStake}: a wrong segment would cost nothing",
            task_id=task_id, reason="out-of-bounds")


def check_terms(policy: Policy, task_id: int, task: Any, bounds: Any = None) -> None:
    """Raise TaskRefusedError (permanent) if the task's fixed terms do not meet the policy, or
    (given the market's ``bounds``) lie outside the market's bounds."""
    params = task.params
    if bounds is not None:
        check_bounds(task_id, task, bounds)
    if policy.task_ids is not None and task_id not in policy.task_ids:
        raise TaskRefusedError(f"task {task_id} is not in this node's allow-list", task_id=task_id,
                               reason="not-allowed")
    per_step = int(task.reward) // max(1, int(params.totalSteps))
    if per_step < policy.min_reward_per_step:
        raise TaskRefusedError(f"task {task_id} pays {per_step} per step, the "
                               f"policy wants at least {policy.min_reward_per_step}",
                               task_id=task_id,
                               reason="reward-too-low",
                               hint="lower min_reward_per_step to serve it")
    window = int(params.challengeWindow)
    if policy.max_challenge_window is not None and window > policy.max_challenge_window:
        raise TaskRefusedError(
            f"task {task_id} has a challenge window of {window} blocks, the policy allows "
            f"at most {policy.max_challenge_window}", task_id=task_id,
            reason="window-too-long", hint="raise max_challenge_window to serve it")
    if int(params.segmentDeadline) < policy.min_segment_deadline:
        raise TaskRefusedError(
            f"task {task_id} gives {params.segmentDeadline} blocks per segment, the policy "
            f"needs at least {policy.min_segment_deadline}", task_id=task_id,
            reason="deadline-too-short", hint="lower min_segment_deadline to serve it")
    if policy.max_node_stake is not None and int(params.nodeStake) > policy.max_node_stake:
        raise TaskRefusedError(f"task {task_id} wants a stake of {params.nodeStake}, the "
                               f"policy allows at most {policy.max_node_stake}", task_id=task_id,
                               reason="stake-too-high")


def check_spec(task_id: int, task: Any, spec: Any) -> None:
    """Raise TaskRefusedError if the spec cannot be served here (profile) or contradicts the
    task."""
    from prover import profile
    from prover.errors import ProverError

    params = task.params
    if spec.total_steps != int(params.totalSteps) or spec.segment_steps != int(params.segmentSteps):
        raise TaskRefusedError(
            f"task {task_id}: the spec says {spec.total_steps} steps in segments of "
            f"{spec.segment_steps}, the chain says {params.totalSteps} in segments of "
            f"{params.segmentSteps}",
            task_id=task_id, reason="spec-params-mismatch",
            hint="the requester posted inconsistent terms")
    try:
        profile.ensure(spec)
    except ProverError as exc:
        raise TaskRefusedError(
            f"task {task_id} needs determinism profile {spec.profile.name} "
            f"({spec.profile.threads} thread(s)), which this process cannot run: {exc}",
            task_id=task_id, reason="profile",
            hint="run a node under that profile "
                 "(`veritrain node run --profile NAME --threads N`)") from None
