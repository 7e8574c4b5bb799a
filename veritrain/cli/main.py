"""Entry point of the `veritrain` CLI.

Each package owns its commands in its own ``cli`` module, exposing ``register(app)``; this module
only assembles them and maps errors to a one-line message and an exit code (the only place that
catches broadly). Command modules import heavy libraries (torch, web3) inside the commands, so
``veritrain --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from importlib import import_module

import typer
from rich.console import Console
from typer.exceptions import TyperException

from veritrain import __version__
from veritrain.errors import VeritrainError

#: Packages whose ``cli.register(app)`` adds commands, in help order.
COMMAND_MODULES = (
    "deploy.cli",
    "node.cli",
    "challenger.cli",
    "challenger.referee_cli",
    "consumer.cli",
    "explorer.cli",
    "prover.cli",
    "store.cli",
    "ledger.cli",
)

err = Console(stderr=True, highlight=False)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"veritrain {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="veritrain",
        help="Blockchain-anchored proof-of-learning: train, commit, audit, dispute, pull.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                     help="Print the version and exit."),
    ) -> None:
        """veritrain: verifiable knowledge distillation anchored on an EVM chain."""

    for name in COMMAND_MODULES:
        import_module(name).register(app)
    return app


def _show_usage_error(exc: TyperException) -> None:
    """Print a bad command line the way click does: usage, "Try --help", which option, why."""
    show = getattr(exc, "show", None)  # typer's (vendored) click exceptions print themselves
    if callable(show):
        show()
    else:
        err.print(f"Error: {exc.format_message()}", markup=False)


def main(argv: list[str] | None = None) -> int:
    app = build_app()
    try:
        app(args=argv, prog_name="veritrain", standalone_mode=False)
    except VeritrainError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        if exc.hint:
            err.print(f"[dim]hint:[/] {exc.hint}")
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        err.print("[bold red]aborted[/]")
        return 130
    except KeyboardInterrupt:
        err.print("[bold red]interrupted[/]")
        return 130
    except TyperException as exc:  # a usage error: click's own message and exit code (2)
        _show_usage_error(exc)
        return int(exc.exit_code)
    except Exception as exc:  # the one broad catch: turn surprises into one line, not a traceback
        if os.environ.get("VERITRAIN_DEBUG"):
            raise
        err.print(f"[bold red]error:[/] unexpected {type(exc).__name__}: {exc}")
        err.print("[dim]hint:[/] set VERITRAIN_DEBUG=1 for the traceback and report it")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
