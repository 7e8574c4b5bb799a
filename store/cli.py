"""Commands of the `store` package: `veritrain store serve | add | get | pin | gc`."""

from __future__ import annotations

from pathlib import Path

import typer

store_app = typer.Typer(
    help="IPFS: run the embedded Kubo-compatible store, add and fetch verified content.",
    no_args_is_help=True,
)

API_HELP = "Kubo RPC API (multiaddr or URL); default: settings' ipfs_api (VERITRAIN_IPFS_API)."
PROGRESS_MIN = 16 << 20  # show progress bars for transfers above 16 MiB


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


@store_app.command("serve")
def serve_cmd(
    repo: Path = typer.Option(..., "--repo", help="Repo directory (created if missing)."),
    api: str = typer.Option(
        "127.0.0.1:5001", "--api", help="HOST:PORT to listen on (loopback by default)."
    ),
) -> None:
    """Serve the embedded store (Kubo RPC subset) until interrupted."""
    from store.server import main

    raise typer.Exit(main(["--repo", str(repo), "--api", api]))


@store_app.command("add")
def add_cmd(
    path: Path = typer.Argument(..., exists=True, help="File or directory to add."),
    api: str = typer.Option(None, "--api", help=API_HELP),
) -> None:
    """Add a file or directory (CIDv1, raw leaves, 256 KiB chunks) and pin it; prints the CID."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TransferSpeedColumn,
    )

    from store.client import Client

    size = _size(path)
    with Client(api) as client:
        if size < PROGRESS_MIN:
            cid = client.put_dir(path)
        elif path.is_file():
            with Progress(
                BarColumn(), DownloadColumn(), TransferSpeedColumn(), transient=True
            ) as bar:
                task = bar.add_task("add", total=size)
                cid = client.put_file(path, progress=lambda n: bar.advance(task, n))
        else:
            # ipfshttpclient walks directories itself: show the size and elapsed time meanwhile.
            with Progress(SpinnerColumn(), TextColumn(f"adding {size / 2**20:.0f} MiB"),
                          TimeElapsedColumn(), transient=True) as bar:
                bar.add_task("add")
                cid = client.put_dir(path)
    typer.echo(cid)


@store_app.command("get")
def get_cmd(
    cid: str = typer.Argument(..., help="CID to fetch."),
    out: Path = typer.Argument(..., help="Output path (must not exist)."),
    api: str = typer.Option(None, "--api", help=API_HELP),
) -> None:
    """Fetch a file or tree, verifying every block against its CID, and write it at OUT."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from store.client import Client

    with Client(api) as client, Progress(BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                                         transient=True) as bar:
        task = bar.add_task("get", total=None)
        client.get_dir(cid, out, progress=lambda n: bar.advance(task, n))
    typer.echo(str(out))


@store_app.command("pin")
def pin_cmd(
    cid: str = typer.Argument(...), api: str = typer.Option(None, "--api", help=API_HELP)
) -> None:
    """Pin CID (recursively) on the node."""
    from store.client import Client

    with Client(api) as client:
        client.pin(cid)
    typer.echo(f"pinned {cid}")


@store_app.command("gc")
def gc_cmd(api: str = typer.Option(None, "--api", help=API_HELP)) -> None:
    """Remove every unpinned block from the node."""
    from store.client import Client

    with Client(api) as client:
        typer.echo(f"removed {client.gc()} blocks")


def register(app: typer.Typer) -> None:
    """Add this package's commands to the veritrain CLI."""
    app.add_typer(store_app, name="store")
