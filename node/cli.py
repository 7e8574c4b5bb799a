"""`veritrain node stake|unstake|status|check|run` (operators) and `veritrain task
create|cancel|show` (requesters).

Configuration: veritrain.config.Settings (config file named by VERITRAIN_CONFIG, then VERITRAIN_*
env vars); see docs/operator.md. Amounts on the command line are in tokens (``1000`` or ``0.5``).
"""

from __future__ import annotations

import threading
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import typer

from prover.profile import DEFAULT_PROFILE
from veritrain.errors import ConfigError

node_app = typer.Typer(help="Node operators: stake, run the daemon, see its state.",
                       no_args_is_help=True)
task_app = typer.Typer(help="Requesters: post a task, cancel one, look at one.",
                       no_args_is_help=True)
E18 = 10**18


def parse_amount(text: str) -> int:
    """Tokens (decimal string) to base units."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ConfigError(f"{text!r} is not an amount",
                          hint="write tokens as a number, e.g. 1000 or 0.5") from None
    if value < 0:
        raise ConfigError(f"amount {text} is negative")
    return int(value * E18)


def fmt(amount: int) -> str:
    from ledger.protocol import format_amount

    return format_amount(amount)


def connect(need_key: bool = True) -> Any:
    """The Protocol for the configured chain, addresses and (unless read-only) key."""
    from ledger.protocol import Protocol
    from veritrain.config import Settings

    return Protocol.from_settings(Settings.load(), need_key)


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


# --- node ------------------------------------------------------------------------------------
@node_app.command("stake")
def node_stake(amount: str = typer.Argument(..., help="Tokens to deposit as stake.")) -> None:
    """Deposit AMOUNT tokens as stake (approving the StakeManager first)."""
    p = connect()
    p.deposit(parse_amount(amount))
    info = p.stake_info()
    _console().print(f"staked {fmt(info.staked)} (locked {fmt(info.locked)})")


@node_app.command("unstake")
def node_unstake(
    amount: str | None = typer.Argument(None, help="Tokens to withdraw (default: all free stake)."),
    withdraw: bool = typer.Option(False, "--withdraw",
                                  help="Complete a withdrawal whose unbonding ended."),
) -> None:
    """Request a withdrawal of free stake (ready after the unbonding delay), or complete one."""
    p = connect()
    con = _console()
    if withdraw:
        p.withdraw()
        con.print(f"withdrawn; token balance {fmt(p.balance())}")
        return
    value = parse_amount(amount) if amount else int(p.stake.call("freeStake", p.me))
    if value == 0:
        raise ConfigError("no free stake to withdraw",
                          hint="locked stake frees up when tasks complete")
    p.request_withdrawal(value)
    info = p.stake_info()
    con.print(f"requested {fmt(value)}; ready at block {info.readyAt} "
              f"(then `veritrain node unstake --withdraw`)")


@node_app.command("status")
def node_status() -> None:
    """Stake, locked, jailed, tasks, segments and pending rewards as a table."""
    from node.status import render_status
    from veritrain.config import Settings

    render_status(connect(), Settings.load().home / "node", _console())


@node_app.command("check")
def node_check(task_id: int = typer.Argument(..., help="Task id.")) -> None:
    """Say whether this node would serve TASK_ID under its policy and profile (claims nothing)."""
    from node.status import check_one
    from veritrain.config import Settings

    check_one(connect(), Settings.load().home / "node", task_id, _console())


@node_app.command("run")
def node_run(
    profile_name: str = typer.Option(DEFAULT_PROFILE, "--profile",
                                     help="Determinism profile this node runs under; "
                                     "tasks with another profile are refused before claiming."),
    threads: int = typer.Option(1, "--threads", help="Threads of that profile."),
    poll: float = typer.Option(2.0, "--poll", help="Seconds between iterations when idle."),
    min_reward_per_step: str = typer.Option("0", "--min-reward-per-step",
                                            envvar="VERITRAIN_MIN_REWARD_PER_STEP",
                                            help="Smallest reward per step (tokens) to take a "
                                                 "task."),
    max_stake: str | None = typer.Option(None, "--max-stake", envvar="VERITRAIN_MAX_NODE_STAKE",
                                         help="Largest nodeStake (tokens) to lock for one task."),
    task_ids: list[int] = typer.Option([], "--task",
                                       help="Serve only these task ids (repeatable)."),
    unpin_margin: int = typer.Option(1000, "--unpin-margin",
                                     help="Blocks after completion to keep data pinned."),
    stop_after_tasks: int | None = typer.Option(None, "--stop-after-tasks",
                                                help="Exit after this many rewards."),
    once: bool = typer.Option(False, "--once", help="Run one iteration and exit."),
    json_logs: bool = typer.Option(False, "--json-logs", help="Structured logs as JSON lines."),
    progress: bool = typer.Option(True, "--progress/--no-progress",
                                  help="Progress bars on stderr."),
) -> None:
    """The operator daemon: claim tasks the policy accepts, train, upload, commit, get paid."""
    from types import SimpleNamespace

    from prover import profile

    # Re-execute under the profile before torch is imported; tasks needing another one are refused.
    pinned = SimpleNamespace(profile=SimpleNamespace(name=profile_name, threads=threads))
    profile.reexec_if_needed(pinned)  # type: ignore[arg-type]
    from node.daemon import NodeDaemon
    from node.logs import setup_logging
    from node.policy import Policy
    from store.client import Client
    from veritrain.config import Settings

    settings = Settings.load()
    policy = Policy(min_reward_per_step=parse_amount(min_reward_per_step),
                    max_node_stake=parse_amount(max_stake) if max_stake else None,
                    task_ids=frozenset(task_ids) if task_ids else None,
                    unpin_margin_blocks=unpin_margin)
    ui = None
    if progress:
        from node.ui import RichUi

        ui = RichUi()
    setup_logging(json_lines=json_logs)  # after the bars start, so log lines print above them
    daemon = NodeDaemon(connect(), Client(settings.ipfs_api), settings.home / "node", policy, ui=ui)
    try:
        if once:
            typer.echo(str(daemon.run_once()))
            daemon.close()
        else:
            daemon.run(threading.Event(), poll, stop_after_tasks=stop_after_tasks)
    finally:
        if ui is not None:
            ui.stop()


# --- task (requester) ------------------------------------------------------------------------
@task_app.command("create")
def task_create(
    spec_file: Path = typer.Option(..., "--spec", help="Task spec JSON (`veritrain spec init`)."),
    reward: str = typer.Option(..., "--reward", help="Reward in tokens, escrowed now."),
    total_steps: int | None = typer.Option(None, "--total-steps",
                                           help="Override the spec's totalSteps."),
    segment_steps: int | None = typer.Option(None, "--segment-steps",
                                             help="Override the spec's segmentSteps."),
    challenge_window: int = typer.Option(40, "--challenge-window",
                                         help="Blocks a segment stays disputable."),
    segment_deadline: int = typer.Option(200, "--segment-deadline",
                                         help="Blocks the node has per segment."),
    node_stake: str = typer.Option("1000", "--node-stake", help="Stake (tokens) the node locks."),
    teacher: Path | None = typer.Option(None, "--teacher",
                                        help="Teacher dir (default: the installed MiniLM)."),
    dataset: Path | None = typer.Option(None, "--dataset",
                                        help="Dataset manifest dir (default: the cached corpus)."),
    step_graph: bool | None = typer.Option(
        None, "--step-graph/--no-step-graph",
        help="Record the task's step-graph roots with it (the referee settles its disputes) or "
             "not (the jury). Default: the deployment's stepGraphByDefault (on: the referee), "
             "for specs that can have one (a fixed-order profile, keccak-v2, tree-v2)."),
) -> None:
    """Publish the spec, teacher and dataset (pinned), check the spec hash, escrow REWARD, print
    the id. With a step graph, the roots are computed here (two training steps) and recorded
    with the task."""
    from node.requester import TaskTerms, create_task
    from prover.presets import default_dataset_dir, default_teacher_dir
    from prover.spec import load_spec
    from store.client import Client
    from veritrain.config import Settings

    settings = Settings.load()
    spec = load_spec(spec_file)
    if total_steps or segment_steps:  # the chain's params and the spec (hashed) must agree
        from prover.spec import parse_spec

        doc = spec.to_doc()
        doc["totalSteps"] = total_steps or spec.total_steps
        doc["segmentSteps"] = segment_steps or spec.segment_steps
        spec = parse_spec(doc)
    from prover.teacher import validate_teacher_dir

    validate_teacher_dir(teacher or default_teacher_dir())  # a clear refusal before any upload
    terms = TaskTerms(parse_amount(reward), spec.total_steps, spec.segment_steps,
                      challenge_window, segment_deadline, parse_amount(node_stake))
    created = create_task(connect(), Client(settings.ipfs_api), spec, terms,
                          teacher or default_teacher_dir(),
                          dataset or default_dataset_dir(spec.seq_len),
                          settings.home / "requester-cache", step_graph=step_graph)
    con = _console()
    con.print(f"spec {created.spec_cid} (hash 0x{created.spec_hash.hex()})", style="dim")
    if created.roots is not None:
        con.print(f"step graph recorded (referee): graphRoot 0x{created.roots.graph_root.hex()}, "
                  f"teacherRoot 0x{created.roots.teacher_root.hex()}", style="dim")
    typer.echo(created.task_id)


@task_app.command("cancel")
def task_cancel(task_id: int = typer.Argument(..., help="Task id (yours).")) -> None:
    """Cancel TASK_ID: open, or stranded (claimed, past its due block: the stall is timed out
    first). Committers of final segments are paid pro rata; the rest comes back to you."""
    from node.requester import cancel_task

    done = cancel_task(connect(), task_id)
    con = _console()
    con.print(f"task {task_id} cancelled: refunded {fmt(done.refunded)}, paid to committers "
              f"{fmt(done.paid)}" + (f", forfeited to the treasury {fmt(done.forfeited)}"
                                      if done.forfeited else ""))


@task_app.command("show")
def task_show(task_id: int = typer.Argument(..., help="Task id.")) -> None:
    """State, segments and disputes of TASK_ID."""
    from node.status import render_task

    render_task(connect(need_key=False), task_id, _console())


def register(app: typer.Typer) -> None:
    """Add `node` and `task` to the veritrain CLI."""
    app.add_typer(node_app, name="node")
    app.add_typer(task_app, name="task")
