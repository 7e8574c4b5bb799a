"""A local devnet in one directory: anvil + the embedded IPFS store, contracts, funded dev accounts.

Layout of the devnet directory (default ``.devnet/``)::

    devnet.json          what every command needs: RPC URL, chain id, IPFS API, addresses, accounts
    env                  ``source DIR/env``: VERITRAIN_* variables for the CLI (as the requester)
    addresses.json       the addresses file (``VERITRAIN_ADDRESSES``)
    password             keystore password of the dev accounts (0600; a throwaway devnet secret)
    keystores/<name>.json  encrypted keystores of the named dev accounts
    anvil.pid anvil.log anvil-state.json   the chain (state survives ``down``/``up``)
    store.pid store.log store-repo/        the embedded IPFS store
    explorer.pid explorer.log explorer.sqlite   the explorer, when started (``start_explorer``)

Anvil mines every transaction at once and also a block every second (``--block-time 1
--mixed-mining``), so challenge and jury windows, counted in blocks, pass in wall-clock time.
``down`` stops only the processes whose PIDs this directory recorded (and only if they still
run the command the devnet started).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.anvil import dev_accounts, free_port, pid_alive, start_anvil
from deploy.deployer import DeployConfig, deploy_all, with_audit_registry
from veritrain.errors import DeployError, leaf

#: Named dev accounts and their anvil mnemonic index (0 is the deployer and token holder).
ACCOUNTS: dict[str, int] = {
    "requester": 1, "node-honest": 2, "node-cheater": 3, "challenger": 4,
    "juror-1": 5, "juror-2": 6, "juror-3": 7,
}
#: VERI each named account receives from the deployer on the first ``up``.
FUND_VERI = 100_000
DEFAULT_DIR = Path(".devnet")
ANVIL_CMD_MARK = "anvil"
STORE_CMD_MARK = "store.server"
EXPLORER_CMD_MARK = "explorer"


@leaf
class DevnetNotRunningError(DeployError):
    """The devnet directory has no running devnet."""

    dir: str


@dataclass
class DevnetInfo:
    """The contents of ``devnet.json``."""

    dir: Path
    doc: dict[str, Any]

    @property
    def rpc_url(self) -> str:
        return str(self.doc["rpcUrl"])

    @property
    def ipfs_api(self) -> str:
        return str(self.doc["ipfsApi"])

    @property
    def chain_id(self) -> int:
        return int(self.doc["chainId"])

    @property
    def addresses_file(self) -> Path:
        return self.dir / "addresses.json"

    def keystore(self, name: str) -> Path:
        return Path(self.doc["accounts"][name]["keystore"])

    def address(self, name: str) -> str:
        return str(self.doc["accounts"][name]["address"])

    def env(self, name: str | None = None) -> dict[str, str]:
        """VERITRAIN_* variables that point the CLI at this devnet (as account ``name``)."""
        out = {"VERITRAIN_RPC_URL": self.rpc_url, "VERITRAIN_IPFS_API": self.ipfs_api,
               "VERITRAIN_ADDRESSES": str(self.addresses_file)}
        if name is not None and self.doc["accounts"][name].get("keystore"):
            out["VERITRAIN_KEYSTORE"] = str(self.keystore(name))
        return out


class Devnet:
    """Start, inspect and stop the devnet that lives in ``dir``."""

    def __init__(self, dir: str | Path = DEFAULT_DIR) -> None:
        self.dir = Path(dir).resolve()

    # ---- paths ---------------------------------------------------------------------------
    def _p(self, name: str) -> Path:
        return self.dir / name

    @property
    def info_file(self) -> Path:
        return self._p("devnet.json")

    def info(self) -> DevnetInfo:
        try:
            return DevnetInfo(self.dir, json.loads(self.info_file.read_text()))
        except FileNotFoundError:
            raise DevnetNotRunningError(f"no devnet in {self.dir} (no devnet.json)",
                                        dir=str(self.dir),
                                        hint="start one with `veritrain devnet up --dir "
                                             f"{self.dir}`") from None

    def password(self) -> str:
        return self._p("password").read_text().strip()

    # ---- processes -----------------------------------------------------------------------
    def _pid(self, name: str) -> int | None:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(self._p(f"{name}.pid").read_text().strip())
        return None

    def _ours(self, pid: int | None, mark: str) -> bool:
        """The PID runs and its command line is the one we started (not a reused PID)."""
        if pid is None or not pid_alive(pid):
            return False
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            cmd = raw.replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return False
        return mark in cmd and str(self.dir) in cmd

    def running(self) -> dict[str, bool]:
        return {"anvil": self._ours(self._pid("anvil"), ANVIL_CMD_MARK),
                "store": self._ours(self._pid("store"), STORE_CMD_MARK)}

    def _previous_port(self, key: str) -> int | None:
        with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
            return int(json.loads(self.info_file.read_text())["ports"][key])
        return None

    def _port(self, key: str) -> int:
        """The port this devnet used before if it is free again (stable URLs), else a free one."""
        import socket

        port = self._previous_port(key)
        if port:
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is fine
                try:
                    s.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    pass
        return free_port()

    def _start_anvil(self) -> tuple[str, int]:
        port = self._port("anvil")
        node = start_anvil(port=port, state=self._p("anvil-state.json"),
                           log_path=self._p("anvil.log"),
                           block_time=1, extra_args=["--mixed-mining", "--state-interval", "5"])
        self._p("anvil.pid").write_text(f"{node.pid}\n")
        return node.url, port

    def _start_store(self) -> tuple[str, int]:
        from store.server import healthy

        port = self._port("store")
        repo = self._p("store-repo")
        log = open(self._p("store.log"), "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen([sys.executable, "-m", STORE_CMD_MARK, "--repo", str(repo),
                                 "--api", f"127.0.0.1:{port}"],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self._p("store.pid").write_text(f"{proc.pid}\n")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise DeployError("the IPFS store exited with code "
                                  f"{proc.returncode} during start-up",
                                  hint=f"see {self._p('store.log')}")
            if healthy(url, timeout=0.5):
                return url, port
            time.sleep(0.05)
        raise DeployError(f"the IPFS store did not answer on {url} within 30s",
                          hint=f"see {self._p('store.log')}")

    # ---- up / status / down ---------------------------------------------------------------
    def up(self, config: DeployConfig | None = None, log: Any = print, *,
           keystores: bool = True) -> DevnetInfo:
        """Start what is not running; deploy and fund on the first start; write devnet.json.

        ``keystores=False`` skips writing the (slow, scrypt-encrypted) keystores: for in-process
        users such as the demo's test, which sign with the dev keys directly.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        run = self.running()
        if run["anvil"] and run["store"] and self.info_file.is_file():
            log(f"devnet in {self.dir} is already running")
            return self.info()
        try:
            if run["anvil"]:
                rpc_url = self.info().rpc_url
                anvil_port = int(rpc_url.rsplit(":", 1)[1])
            else:
                rpc_url, anvil_port = self._start_anvil()
                log(f"anvil: {rpc_url} (pid {self._pid('anvil')}, log {self._p('anvil.log')})")
            if run["store"]:
                store_url = self.info().ipfs_api
                store_port = int(store_url.rsplit(":", 1)[1])
            else:
                store_url, store_port = self._start_store()
                log(f"IPFS store: {store_url} (pid {self._pid('store')}, log "
                    f"{self._p('store.log')})")
            doc = self._provision(rpc_url, config, log, keystores)
        except BaseException:
            self.down(log=lambda *_: None)
            raise
        doc.update({"dir": str(self.dir), "rpcUrl": rpc_url, "ipfsApi": store_url,
                    "ports": {"anvil": anvil_port, "store": store_port},
                    "pids": {"anvil": self._pid("anvil"), "store": self._pid("store")}})
        tmp = self.info_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        tmp.replace(self.info_file)
        info = DevnetInfo(self.dir, doc)
        lines = [f"export {k}={v}" for k, v in info.env("requester").items()]
        lines.append(f'export VERITRAIN_PASSWORD="$(cat {self._p("password")})"  # '
                     'throwaway devnet secret')
        self._p("env").write_text("# source this file to point veritrain at the devnet\n"
                                  + "\n".join(lines) + "\n")
        return info

    def _provision(self, rpc_url: str, config: DeployConfig | None, log: Any,
                   keystores: bool = True) -> dict[str, Any]:
        """Contracts, password, keystores and funding (each only once per devnet)."""
        from ledger.chain import Chain
        from ledger.keys import write_keystore
        from ledger.protocol import Addresses

        keys = dev_accounts(1 + max(ACCOUNTS.values()))
        chain = Chain(rpc_url, keys[0])
        addr_file = self._p("addresses.json")
        addresses = None
        if addr_file.is_file():
            old = Addresses.load(addr_file)
            # a file without a referee predates the market's two adjudicators: deploy afresh
            if old.chainId == chain.chain_id and old.referee and all(
                    chain.w3.eth.get_code(chain.w3.to_checksum_address(a))
                    for a in (old.token, old.stakeManager, old.taskMarket, old.adjudicator)):
                addresses = old
                log(f"contracts: reusing the deployment in {addr_file}")
                if not old.auditRegistry:  # written before audit attestations existed
                    addresses = with_audit_registry(chain, old, config)
                    addresses.save(addr_file)
                    log(f"contracts: added an AuditRegistry ({addresses.auditRegistry})")
        first = addresses is None
        if addresses is None:
            addresses = deploy_all(chain, config)
            addresses.save(addr_file)
            log(f"contracts: deployed (TaskMarket {addresses.taskMarket}) -> {addr_file}")
        pw_file = self._p("password")
        if not pw_file.is_file():
            fd = os.open(pw_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(18) + "\n")
        password = self.password()
        accounts: dict[str, Any] = {}
        token = chain.contract("VeriToken", addresses.token)
        for name, index in ACCOUNTS.items():
            acct = keys[index]
            ks = self._p("keystores") / f"{name}.json"
            if keystores and not ks.is_file():
                write_keystore(acct, ks, password)
            if first:
                token.transact("transfer", acct.address, FUND_VERI * 10**18)
            accounts[name] = {"address": acct.address,
                              "keystore": str(ks) if ks.is_file() else None,
                              "index": index}
        if first:
            log(f"accounts: {', '.join(ACCOUNTS)} funded with {FUND_VERI:,} VERI each"
                + (f"; keystores in {self._p('keystores')}" if keystores else ""))
        return {"chainId": chain.chain_id, "addresses": json.loads(addr_file.read_text()),
                "addressesFile": str(addr_file), "passwordFile": str(pw_file),
                "deployer": {"address": keys[0].address, "index": 0}, "accounts": accounts}

    def status(self) -> dict[str, Any]:
        """What runs, and whether it answers (block number, store health)."""
        from store.server import healthy

        out: dict[str, Any] = {"dir": str(self.dir),
                               **{f"{k}_running": v for k, v in self.running().items()}}
        if not self.info_file.is_file():
            return out
        info = self.info()
        out.update(rpc_url=info.rpc_url, ipfs_api=info.ipfs_api, chain_id=info.chain_id)
        out["store_healthy"] = bool(out["store_running"]) and healthy(info.ipfs_api)
        out["block"] = None
        if out["anvil_running"]:
            import requests

            with contextlib.suppress(requests.RequestException, ValueError, KeyError):
                r = requests.post(info.rpc_url, json={"jsonrpc": "2.0", "id": 1,
                                                      "method": "eth_blockNumber",
                                                      "params": []}, timeout=5)
                out["block"] = int(r.json()["result"], 16)
        return out

    def explorer_command(self, info: DevnetInfo) -> list[str]:
        """The ``veritrain explorer`` command line for this devnet (no key in it)."""
        return ["veritrain", "explorer", "--rpc", info.rpc_url, "--ipfs", info.ipfs_api,
                "--addresses", str(info.addresses_file), "--db", str(self._p("explorer.sqlite"))]

    def start_explorer(self, port: int = 8780) -> str:
        """Run the explorer in the background (stopped by ``down``); returns its URL. ``port``:
        the one to use if it is free (0 or taken: any free port)."""
        import socket

        import requests

        info = self.info()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                port = 0
        port = port or free_port()
        argv = [sys.executable, "-m", "veritrain.cli.main", *self.explorer_command(info)[1:],
                "--port", str(port)]
        log = open(self._p("explorer.log"), "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self._p("explorer.pid").write_text(f"{proc.pid}\n")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise DeployError(f"the explorer exited with code {proc.returncode} during "
                                  "start-up",
                                  hint=f"see {self._p('explorer.log')}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(url + "/api/overview", timeout=1).ok:
                    return url
            time.sleep(0.2)
        raise DeployError(f"the explorer did not answer on {url} within 60s",
                          hint=f"see {self._p('explorer.log')}")

    def down(self, log: Any = print) -> list[str]:
        """Stop this devnet's explorer, anvil and store (SIGTERM, then SIGKILL); returns what was
        stopped."""
        stopped = []
        for name, mark in (("explorer", EXPLORER_CMD_MARK), ("store", STORE_CMD_MARK),
                           ("anvil", ANVIL_CMD_MARK)):
            pid = self._pid(name)
            if self._ours(pid, mark):
                _terminate(pid)  # type: ignore[arg-type]
                stopped.append(name)
                log(f"{name}: stopped (pid {pid})")
            with contextlib.suppress(FileNotFoundError):
                self._p(f"{name}.pid").unlink()
        return stopped


def _terminate(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM (anvil dumps its state on the way out), SIGKILL if it does not exit in time."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
