"""Commands of the `consumer` package: `veritrain pull`."""

from __future__ import annotations

from pathlib import Path

import typer


def pull_cmd(
    task: int = typer.Option(..., "--task", help="Task id."),
    out: Path = typer.Option(..., "--out", help="Directory to write (must not exist or be empty)."),
    segment: int | None = typer.Option(None, "--segment", help="Segment to pull (default: latest final)."),
    allow_unfinalized: bool = typer.Option(False, "--allow-unfinalized",
                                           help="Accept a committed segment whose challenge window "
                                                "has not passed (not audited yet)."),
    rpc: str | None = typer.Option(None, "--rpc", help="JSON-RPC URL (default VERITRAIN_RPC_URL)."),
    ipfs: str | None = typer.Option(None, "--ipfs", help="IPFS API (default VERITRAIN_IPFS_API)."),
    addresses: Path | None = typer.Option(None, "--addresses",
                                          help="Addresses file (default VERITRAIN_ADDRESSES)."),
) -> None:
    """Fetch a final checkpoint, check it against the chain, write a transformers model directory."""
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
        res = pull(protocol, client, task, out, segment=segment, allow_unfinalized=allow_unfinalized,
                   cache_dir=s.home / "cache", log=typer.echo)
    p = res.provenance
    typer.echo(f"task {p['taskId']} segment {p['segment']} (step {p['step']}, "
               f"{'final' if p['final'] else 'NOT FINAL'}) from tx {p['txHash']}")
    typer.echo(f"load it with transformers.AutoModel.from_pretrained({str(res.out_dir)!r})")


def register(app: typer.Typer) -> None:
    """Add this package's commands to the veritrain CLI."""
    app.command("pull")(pull_cmd)
