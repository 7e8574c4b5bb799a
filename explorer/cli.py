"""Commands of the `explorer` package: `veritrain explorer`."""

from __future__ import annotations

from pathlib import Path

import typer


def explorer_cmd(
    rpc: str | None = typer.Option(None, "--rpc", help="JSON-RPC URL (default VERITRAIN_RPC_URL)."),
    ipfs: str | None = typer.Option(None, "--ipfs", help="IPFS API for specs and losses (default "
                                    "VERITRAIN_IPFS_API)."),
    addresses: Path | None = typer.Option(None, "--addresses",
                                          help="Addresses file (default VERITRAIN_ADDRESSES)."),
    db: Path | None = typer.Option(None, "--db", help="SQLite index (default: "
                                   "VERITRAIN_HOME/explorer/<chain>-<TaskMarket>.sqlite)."),
    host: str | None = typer.Option(None, "--host", help="Address to bind (default "
                                    "VERITRAIN_EXPLORER_HOST or 127.0.0.1: this machine only)."),
    port: int | None = typer.Option(None, "--port", help="Port (default VERITRAIN_EXPLORER_PORT "
                                    "or 8780; 0: any free port)."),
    no_ipfs: bool = typer.Option(False, "--no-ipfs", help="Index the chain only (no specs, no "
                                 "loss curves)."),
    poll: float = typer.Option(1.0, "--poll", min=0.05, help="Seconds between polls when idle."),
) -> None:
    """Index the contracts' events (and the specs and losses they point at) and serve a read-only
    web explorer with a JSON API. Needs no key."""
    from explorer.server import Explorer, ExplorerConfig
    from ledger.protocol import Addresses
    from veritrain.config import Settings
    from veritrain.errors import ConfigError

    s = Settings.load()
    addr_file = addresses or s.addresses
    if addr_file is None:
        raise ConfigError("no addresses file", hint="pass --addresses or set VERITRAIN_ADDRESSES")
    if db is None:
        a = Addresses.load(addr_file)
        db = s.home / "explorer" / f"{a.chainId}-{a.taskMarket.lower()}.sqlite"
    cfg = ExplorerConfig(rpc_url=rpc or s.rpc_url, ipfs_api=None if no_ipfs else (ipfs or s.ipfs_api),
                         addresses_file=addr_file, db_path=db, host=host or s.explorer_host,
                         port=s.explorer_port if port is None else port, poll_s=poll,
                         confirmations=s.confirmations)
    typer.echo(f"indexing chain at {cfg.rpc_url} into {db} (catching up from the deploy block)")
    with Explorer(cfg) as ex:
        typer.echo(f"explorer: {ex.url}  (API: {ex.url}/api/overview, schema {ex.url}/api/openapi.json)")
        typer.echo("Ctrl-C stops it; the index resumes where it stopped next time")
        ex.wait()


def register(app: typer.Typer) -> None:
    """Add this package's commands to the veritrain CLI."""
    app.command("explorer")(explorer_cmd)
