"""A TCP proxy in front of a local server, for real outages in tests: clients connect to the
proxy's port; :meth:`Proxy.down` closes the listener and cuts every open connection (new
connections are refused, as from a crashed RPC node), :meth:`Proxy.up` listens again on the same
port. The server behind it (the session anvil) keeps running and mining. :meth:`Proxy.cut_after`
makes the outage start in the middle of a call: the next request that contains a marker (e.g.
``eth_sendRawTransaction``) reaches the server, and the proxy goes down instead of answering it,
as when an RPC node accepts a transaction and crashes before it replies."""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit

_ACCEPT_POLL_S = 0.1
_BUFFER = 65536


class Proxy:
    """Forwards ``127.0.0.1:<port>`` to ``target_url``'s host and port, byte for byte."""

    def __init__(self, target_url: str) -> None:
        u = urlsplit(target_url)
        if u.hostname is None or u.port is None:
            raise ValueError(f"{target_url!r} names no host and port to proxy")
        self.target = (u.hostname, u.port)
        self.scheme = u.scheme or "http"
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = int(probe.getsockname()[1])
        probe.close()
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._cut: bytes | None = None
        #: Connections refused or cut by :meth:`down` never count here: only those forwarded.
        self.forwarded = 0
        #: Requests that reached the server and whose answer was swallowed by :meth:`cut_after`.
        self.cut: list[bytes] = []
        self.up()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def is_up(self) -> bool:
        return self._listener is not None

    def up(self) -> None:
        """Listen (again) on the proxy's port."""
        if self._listener is not None:
            return
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        s.settimeout(_ACCEPT_POLL_S)
        self._stop = threading.Event()
        self._listener = s
        threading.Thread(target=self._accept, args=(s, self._stop), name="proxy-accept",
                         daemon=True).start()

    def down(self) -> None:
        """Stop listening and cut every open connection (in both directions)."""
        s, self._listener = self._listener, None
        if s is None:
            return
        self._stop.set()
        s.close()
        with self._lock:
            conns, self._conns = self._conns, set()
        for c in conns:
            _close(c)

    def close(self) -> None:
        self.down()

    def cut_after(self, marker: bytes) -> None:
        """Once: forward the next request containing ``marker``, then go down before its answer
        reaches the client."""
        self._cut = marker

    def _accept(self, listener: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            client.settimeout(None)
            server.settimeout(None)
            with self._lock:
                if stop.is_set():
                    _close(client)
                    _close(server)
                    return
                self._conns.update((client, server))
                self.forwarded += 1
            armed: list[bytes] = []  # this connection's request that is to go unanswered
            for a, b, up in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pipe, args=(a, b, up, armed), name="proxy-pipe",
                                 daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, upstream: bool,
              armed: list[bytes]) -> None:
        try:
            while data := src.recv(_BUFFER):
                marker = self._cut
                if upstream and marker is not None and marker in data:
                    self._cut = None
                    armed.append(data)
                elif not upstream and armed:
                    self.cut.extend(armed)
                    self.down()  # the server answered; the client never hears it
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for c in (src, dst):
                _close(c)
                with self._lock:
                    self._conns.discard(c)


def _close(c: socket.socket) -> None:
    with contextlib.suppress(OSError):
        c.shutdown(socket.SHUT_RDWR)
    c.close()
