"""A real anvil process: start on a free loopback port, wait until it answers, stop by PID.

Used by the devnet and by the test suite. Dev accounts are anvil's: derived from its well-known
test mnemonic (public, devnet-only; never fund them on a real chain).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.foundry import tool
from veritrain.errors import DeployError

DEV_MNEMONIC = "test test test test test test test test test test test junk"
Account.enable_unaudited_hdwallet_features()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def dev_accounts(n: int = 10) -> list[LocalAccount]:
    """Anvil's default funded accounts (devnet only)."""
    return [
        Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(n)
    ]


@dataclass
class Anvil:
    """A running anvil process."""

    url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path | None = None
    accounts: list[LocalAccount] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def rpc(self, method: str, *params: Any) -> Any:
        resp = requests.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                             "params": list(params)}, timeout=30)
        body = resp.json()
        if "error" in body:
            raise DeployError(f"anvil {method} failed: {body['error'].get('message')}")
        return body.get("result")

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", hex(blocks))

    def stop(self) -> None:
        """Stop this anvil (SIGTERM, then SIGKILL), by its own PID only."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_anvil(*, port: int | None = None, host: str = "127.0.0.1", state: Path | None = None,
                log_path: Path | None = None, accounts: int = 10, balance_eth: int = 10_000,
                block_time: float | None = None, chain_id: int = 31337,
                extra_args: list[str] | None = None, startup_timeout: float = 30.0) -> Anvil:
    """Start anvil and wait until it answers ``eth_chainId``. ``state`` persists chain state."""
    port = port or free_port(host)
    args = [str(tool("anvil")), "--host", host, "--port", str(port), "--accounts", str(accounts),
            "--balance", str(balance_eth), "--chain-id", str(chain_id), "--mnemonic", DEV_MNEMONIC]
    if state is not None:
        args += ["--state", str(state)]
    if block_time is not None:
        args += ["--block-time", str(block_time)]
    args += extra_args or []
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - owned by the process
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    if log_path:
        out.close()  # type: ignore[union-attr]
    url = f"http://{host}:{port}"
    node = Anvil(
        url=url, port=port, process=proc, log_path=log_path, accounts=dev_accounts(accounts)
    )
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DeployError(
                f"anvil exited with code {proc.returncode} during start-up",
                hint=f"see its log at {log_path}" if log_path else "is the port free?",
            )
        with contextlib.suppress(requests.RequestException, ValueError):
            if int(str(node.rpc("eth_chainId")), 16) == chain_id:
                return node
        time.sleep(0.05)
    node.stop()
    raise DeployError(f"anvil did not answer on {url} within {startup_timeout:.0f}s")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
