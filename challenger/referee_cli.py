"""`veritrain referee show DISPUTE_ID`: how a settled referee game ended, from public data
(the adjudicator's events and the deciding transaction's calldata; no key needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from veritrain.errors import ConfigError

referee_app = typer.Typer(help="The referee game (v2 disputes): read settled games.",
                          no_args_is_help=True)


def load_graph(path: Path) -> Any:
    """A step graph from ``veritrain spec graph --out FILE``'s JSON or a trace directory."""
    from prover.trace.graph import graph_from_json

    file = path / "graph.json" if path.is_dir() else path
    if not file.is_file():
        raise ConfigError(f"no step graph at {path}",
                          hint="pass the JSON of `veritrain spec graph SPEC --out FILE` or a "
                               "trace directory (`veritrain step trace`)")
    return graph_from_json(json.loads(file.read_text()))


def game_report(protocol: Any, dispute_id: int, graph: Any = None,
                adjudicator: str | None = None) -> dict[str, Any]:
    """The verdict of game ``dispute_id`` as data (``prover.trace.verdict.text`` prints it)."""
    from ledger.referee import Referee
    from ledger.verdict import read_game_end
    from prover.trace.verdict import report

    return report(read_game_end(Referee(protocol, adjudicator), dispute_id), graph)


@referee_app.command("show")
def referee_show(
    dispute_id: int = typer.Argument(..., help="The game's dispute id (DisputeOpened)."),
    graph: Path | None = typer.Option(None, "--graph",
                                      help="The task's step graph (JSON of `veritrain spec graph "
                                           "--out`, or a trace directory): names the op and the "
                                           "tensors it reads."),
    adjudicator: str | None = typer.Option(None, "--adjudicator",
                                           help="OneStepAdjudicator address (default: the "
                                                "market's referee)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Print where a settled game found the fault: the step, the op, the element, the scalar
    operation, its operands, the node's bits against binary32's (or the final state, kept
    tensor, deadline or padding that decided it)."""
    from ledger.protocol import Protocol
    from prover.trace.verdict import text
    from veritrain.config import Settings

    g = load_graph(graph) if graph is not None else None
    doc = game_report(Protocol.from_settings(Settings.load(), need_key=False), dispute_id, g,
                      adjudicator)
    typer.echo(json.dumps(doc, indent=1) if as_json else text(doc))


def register(app: typer.Typer) -> None:
    """Add `referee` to the veritrain CLI."""
    app.add_typer(referee_app, name="referee")
