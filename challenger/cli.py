"""`veritrain challenger run|status` and `veritrain juror run|status`: thin loops over
:class:`challenger.auditor.Auditor` and :class:`challenger.juror.Juror`."""

from __future__ import annotations

import json
import logging
import threading
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import typer

from prover.profile import DEFAULT_PROFILE
from veritrain.errors import ConfigError, VeritrainError

E18 = 10**18

challenger_app = typer.Typer(help="Auditor: replay committed segments, dispute wrong ones.",
                             no_args_is_help=True)
juror_app = typer.Typer(help="Juror: settle disputes by replaying the disputed step.",
                        no_args_is_help=True)

PROFILE_OPT = typer.Option(DEFAULT_PROFILE, "--profile",
                           help="Determinism profile this bot runs under; "
                           "tasks whose spec names another are refused.")
THREADS_OPT = typer.Option(1, "--threads", help="Threads of that profile.")
WORKDIR_OPT = typer.Option(None, "--workdir",
                           help="Journal and cache directory (default: $VERITRAIN_HOME/<bot>).")
POLL_OPT = typer.Option(2.0, "--poll", help="Seconds between iterations.")
ONCE_OPT = typer.Option(False, "--once", help="Run one iteration and exit.")


def fmt(amount: int) -> str:
    from ledger.protocol import format_amount

    return format_amount(amount)


def connect(need_key: bool = True) -> Any:
    """The Protocol for the configured chain, addresses and (unless read-only) key."""
    from ledger.protocol import Protocol
    from veritrain.config import Settings

    return Protocol.from_settings(Settings.load(), need_key)


def _workdir(workdir: Path | None, name: str) -> Path:
    from veritrain.config import Settings

    return workdir or Settings.load().home / name


def _under_profile(name: str, threads: int) -> None:
    """Re-execute under the profile before torch is imported (prover.profile's guard)."""
    from prover import profile

    profile.reexec_if_needed(SimpleNamespace(profile=SimpleNamespace(name=name, threads=threads)))  # type: ignore[arg-type]


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")


@challenger_app.command("run")
def challenger_run(
    probability: float = typer.Option(0.2, "--probability",
                                      help="Audit probability per segment (established nodes)."),
    fresh_probability: float = typer.Option(1.0, "--fresh-probability",
                                            help="Audit probability for new nodes."),
    fresh_history: int = typer.Option(8, "--fresh-history",
                                      help="Audits after which a node is established."),
    budget: int = typer.Option(0, "--budget-steps-per-hour", help="Replay budget (0: unlimited)."),
    stake: float = typer.Option(0.0, "--stake",
                                help="Stake (tokens) to keep deposited so audits are attested on "
                                     "chain (AuditRegistry minAuditorStake; 0: deposit nothing)."),
    demand_state: bool = typer.Option(
        False, "--demand-state",
        help="On a refereed task whose end state is right but whose end checkpoint is missing or "
             "wrong, open the end-state game anyway (bets the bond that the node cannot reveal "
             "its state). Default: attest the fault, open nothing."),
    workdir: Path | None = WORKDIR_OPT, poll: float = POLL_OPT, once: bool = ONCE_OPT,
    profile_name: str = PROFILE_OPT, threads: int = THREADS_OPT,
) -> None:
    """Watch commits, audit by a secret coin, dispute wrong segments, follow disputes, claim
    payouts."""
    _under_profile(profile_name, threads)
    from challenger.auditor import Auditor
    from challenger.policy import AuditPolicy
    from store.client import Client
    from veritrain.config import Settings

    _logging()
    s = Settings.load()
    policy = AuditPolicy(probability=probability, fresh_probability=fresh_probability,
                         fresh_history=fresh_history, budget_steps_per_hour=budget,
                         demand_state=demand_state)
    auditor = Auditor(connect(), Client(s.ipfs_api), _workdir(workdir, "challenger"), policy,
                      confirmations=s.confirmations)
    want = int(Decimal(str(stake)) * E18)
    have = int(auditor.protocol.stake_info().staked)
    if want > have:
        auditor.protocol.deposit(want - have)
    if once:
        auditor.run_once()
        typer.echo(json.dumps(auditor.status(), default=str))
        return
    auditor.run(threading.Event(), poll)


