"""kill -9 during add: every block on disk still hashes to its CID, earlier pins survive; gc."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from store.client import Client
from store.server import serve, start_subprocess

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")
BOUNDARY = "veritrainboundary"


def slow_multipart(total: int, piece: int = 1 << 16) -> Iterator[bytes]:
    yield (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big\"\r\n"
           "Content-Type: application/octet-stream\r\n\r\n").encode()
    sent = 0
    while sent < total:
        yield os.urandom(piece)
        sent += piece
        time.sleep(0.0005)
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def block_files(repo: Path) -> list[Path]:
    return list((repo / "blocks").glob("*/*.data"))


def assert_blocks_hash_to_their_names(repo: Path) -> int:
    files = block_files(repo)
    for f in files:
        mh = base64.b32decode(f.stem + "=" * (-len(f.stem) % 8))
        assert mh[:2] == b"\x12\x20", f
        assert hashlib.sha256(f.read_bytes()).digest() == mh[2:], f"{f} does not hash to its name"
    return len(files)


def test_kill_9_during_add_keeps_blocks_valid_and_pins(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    keep = os.urandom(600_000)
    server = start_subprocess(repo)
    try:
        with Client(server.url) as client:
            kept_cid = client.put_bytes(keep)
        url = f"{server.url}/api/v0/add?cid-version=1&raw-leaves=true&pin=true"

        def upload() -> None:
            with contextlib.suppress(requests.RequestException):  # the server dies under us
                requests.post(url, data=slow_multipart(512 << 20), timeout=60,
                              headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})

        before = len(block_files(repo))
        thread = threading.Thread(target=upload, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while len(block_files(repo)) < before + 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(block_files(repo)) >= before + 20, "the add never wrote blocks"
        server.kill()  # SIGKILL mid-add
        thread.join(timeout=30)
    finally:
        server.stop()

    assert assert_blocks_hash_to_their_names(repo) >= before + 20
    with start_subprocess(repo) as again, Client(again.url) as client:
        assert client.is_pinned(kept_cid)
        assert client.get_bytes(kept_cid) == keep
        assert not any((repo / "tmp").iterdir()), "stale temp files survived the restart"
        removed = client.gc()  # the half-added file was never pinned: its blocks go
        assert removed >= 20
        assert client.get_bytes(kept_cid) == keep
    assert_blocks_hash_to_their_names(repo)


def test_gc_removes_only_unpinned(tmp_path: Path) -> None:
    shared = os.urandom(262144)
    a = shared + os.urandom(262144 * 2)  # pinned; shares its first chunk with b
    b = shared + os.urandom(262144)      # unpinned
    with serve(tmp_path / "repo") as handle, Client(handle.url) as client:
        cid_a = client.put_bytes(a)
        resp = requests.post(
            f"{handle.url}/api/v0/add",
            params={"cid-version": "1", "pin": "false"},
            files={"file": ("b", b)},
            timeout=10,
        )
        cid_b = resp.json()["Hash"]
        assert not client.is_pinned(cid_b)
        assert client.gc() == 2  # b's own leaf and b's root; the shared leaf stays
        assert client.get_bytes(cid_a) == a
        with pytest.raises(Exception, match="not found"):
            client.get_bytes(cid_b)
        assert client.gc() == 0
        client.unpin(cid_a)
        assert client.gc() == 4
