"""`veritrain account ...`: encrypted keystores. Keys never go on a command line or into logs."""

from __future__ import annotations

from pathlib import Path

import typer

account_app = typer.Typer(
    help="Operator keys: encrypted eth-account keystores.", no_args_is_help=True
)

KEYSTORE_OPT = typer.Option(..., "--keystore", envvar="VERITRAIN_KEYSTORE",
                            help="Keystore file (password from VERITRAIN_PASSWORD or a prompt).")


@account_app.command("new")
def account_new(keystore: Path = KEYSTORE_OPT) -> None:
    """Create a new account, encrypted into KEYSTORE; prints its address."""
    from ledger.keys import new_keystore

    typer.echo(new_keystore(keystore))


@account_app.command("import")
def account_import(keystore: Path = KEYSTORE_OPT) -> None:
    """Import a private key (from VERITRAIN_PRIVATE_KEY or a hidden prompt) into KEYSTORE."""
    from ledger.keys import import_keystore

    typer.echo(import_keystore(keystore))


@account_app.command("show")
def account_show(
    keystore: Path = KEYSTORE_OPT,
    rpc: str | None = typer.Option(None, "--rpc", envvar="VERITRAIN_RPC_URL",
                                   help="Also print the native balance from this RPC."),
) -> None:
    """Print the keystore's address (and balance with --rpc)."""
    from ledger.chain import Chain
    from ledger.keys import load_account

    account = load_account(keystore)
    typer.echo(account.address)
    if rpc:
        chain = Chain(rpc, retries=2)
        typer.echo(f"balance: {chain.balance(account.address) / 1e18:.6f} ETH")


contracts_app = typer.Typer(
    help="Solidity contracts: build with the pinned Foundry.", no_args_is_help=True
)


@contracts_app.command("build")
def contracts_build(
    root: Path = typer.Option(Path("."), "--root", exists=True, file_okay=False,
                              help="Foundry project root (has foundry.toml)."),
) -> None:
    """Compile the contracts (`forge build` with the solc-js shim)."""
    from ledger.foundry import build

    build(root.resolve())
    typer.echo("contracts built")


def register(app: typer.Typer) -> None:
    """Add `account` to the veritrain CLI."""
    app.add_typer(account_app, name="account")
    app.add_typer(contracts_app, name="contracts")
