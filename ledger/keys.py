"""Signing keys: encrypted eth-account keystores, or an env var for throwaway devnet keys.

Keys never travel on a command line and are never printed or logged. The keystore password
comes from ``VERITRAIN_PASSWORD`` or an interactive prompt; a raw key only from
``VERITRAIN_PRIVATE_KEY`` (devnets, CI).
"""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.errors import KeyUnavailableError

PASSWORD_ENV = "VERITRAIN_PASSWORD"
PRIVATE_KEY_ENV = "VERITRAIN_PRIVATE_KEY"


def _password(prompt: bool, confirm: bool = False) -> str:
    pw = os.environ.get(PASSWORD_ENV)
    if pw is not None:
        return pw
    if not prompt:
        raise KeyUnavailableError(f"no keystore password: {PASSWORD_ENV} is not set",
                                  hint=f"set {PASSWORD_ENV} or run interactively to be prompted")
    first = getpass.getpass("keystore password: ")
    if confirm and getpass.getpass("repeat password: ") != first:
        raise KeyUnavailableError("the two passwords differ", hint="run the command again")
    return first


def load_account(keystore: Path | None, *, prompt: bool = True) -> LocalAccount:
    """The operator's account: from ``keystore`` (decrypted), else ``VERITRAIN_PRIVATE_KEY``."""
    if keystore is not None:
        try:
            blob = json.loads(Path(keystore).read_text())
        except FileNotFoundError:
            raise KeyUnavailableError(
                f"keystore file {keystore} does not exist",
                hint="create one with `veritrain account new --keystore FILE`",
            ) from None
        except json.JSONDecodeError:
            raise KeyUnavailableError(f"keystore file {keystore} is not a JSON keystore") from None
        try:
            key = Account.decrypt(blob, _password(prompt))
        except ValueError:
            raise KeyUnavailableError(
                f"keystore {keystore} could not be decrypted: wrong password",
                hint=f"check {PASSWORD_ENV} or the password you typed",
            ) from None
        return Account.from_key(key)
    raw = os.environ.get(PRIVATE_KEY_ENV)
    if raw:
        try:
            return Account.from_key(raw.strip())
        except (ValueError, TypeError):
            raise KeyUnavailableError(
                f"{PRIVATE_KEY_ENV} does not hold a valid private key",
                hint="it must be 32 bytes of hex, with or without 0x",
            ) from None
    raise KeyUnavailableError(
        "no signing key configured",
        hint="pass --keystore FILE (or VERITRAIN_KEYSTORE), or set VERITRAIN_PRIVATE_KEY on a "
             "devnet",
    )


def write_keystore(account: LocalAccount, path: Path, password: str) -> None:
    """Encrypt ``account`` into ``path`` (mode 0600); refuses to overwrite an existing file."""
    path = Path(path)
    if path.exists():
        raise KeyUnavailableError(f"{path} already exists; refusing to overwrite a keystore",
                                  hint="choose another path or move the old file away")
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = Account.encrypt(account.key, password)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(blob, fh)


def new_keystore(path: Path, *, prompt: bool = True) -> str:
    """Create a fresh account encrypted at ``path``; returns its address."""
    account = Account.create()
    write_keystore(account, path, _password(prompt, confirm=True))
    return str(account.address)


def import_keystore(path: Path, *, prompt: bool = True) -> str:
    """Import a raw key (from ``VERITRAIN_PRIVATE_KEY`` or a hidden prompt) into a keystore."""
    raw = os.environ.get(PRIVATE_KEY_ENV)
    if raw is None:
        if not prompt:
            raise KeyUnavailableError(
                f"no key to import: {PRIVATE_KEY_ENV} is not set",
                hint=f"set {PRIVATE_KEY_ENV} or run interactively to be prompted",
            )
        raw = getpass.getpass("private key (hidden): ")
    try:
        account = Account.from_key(raw.strip())
    except (ValueError, TypeError):
        raise KeyUnavailableError("that is not a valid private key",
                                  hint="it must be 32 bytes of hex, with or without 0x") from None
    write_keystore(account, path, _password(prompt, confirm=True))
    return str(account.address)
