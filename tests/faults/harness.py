"""A whole veritrain deployment as separate processes, for kill -9 fault injection.

Processes: anvil (1 s blocks), the embedded store (``python -m store.server``), the operator
daemon (``veritrain node run``), the auditor (``veritrain challenger run``) and three jurors
(``veritrain juror run``). Any of them can be SIGKILLed and restarted with the same state:
daemons keep their journals under their own $VERITRAIN_HOME, the store keeps its repo, and
anvil's chain is dumped just before the kill and loaded into the restarted anvil on the same
port (what a crashed but persistent RPC node looks like to its clients: an outage).

Accounts: 0 deployer and requester, 2 node, 4 challenger, 6/7/8 jurors, 3 a cheating node
(in-process, tests/support/actors.py) used by the dispute scenarios.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

E18 = 10**18
NODE, CHEATER, CHALLENGER, JURORS = 2, 3, 4, (6, 7, 8)
DAEMONS = ("node", "challenger", "juror0", "juror1", "juror2")


@dataclass
class Proc:
    name: str
    cmd: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    kills: int = 0

    def start(self) -> None:
        with open(self.log, "ab") as fh:
            self.popen = subprocess.Popen(self.cmd, env=self.env, stdout=fh, stderr=fh,
                                          start_new_session=True)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> None:
        if self.alive():
            os.kill(self.popen.pid, signal.SIGKILL)  # type: ignore[union-attr]
            self.popen.wait(timeout=30)  # type: ignore[union-attr]
            self.kills += 1

    def stop(self) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            try:
                self.popen.wait(timeout=15)  # type: ignore[union-attr]
            except subprocess.TimeoutExpired:
                self.popen.kill()  # type: ignore[union-attr]
                self.popen.wait(timeout=15)  # type: ignore[union-attr]


@dataclass
class Cluster:
    root: Path
    anvil: Any = None
    store: Any = None
    store_port: int = 0
    addresses: Any = None
    published: Any = None
    procs: dict[str, Proc] = field(default_factory=dict)
    injected: list[str] = field(default_factory=list)

    # ---- start ---------------------------------------------------------------------------
    def start(self, spec: Any, teacher: Path, dataset: Path) -> None:
        from deploy.anvil import start_anvil
        from deploy.deployer import DeployConfig, JuryConfig, deploy_all
        from ledger.chain import Chain
        from materials import publish
        from store.client import Client
        from store.server import free_port, start_subprocess

        self.root.mkdir(parents=True, exist_ok=True)
        self.anvil = start_anvil(block_time=1)
        self.store_port = free_port()
        self.store = start_subprocess(self.root / "repo", port=self.store_port)
        chain = Chain(self.anvil.url, self.anvil.accounts[0])
        self.addresses = deploy_all(chain, DeployConfig(jury=JuryConfig(
            commit_window=20, reveal_window=20, draw_delay=2)))
        self.addresses.save(self.root / "addresses.json")
        deployer = self.protocol(0)
        for i in (NODE, CHEATER, CHALLENGER, *JURORS):
            deployer.token.transact("transfer", self.anvil.accounts[i].address, 20_000 * E18)
        self.protocol(NODE).deposit(2000 * E18)  # the operator stakes before running its daemon
        with Client(self.api) as client:
            self.published = publish(client, spec, teacher, dataset)
        for name, args in (("node", ["node", "run", "--no-progress", "--json-logs",
                                     "--poll", "0.5"]),
                           ("challenger", ["challenger", "run", "--probability", "1",
                                           "--poll", "0.5"]),
                           *((f"juror{i}", ["juror", "run", "--poll", "0.5"]) for i in range(3))):
            account = {"node": NODE, "challenger": CHALLENGER}.get(name) or JURORS[int(name[-1])]
            home = self.root / name
            home.mkdir(exist_ok=True)
            env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
            env.update({"VERITRAIN_RPC_URL": self.anvil.url, "VERITRAIN_IPFS_API": self.api,
                        "VERITRAIN_ADDRESSES": str(self.root / "addresses.json"),
                        "VERITRAIN_HOME": str(home),
                        "VERITRAIN_PRIVATE_KEY":
                            "0x" + bytes(self.anvil.accounts[account].key).hex()})
            env.pop("VERITRAIN_CRASH_POINT", None)
            self.procs[name] = Proc(name, [sys.executable, "-m", "veritrain.cli.main", *args], env,
                                    self.root / f"{name}.log")
        for p in self.procs.values():
            p.start()

    @property
    def api(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.store_port}/http"

    def protocol(self, i: int) -> Any:
        from ledger.chain import Chain
        from ledger.protocol import Protocol

        return Protocol(Chain(self.anvil.url, self.anvil.accounts[i], retries=12, backoff=0.25),
                        self.addresses)

    # ---- faults ----------------------------------------------------------------------------
    def kill(self, victim: str) -> None:
        """SIGKILL ``victim`` (a daemon, "store" or "anvil") and bring it back with its state, or
        "reorg" the chain by two blocks."""
        self.injected.append(victim)
        if victim in self.procs:
            self.procs[victim].kill9()
            time.sleep(0.5)
            self.procs[victim].start()
        elif victim == "store":
            from store.server import start_subprocess

            self.store.kill()
            time.sleep(1.0)
            self.store = start_subprocess(self.root / "repo", port=self.store_port)
        elif victim == "anvil":
            from deploy.anvil import start_anvil

            state = self.anvil.rpc("anvil_dumpState")
            port = self.anvil.port
            os.kill(self.anvil.process.pid, signal.SIGKILL)
            self.anvil.process.wait(timeout=30)
            time.sleep(1.0)
            self.anvil = start_anvil(port=port, block_time=1)
            self.anvil.rpc("anvil_loadState", state)
        elif victim == "reorg":
            # a 2-block reorg: same height, new hashes; the transactions of those blocks are
            # dropped (a harsh reorg: nobody re-broadcasts them for the daemons)
            self.anvil.rpc("anvil_reorg", 2, [])
        else:
            raise ValueError(victim)

    def revive_dead(self) -> list[str]:
        """Daemons that exited on their own (a crash we did not cause) are restarted and
        reported."""
        dead = [n for n, p in self.procs.items() if not p.alive() and n != "node"]
        for n in dead:
            self.procs[n].start()
        return dead

    def wait(self, until: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if until():
                    return
            except Exception:
                pass
            time.sleep(1.0)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for "
                             f"{what}; logs in {self.root}")

    def stop(self) -> None:
        for p in self.procs.values():
            p.stop()
        if self.store is not None:
            self.store.stop()
        if self.anvil is not None:
            self.anvil.stop()

    def tail(self, name: str, n: int = 3000) -> str:
        p = self.root / f"{name}.log"
        return p.read_text(errors="replace")[-n:] if p.exists() else ""


def post_task(c: Cluster, reward: int = 50 * E18, window: int = 6, deadline: int = 400) -> int:
    spec = c.published.spec
    return c.protocol(0).create_task(c.published.spec_cid, c.published.spec_hash, reward,
                                     total_steps=spec.total_steps, segment_steps=spec.segment_steps,
                                     challenge_window=window, segment_deadline=deadline,
                                     node_stake=1000 * E18)


def events(c: Cluster, contract: str, name: str, **filters: Any) -> list[Any]:
    p = c.protocol(0)
    return getattr(p, contract).events(name, from_block=int(c.addresses.deployBlock), **filters)


def summary(c: Cluster) -> dict[str, Any]:
    return {"injected": list(c.injected), "kills": {n: p.kills for n, p in c.procs.items()}}


def dump(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, indent=1, default=str))