@challenger_app.command("status")
def challenger_status(workdir: Path | None = WORKDIR_OPT,
                      as_json: bool = typer.Option(False, "--json",
                                                   help="Machine-readable output.")) -> None:
    """Audits done, disputes open/won/lost, earnings, bond at risk (from the journal + chain)."""
    from challenger.auditor import audit_status
    from challenger.journal import Journal

    wd = _workdir(workdir, "challenger")
    if not (wd / "auditor.sqlite").is_file():
        raise ConfigError(f"no auditor journal in {wd}",
                          hint="run `veritrain challenger run` first, or pass --workdir")
    try:
        p = connect(need_key=True)
    except VeritrainError:  # no key, addresses or chain: report from the journal alone
        p = None
    st = audit_status(Journal(wd / "auditor.sqlite"), p)
    if as_json:
        typer.echo(json.dumps(st, default=str))
        return
    d = st["disputes"]
    typer.echo(f"audits done     {st['audits_done']}  "
               f"({', '.join(f'{k} {v}' for k, v in sorted(st['audits'].items()))})")
    typer.echo(f"disputes        open {d['open']}, won {d['won']}, lost "
               f"{d['lost']}, void {d['void']}")
    typer.echo(f"earnings        {fmt(st['earnings'])} (claimed {fmt(st['payouts_claimed'])}"
               + (f", owed {fmt(st['owed'])})" if "owed" in st else ")"))
    typer.echo(f"bond at risk    {fmt(st['bond_at_risk'])}")
    typer.echo(f"replayed        {st['steps_replayed']} steps in {st['cpu_s']:.1f} s cpu")


@juror_app.command("run")
def juror_run(
    stake: float = typer.Option(100.0, "--stake",
                                help="Stake (tokens) to keep deposited as a juror."),
    workdir: Path | None = WORKDIR_OPT,
    poll: float = typer.Option(1.0, "--poll", help="Seconds between iterations."),
    once: bool = ONCE_OPT, profile_name: str = PROFILE_OPT, threads: int = THREADS_OPT,
    seconds_per_step: float | None = typer.Option(
        None, "--seconds-per-step",
        help="This machine's replay time per step: refuse to join a pool "
        "(or to start a replay) that cannot finish before the commit deadline."),
    block_time: float = typer.Option(12.0, "--block-time", help="Seconds per block of the chain."),
) -> None:
    """Opt in with stake; commit and reveal a replayed leaf for every dispute this account is
    drawn for."""
    _under_profile(profile_name, threads)
    from challenger.budget import ReplayBudget
    from challenger.juror import Juror
    from store.client import Client
    from veritrain.config import Settings

    _logging()
    s = Settings.load()
    juror = Juror(connect(), Client(s.ipfs_api), _workdir(workdir, "juror"),
                  stake=int(Decimal(str(stake)) * E18), confirmations=s.confirmations,
                  budget=None if seconds_per_step is None
                  else ReplayBudget(seconds_per_step, block_time))
    juror.opt_in()
    if once:
        juror.run_once()
        typer.echo(json.dumps(juror.status(), default=str))
        return
    juror.run(threading.Event(), poll)


@juror_app.command("status")
def juror_status(workdir: Path | None = WORKDIR_OPT) -> None:
    """Votes by state and payouts claimed (from the juror journal)."""
    from challenger.journal import Journal

    wd = _workdir(workdir, "juror")
    if not (wd / "juror.sqlite").is_file():
        raise ConfigError(f"no juror journal in {wd}",
                          hint="run `veritrain juror run` first, or pass --workdir")
    j = Journal(wd / "juror.sqlite")
    votes = {r["status"]: int(r["n"]) for r in j.rows("SELECT status, COUNT(*) AS n FROM "
                                                      "votes GROUP BY status")}
    paid = sum(int(r["amount"]) for r in j.rows("SELECT amount FROM payouts"))
    typer.echo("votes           "
               f"{', '.join(f'{k} {v}' for k, v in sorted(votes.items())) or 'none'}")
    typer.echo(f"payouts claimed {fmt(paid)}")


def register(app: typer.Typer) -> None:
    """Add this package's commands to the veritrain CLI."""
    app.add_typer(challenger_app, name="challenger")
    app.add_typer(juror_app, name="juror")
