"""Readable tables for `node status`, `node check` and `task show` (chain state + the node's
journal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger.protocol import DisputePhase, Outcome, TaskStatus


def _fmt(amount: int) -> str:
    from node.cli import fmt

    return fmt(amount)


def render_status(p: Any, workdir: Path, con: Any) -> None:
    from rich.table import Table

    from node.journal import Journal, SegmentState

    info = p.stake_info()
    free = int(p.stake.call("freeStake", p.me))
    block = p.chain.block_number()
    t = Table(title=f"node {p.me} at block {block}", show_header=False)
    for k, v in (
        ("staked", _fmt(info.staked)),
        ("locked", _fmt(info.locked)),
        ("free", _fmt(free)),
        (
            "pending withdrawal",
            f"{_fmt(info.pending)} (ready at block {info.readyAt})" if info.pending else "0",
        ),
        ("jailed", f"until block {info.jailedUntil}" if p.is_jailed() else "no"),
        ("juror", "yes" if info.juror else "no"),
        ("token balance", _fmt(p.balance())),
        ("jury payouts owed", _fmt(p.owed())),
    ):
        t.add_row(k, v)
    con.print(t)
    journal_path = workdir / "journal.sqlite"
    if not journal_path.is_file():
        con.print(f"[dim]no journal at {journal_path}: this node has not run here yet[/]")
        return
    j = Journal(journal_path)
    tasks = Table(title="tasks")
    for col in (
        "task",
        "journal",
        "chain",
        "segments (ours/committed/final/total)",
        "reward",
        "claimable now",
    ):
        tasks.add_column(col)
    for row in j.tasks():
        task = p.task(row.task_id)
        n = p.segment_count(row.task_id)
        final = int(p.market.call("finalSegmentCount", row.task_id))
        ours = len([s for s in j.segments(row.task_id) if s.state == SegmentState.COMMITTED])
        claimable = (
            int(task.status) == TaskStatus.CLAIMED
            and str(task.node).lower() == p.me.lower()
            and final == n
        )
        tasks.add_row(
            str(row.task_id),
            row.state.value + (f" ({row.reason[:60]})" if row.reason else ""),
            TaskStatus(int(task.status)).name,
            f"{ours}/{int(task.nextSegment)}/{final}/{n}",
            _fmt(task.reward),
            "yes" if claimable else "",
        )
    con.print(tasks)
    disputes = j.open_disputes()
    if disputes:
        shown = ", ".join(f"{'referee' if d.referee else 'jury'} {d.dispute_id}" for d in disputes)
        con.print(f"open disputes on our tasks: {shown}")
    j.close()


def check_one(p: Any, workdir: Path, task_id: int, con: Any) -> None:
    from node.daemon import NodeDaemon
    from node.errors import TaskRefusedError
    from store.client import Client
    from veritrain.config import Settings

    events = p.market.events("TaskCreated", from_block=p.addresses.deployBlock, taskId=task_id)
    if not events:
        raise TaskRefusedError(f"task {task_id} does not exist", task_id=task_id, reason="unknown")
    daemon = NodeDaemon(p, Client(Settings.load().ipfs_api), workdir)
    try:
        spec = daemon.check_task(task_id, str(events[-1]["args"]["specCid"]))
    finally:
        daemon.close()
    con.print(
        f"task {task_id}: servable ({spec.num_segments()} segments of {spec.segment_steps} steps, "
        f"profile {spec.profile.name})"
    )


def _releases(task: Any) -> str:
    """Free releases used (#14), and where a withheld start checkpoint rolled the prefix back."""
    back = int(task.rolledBackFrom)
    return f"{task.releases}" + (f" (prefix rolled back from segment {back})" if back else "")


def _adjudicator(p: Any, task_id: int) -> str:
    """Who settles the task's disputes (fixed at creation), with its graphRoot for the referee."""
    if not p.is_refereed(task_id):
        return f"jury (no step graph) {p.adjudicator_of(task_id)}"
    root = bytes(p.step_graph(task_id).graphRoot).hex()
    return f"referee (graphRoot 0x{root[:12]}...) {p.adjudicator_of(task_id)}"


def render_task(p: Any, task_id: int, con: Any) -> None:
    from rich.table import Table

    task = p.task(task_id)
    if int(task.status) == TaskStatus.NONE:
        from node.errors import TaskRefusedError

        raise TaskRefusedError(f"task {task_id} does not exist", task_id=task_id, reason="unknown",
                               hint=f"task ids are 1..{p.task_count()}")
    params = task.params
    head = Table(title=f"task {task_id} at block {p.chain.block_number()}", show_header=False)
    created = p.market.events("TaskCreated", from_block=p.addresses.deployBlock, taskId=task_id)
    for k, v in (
        ("status", TaskStatus(int(task.status)).name),
        ("requester", task.requester),
        ("node", task.node),
        ("epoch", task.epoch),
        ("reward", _fmt(task.reward)),
        ("spec", created[-1]["args"]["specCid"] if created else "?"),
        ("spec hash", "0x" + bytes(task.specHash).hex()),
        ("steps", f"{params.totalSteps} in segments of {params.segmentSteps}"),
        ("next segment", f"{task.nextSegment} (due block {task.segmentDueBlock})"),
        (
            "windows",
            f"challenge {params.challengeWindow}, deadline {params.segmentDeadline} blocks",
        ),
        ("node stake", _fmt(params.nodeStake)),
        ("open disputes", task.openDisputes),
        ("free releases", _releases(task)),
        ("adjudicator", _adjudicator(p, task_id)),
    ):
        head.add_row(k, str(v))
    con.print(head)
    segs = Table(title="segments")
    for col in ("k", "trace root", "end state", "committed at", "disputes", "final"):
        segs.add_column(col)
    for i in range(p.segment_count(task_id)):
        s = p.segment(task_id, i)
        if not s.committed:
            continue
        segs.add_row(
            str(i),
            "0x" + bytes(s.traceRoot).hex()[:16] + "…",
            "0x" + bytes(s.endStateHash).hex()[:16] + "…",
            str(s.committedAt),
            str(s.openDisputes),
            "yes" if s.isFinal else "no",
        )
    con.print(segs)
    opened = p.jury.events("DisputeOpened", from_block=p.addresses.deployBlock, taskId=task_id)
    if opened:
        dt = Table(title="disputes")
        for col in ("id", "segment", "step", "challenger", "phase", "outcome"):
            dt.add_column(col)
        for e in opened:
            d = p.dispute(int(e["args"]["disputeId"]))
            dt.add_row(str(e["args"]["disputeId"]), str(d.segment), str(d.step), str(d.challenger),
                       DisputePhase(int(d.phase)).name, Outcome(int(d.outcome)).name)
        con.print(dt)
