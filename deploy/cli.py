"""Commands of the `deploy` package: `devnet up|status|down`, `deploy`, `demo`."""

from __future__ import annotations

from pathlib import Path

import typer

devnet_app = typer.Typer(help="A local devnet: anvil + embedded IPFS store + "
                              "contracts + dev accounts.",
                         no_args_is_help=True)

DIR_OPT = typer.Option(Path(".devnet"), "--dir", help="Devnet directory (state, logs, keystores).")


@devnet_app.command("up")
def devnet_up(dir: Path = DIR_OPT) -> None:
    """Start anvil and the IPFS store in the background, deploy and fund on first start."""
    from rich.console import Console

    from deploy.devnet import Devnet

    con = Console(highlight=False)
    info = Devnet(dir).up(log=lambda m: con.print(f"[green]•[/] {m}"))
    con.print(f"\n[bold]devnet up[/] in {info.dir} (chain {info.chain_id})")
    con.print(f"  RPC       {info.rpc_url}\n  IPFS API  {info.ipfs_api}\n  addresses "
              f"{info.addresses_file}")
    con.print(f"  password  {info.doc['passwordFile']}  [dim](throwaway devnet secret)[/]")
    con.print(f"\nUse it from a shell: [bold]source {info.dir / 'env'}[/] (as the requester; set "
              f"VERITRAIN_KEYSTORE to another file in {info.dir / 'keystores'} "
              "to act as someone else)")
    import shlex

    con.print(f"Watch it in a browser: [bold]{shlex.join(Devnet(dir).explorer_command(info))}[/], "
              f"then open http://127.0.0.1:8780")


@devnet_app.command("status")
def devnet_status(dir: Path = DIR_OPT) -> None:
    """Show whether the devnet's processes run and answer."""
    from rich.console import Console

    from deploy.devnet import Devnet

    st = Devnet(dir).status()
    con = Console(highlight=False)
    for key, value in st.items():
        con.print(f"{key:15} {value}")
    if not (st.get("anvil_running") and st.get("store_running")):
        from deploy.devnet import DevnetNotRunningError

        raise DevnetNotRunningError(f"the devnet in {st['dir']} is not (fully) running",
                                    dir=str(st["dir"]),
                                    hint=f"start it with `veritrain devnet up --dir {dir}`")


@devnet_app.command("down")
def devnet_down(dir: Path = DIR_OPT) -> None:
    """Stop the devnet's own processes (chain state is kept for the next `up`)."""
    from deploy.devnet import Devnet

    if not Devnet(dir).down(log=typer.echo):
        typer.echo(f"nothing of the devnet in {Path(dir).resolve()} was running")


def deploy_cmd(
    rpc: str = typer.Option(..., "--rpc", help="JSON-RPC URL of the chain."),
    keystore: Path = typer.Option(..., "--keystore",
                                  help="Deployer's encrypted keystore (password: "
                                  "VERITRAIN_PASSWORD or prompt)."),
    token: str | None = typer.Option(None, "--token", help="Existing ERC20 to stake with (default: "
                                     "deploy VeriToken)."),
    out: Path = typer.Option(Path("addresses.json"), "--out", help="Addresses file to write."),
    confirmations: int = typer.Option(0, "--confirmations",
                                      help="Blocks to wait on each transaction."),
) -> None:
    """Deploy every contract to an EVM chain, check the code is there, write the addresses file."""
    from deploy.deployer import DeployConfig, deploy_all, verify_code
    from ledger.chain import Chain
    from ledger.keys import load_account

    chain = Chain(rpc, load_account(keystore), confirmations=confirmations)
    typer.echo(f"deploying from {chain.address} to chain {chain.chain_id} at {rpc}")
    addresses = deploy_all(chain, DeployConfig(token=token))
    verify_code(chain, addresses)
    addresses.save(out)
    for name in ("token", "stakeManager", "taskMarket", "adjudicator", "referee", "randomness",
                 "auditRegistry"):
        typer.echo(f"  {name:13} {getattr(addresses, name)}")
    typer.echo(f"wrote {out} (deploy block {addresses.deployBlock}); point "
               "VERITRAIN_ADDRESSES at it")


def demo_cmd(
    keep: bool = typer.Option(False, "--keep", help="Leave the devnet running afterwards."),
    out: Path | None = typer.Option(None, "--out",
                                    help="Where to write the plot, pulled student and "
                                    "summary (default: a new directory under /tmp)."),
) -> None:
    """The end-to-end story on an embedded devnet: train, commit, cheat, dispute, slash, pay,
    pull."""
    from deploy.demo import run_demo

    run_demo(out=out, keep=keep)


def register(app: typer.Typer) -> None:
    """Add this package's commands to the veritrain CLI."""
    app.add_typer(devnet_app, name="devnet")
    app.command("deploy")(deploy_cmd)
    app.command("demo")(demo_cmd)
