"""Run the explorer: the indexer in a background thread, the web app under uvicorn.

``Explorer`` is the whole thing as a context manager (the CLI and the tests use it):

    with Explorer(cfg) as ex:
        print(ex.url)     # http://127.0.0.1:8780
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.queries import Access
from veritrain.errors import ExplorerError, leaf

log = logging.getLogger(__name__)

DEFAULT_PORT = 8780


@leaf
class ServerStartError(ExplorerError):
    """The web server did not come up."""

    exit_code = 2
    host: str
    port: int


@dataclass(frozen=True)
class ExplorerConfig:
    """Everything the explorer needs; none of it is a secret."""

    #: JSON-RPC URL of the chain.
    rpc_url: str
    #: Kubo-compatible IPFS API (specs and leaves files are fetched from it); None: chain only.
    ipfs_api: str | None
    #: The deployment's addresses file.
    addresses_file: Path
    #: The SQLite index (created if missing; reused to resume).
    db_path: Path
    host: str = "127.0.0.1"
    #: 0 picks a free port.
    port: int = DEFAULT_PORT
    #: Seconds between two polls of the chain when idle.
    poll_s: float = 1.0
    #: Blocks an event must be under the head before it is indexed.
    confirmations: int = 0
    #: How often the pages refresh themselves, in milliseconds.
    live_ms: int = 2000


class Explorer:
    """Indexer thread + web server; ``url`` once entered."""

    def __init__(self, cfg: ExplorerConfig) -> None:
        self.cfg = cfg
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: Any = None
        self._client: Any = None
        self.indexer: Any = None
        self.fetcher: Any = None
        self.url = ""

    def __enter__(self) -> Explorer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        import uvicorn

        from explorer.app import create_app
        from explorer.indexer import Indexer, MetadataFetcher, follow, follow_metadata
        from ledger.chain import Chain
        from ledger.protocol import Addresses

        cfg = self.cfg
        addresses = Addresses.load(cfg.addresses_file)
        chain = Chain(cfg.rpc_url)
        self.indexer = Indexer(chain, addresses, cfg.db_path, confirmations=cfg.confirmations)
        self.indexer.sync()  # the first page already shows the chain as it is now
        self._spawn(follow, self.indexer, "explorer-indexer")
        if cfg.ipfs_api:
            from store.client import Client

            self._client = Client(cfg.ipfs_api, timeout=10.0, retries=1)
            self.fetcher = MetadataFetcher(cfg.db_path, self._client)
            self._spawn(follow_metadata, self.fetcher, "explorer-metadata")
        access = Access(cfg.rpc_url, cfg.ipfs_api or "", cfg.addresses_file.resolve())
        app = create_app(cfg.db_path, access, live_ms=cfg.live_ms)
        config = uvicorn.Config(
            app, host=cfg.host, port=cfg.port, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        web = threading.Thread(target=self._server.run, name="explorer-web", daemon=True)
        web.start()
        self._threads.append(web)
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not web.is_alive() or time.monotonic() > deadline:
                raise ServerStartError(
                    f"the explorer's web server did not start on {cfg.host}:{cfg.port}",
                    host=cfg.host,
                    port=cfg.port,
                    hint="is the port taken? pass another --port",
                )
            time.sleep(0.05)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://{cfg.host}:{port}"

    def _spawn(self, loop: Any, worker: Any, name: str) -> None:
        t = threading.Thread(
            target=loop,
            args=(worker,),
            name=name,
            daemon=True,
            kwargs={"interval": self.cfg.poll_s, "stop": self._stop},
        )
        t.start()
        self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.should_exit = True
        for t in self._threads:
            t.join(timeout=10)
        self._threads.clear()
        for worker in (self.indexer, self.fetcher):
            if worker is not None:
                worker.close()
        self.indexer = self.fetcher = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def wait(self) -> None:
        """Block until interrupted (Ctrl-C) or the web server stops."""
        try:
            while any(t.is_alive() for t in self._threads):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
