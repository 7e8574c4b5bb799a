"""Adding and reading a 1 GiB file keeps the store's memory flat (peak RSS well under 300 MB)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from store.client import Client
from store.server import start_subprocess

pytestmark = [pytest.mark.heavy, pytest.mark.filterwarnings("ignore::FutureWarning")]
GIB = 1 << 30
PIECE = 1 << 20
LIMIT = 300 * 10**6


class PeakRSS:
    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def body(digest: hashlib._Hash) -> Iterator[bytes]:
    yield (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big\"\r\n"
           b"Content-Type: application/octet-stream\r\n\r\n")
    seed = os.urandom(PIECE)
    for i in range(GIB // PIECE):
        piece = i.to_bytes(8, "little") + seed[8:]  # distinct chunks without 1 GiB of urandom
        digest.update(piece)
        yield piece
    yield b"\r\n--B--\r\n"


def test_1gib_add_and_read_keep_rss_flat(tmp_path: Path) -> None:
    with start_subprocess(tmp_path / "repo") as server:
        sent = hashlib.sha256()
        peak = PeakRSS(server.proc.pid)
        resp = requests.post(f"{server.url}/api/v0/add", params={"cid-version": "1"},
                             data=body(sent), timeout=1200,
                             headers={"Content-Type": "multipart/form-data; boundary=B"})
        resp.raise_for_status()
        add_peak = peak.stop()
        cid = json.loads(resp.text.splitlines()[-1])["Hash"]
        assert add_peak < LIMIT, f"store RSS peaked at {add_peak / 1e6:.0f} MB during a 1 GiB add"

        peak = PeakRSS(server.proc.pid)
        got = hashlib.sha256()
        with requests.post(f"{server.url}/api/v0/cat", params={"arg": cid}, stream=True,
                           timeout=1200) as r:
            for chunk in r.iter_content(PIECE):
                got.update(chunk)
        assert got.digest() == sent.digest()
        cat_peak = peak.stop()
        assert cat_peak < LIMIT

        me = psutil.Process()
        before = me.memory_info().rss
        client_peak = PeakRSS(os.getpid())
        with Client(server.url) as client:
            out = client.get_dir(cid, tmp_path / "out.bin")
        get_growth = client_peak.stop() - before
        print(f"peak RSS: store add {add_peak / 1e6:.0f} MB, store cat {cat_peak / 1e6:.0f} MB, "
              f"client verified get +{get_growth / 1e6:.0f} MB")
        assert get_growth < LIMIT, "verified get held too much in memory"
        h = hashlib.sha256()
        with open(out, "rb") as fh:
            while piece := fh.read(PIECE):
                h.update(piece)
        assert h.digest() == sent.digest()
