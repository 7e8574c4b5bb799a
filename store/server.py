"""The embedded store's HTTP server: Kubo's RPC (`POST /api/v0/<command>`) over a local repo.

Start it with ``veritrain store serve --repo DIR --api 127.0.0.1:5001`` or from Python::

    handle = serve("/path/to/repo", "127.0.0.1", 0)   # port 0: pick a free port
    handle.url   # "http://127.0.0.1:PORT";  handle.multiaddr  # "/ip4/127.0.0.1/tcp/PORT/http"
    handle.stop()

or as a separate process (tests, devnet): ``start_subprocess(repo)`` returns a handle with the
same ``url``/``stop()``. Binds loopback unless told otherwise; errors come back in Kubo's shape
``{"Message": ..., "Code": 0|1, "Type": "error"}``: HTTP 400 / Code 1 for malformed requests,
HTTP 500 / Code 0 when the command fails, 404 unknown command, 405 not POST (Kubo's RPC rules).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from store.errors import (
    BadRequestError,
    RepoError,
    StoreError,
    StoreUnavailableError,
)
from store.http_io import BodyReader, ChunkedWriter
from store.repo import Repo
from store.rpc import COMMANDS, Reply, Request

MAX_URL = 8192
#: Bodies of commands other than add/block/put are refused past this size.
MAX_SMALL_BODY = 1 << 20
#: Upper bound for one add request (override with VERITRAIN_STORE_MAX_ADD).
MAX_ADD_BODY = int(os.environ.get("VERITRAIN_STORE_MAX_ADD", str(64 << 30)))
#: BadRequestError reasons that are malformed requests (HTTP 400, Code 1) rather than failures.
CLIENT_REASONS = frozenset({"bad-option", "missing-arg", "content-type", "multipart", "headers",
                            "truncated", "chunked", "too-large", "path", "api"})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "veritrain-store/0.1.0"
    timeout = 300  # seconds a connection may sit idle mid-request before it is dropped
    repo: Repo  # set on the subclass made by make_server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle + the client's
        # delayed ACK add ~40 ms to every small response (block/get per block!).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet by default
        if os.environ.get("VERITRAIN_STORE_LOG"):
            super().log_message(format, *args)

    def _error(self, status: int, message: str, code: int) -> None:
        body = json.dumps({"Message": message, "Code": code, "Type": "error"}).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.close_connection = True
        self._error(405, f"{self.command} not allowed; the RPC API takes POST", 1)

    do_PUT = do_DELETE = do_HEAD = do_GET

    def do_POST(self) -> None:
        if len(self.path) > MAX_URL:
            self.close_connection = True
            self._error(414, "request URL too long", 1)
            return
        url = urllib.parse.urlsplit(self.path)
        name = url.path.removeprefix("/api/v0/").strip("/")
        if not url.path.startswith("/api/v0/") or name not in COMMANDS:
            self.close_connection = True
            self._error(404, f"unknown command {url.path!r}", 1)
            return
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        try:
            length = int(self.headers.get("Content-Length", "0")) if not chunked else None
        except ValueError:
            self.close_connection = True
            self._error(400, "bad Content-Length", 1)
            return
        limit = MAX_ADD_BODY if name == "add" else MAX_SMALL_BODY * 3
        if length is not None and length > limit:
            self.close_connection = True
            self._error(413, f"request body over {limit} bytes", 1)
            return
        body = BodyReader(self.rfile, length, chunked, limit)  # type: ignore[arg-type]
        args = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        request = Request(self.repo, args, body, self.headers.get("Content-Type", ""))
        try:
            reply = COMMANDS[name](request)
            body.drain()
        except StoreError as exc:
            self.close_connection = True
            # Kubo: 400 (Code 1) for malformed requests and bad options, 500 (Code 0) when the
            # command itself fails (bad CID, missing block, not pinned, ...).
            client = isinstance(exc, BadRequestError) and exc.reason in CLIENT_REASONS
            self._error(400 if client else 500, str(exc), 1 if client else 0)
            return
        except Exception as exc:  # a bug must not kill the server thread silently
            self.close_connection = True
            traceback.print_exc()
            self._error(500, f"internal error: {type(exc).__name__}: {exc}", 2)
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        if reply.data is not None:
            self.send_response(200)
            self.send_header("Content-Type", reply.headers.get("Content-Type", "text/plain"))
            self.send_header("Content-Length", str(len(reply.data)))
            self.end_headers()
            self.wfile.write(reply.data)
            return
        if reply.json is not None:
            data = json.dumps(reply.json).encode() + b"\n"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        ctype = reply.headers.pop("Content-Type", "application/json" if reply.ndjson is not None
                                  else "text/plain")
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Trailer", "X-Stream-Error")
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        out = ChunkedWriter(self.wfile)  # type: ignore[arg-type]
        try:
            if reply.ndjson is not None:
                for item in reply.ndjson:
                    out.write(json.dumps(item).encode() + b"\n")
            elif reply.raw is not None:
                for piece in reply.raw:
                    out.write(piece)
            elif reply.writer is not None:
                reply.writer(out)  # type: ignore[arg-type]
        except (StoreError, ValueError) as exc:
            # Headers are gone: like Kubo, end the stream with an X-Stream-Error trailer.
            self.close_connection = True
            self.wfile.write(b"0\r\nX-Stream-Error: " + str(exc).encode()[:1000] + b"\r\n\r\n")
            return
        out.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def make_server(repo: Repo, host: str = "127.0.0.1", port: int = 5001) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"repo": repo})
    try:
        return _Server((host, port), handler)
    except OSError as exc:
        raise RepoError(f"cannot listen on {host}:{port}: {exc}", repo=str(repo.root),
                        hint="pick another --api port or stop what is using it") from None


class _Address:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def multiaddr(self) -> str:
        return f"/ip4/{self.host}/tcp/{self.port}/http"


@dataclass
class ServerHandle(_Address):
    """A running store: ``url``, ``multiaddr``, ``stop()``; usable as a context manager."""

    host: str
    port: int
    _stop: Any

    def stop(self) -> None:
        self._stop()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(repo: str | Path, host: str = "127.0.0.1", port: int = 0) -> ServerHandle:
    """Start the store in this process (a background thread); ``port=0`` picks a free port."""
    r = Repo(repo)
    try:
        server = make_server(r, host, port)
    except BaseException:
        r.close()
        raise
    thread = threading.Thread(target=server.serve_forever, name="veritrain-store", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        r.close()

    return ServerHandle(host, server.server_address[1], stop)


def healthy(url: str, timeout: float = 1.0) -> bool:
    """Whether a Kubo-compatible RPC API answers `version` at ``url`` (http://host:port)."""
    try:
        req = urllib.request.Request(url.rstrip("/") + "/api/v0/version", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status == 200 and "Version" in json.loads(resp.read())
    except (OSError, ValueError):
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def start_subprocess(repo: str | Path, host: str = "127.0.0.1", port: int | None = None,
                     timeout: float = 30.0, via_cli: bool = False) -> SubprocessHandle:
    """Run the store on ``repo`` in a child process and wait until it answers.

    The child is ``python -m store.server`` (light), or with ``via_cli`` the full
    ``veritrain store serve`` command line.
    """
    port = port or free_port(host)
    entry = ["-m", "veritrain.cli.main", "store", "serve"] if via_cli else ["-m", "store.server"]
    Path(repo).mkdir(parents=True, exist_ok=True)
    log = Path(repo) / "server.log"  # a file, not a pipe: a full pipe would stall the server
    with open(log, "ab") as log_fh:
        proc = subprocess.Popen(
            [sys.executable, *entry, "--repo", str(repo), "--api", f"{host}:{port}"],
            stdout=log_fh,
            stderr=log_fh,
        )
    handle = SubprocessHandle(host, port, proc)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = log.read_text(errors="replace")[-500:]
            raise StoreUnavailableError(f"store process exited with {proc.returncode}: {err}",
                                        api=handle.url)
        if healthy(handle.url, timeout=0.5):
            return handle
        time.sleep(0.05)
    handle.stop()
    raise StoreUnavailableError(f"store process did not answer within {timeout}s", api=handle.url)


@dataclass
class SubprocessHandle(_Address):
    """A store in a child process: ``url``, ``multiaddr``, ``stop()``, ``kill()``, ``proc``."""

    host: str
    port: int
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """SIGKILL, as in a crash (tests of durability)."""
        self.proc.kill()
        self.proc.wait()

    def __enter__(self) -> SubprocessHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def parse_api(api: str) -> tuple[str, int]:
    host, _, port = api.rpartition(":")
    if not host or not port.isdigit():
        raise BadRequestError(f"--api must be HOST:PORT, got {api!r}", reason="api")
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="store.server", description=__doc__.splitlines()[0])
    ap.add_argument("--repo", required=True)
    ap.add_argument("--api", default="127.0.0.1:5001")
    ns = ap.parse_args(argv)
    host, port = parse_api(ns.api)
    r = Repo(ns.repo)
    server = make_server(r, host, port)
    print(
        f"veritrain store: repo {ns.repo}, API http://{host}:{server.server_address[1]}", flush=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        r.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
