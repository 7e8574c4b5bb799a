"""Commands of the `consumer` package: `veritrain pull`."""

from __future__ import annotations

from pathlib import Path

import typer


def pull_cmd(
    task: int = typer.Option(..., "--task", help="Task id."),
    out: Path = typer.Option(..., "--out", help="Directory to write (must not exist or be empty)."),
    segment: int | None = typer.Option(None, "--segment",
                                       help="Segment to pull (default: latest final)."),
    allow_unfinalized: bool = typer.Option(False, "--allow-unfinalized",
                                           help="Accept a committed segment whose challenge window "
                                                "has not passed (not audited yet)."),
    allow_unaudited: bool = typer.Option(False, "--allow-unaudited",
                                         help="Accept a checkpoint with a segment that no "
                                              "independent auditor attested on chain."),
    rpc: str | None = typer.Option(None, "--rpc", help="JSON-RPC URL (default VERITRAIN_RPC_URL)."),
    ipfs: str | None = typer.Option(None, "--ipfs", help="IPFS API (default VERITRAIN_IPFS_API)."),
    addresses: Path | None = typer.Option(None, "--addresses",
                                          help="Addresses file (default VERITRAIN_ADDRESSES)."),
    no_eval: bool = typer.Option(False, "--no-eval",
                                 help="Skip fetching the teacher and scoring the student for the "
                                      "model card."),
) -> None:
    """Fetch a final checkpoint, check it against the chain, write a transformers model
    directory. Reports how many independent audits covered each segment; refuses when one had
    none."""
    from consumer.pull import pull
    from ledger.chain import Chain
    from ledger.protocol import Addresses, Protocol
    from store.client import Client
    from veritrain.config import Settings
    from veritrain.errors import ConfigError

    s = Settings.load()
    addr_file = addresses or s.addresses
    if addr_file is None:
        raise ConfigError("no addresses file", hint="pass --addresses or set VERITRAIN_ADDRESSES")
    protocol = Protocol(Chain(rpc or s.rpc_url), Addresses.load(addr_file))
    with Client(ipfs or s.ipfs_api) as client:
        res = pull(protocol, client, task, out, segment=segment,
                   allow_unfinalized=allow_unfinalized, allow_unaudited=allow_unaudited,
                   cache_dir=s.home / "cache", log=typer.echo, evaluate=not no_eval)
    p = res.provenance
    typer.echo(f"task {p['taskId']} segment {p['segment']} (step {p['step']}, "
               f"{'final' if p['final'] else 'NOT FINAL'}) from tx {p['txHash']}")
    typer.echo(f"load it with transformers.AutoModel.from_pretrained({str(res.out_dir)!r}) or "
               f"sentence_transformers.SentenceTransformer({str(res.out_dir)!r})")


def eval_cmd(
    model_dirs: list[Path] = typer.Argument(..., help="Model directories (pulled students, the "
                                                      "teacher, any transformers encoder)."),
    teacher: Path | None = typer.Option(None, "--teacher",
                                        help="Teacher dir (default: the installed MiniLM)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Score models on the Lee human-judged benchmark and on held-out distillation."""
    import json

    from consumer.quality import evaluate, load
    from prover.presets import default_teacher_dir
    from veritrain.errors import ConfigError

    for d in model_dirs:
        if not (d / "config.json").is_file():
            raise ConfigError(f"{d} is not a model directory (no config.json)",
                              hint="pass a directory written by `veritrain pull` or a "
                                   "transformers model directory")
    teacher_dir = teacher or default_teacher_dir()
    t = load(teacher_dir)
    reports = [evaluate(d, teacher_dir, t) for d in model_dirs]
    if as_json:
        typer.echo(json.dumps([r.to_doc() for r in reports], indent=1))
        return
    typer.echo(f"{'model':<40} {'params':>10} {'Lee Pearson':>12} {'Spearman':>9} "
               f"{'heldout KD':>11} {'cos(teacher)':>13}")
    for r in reports:
        typer.echo(f"{r.model[-40:]:<40} {r.params:>10,} {r.pearson:>12.3f} {r.spearman:>9.3f} "
                   f"{r.heldout_kd_loss:>11.4f} {r.heldout_teacher_cosine:>13.3f}")


def register(app: typer.Typer) -> None:
    """Add this package's commands to the veritrain CLI."""
    app.command("pull")(pull_cmd)
    app.command("eval")(eval_cmd)
