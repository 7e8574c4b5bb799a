"""The client retries connection errors with backoff: a store that comes up late is still used."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from store.client import Client
from store.errors import StoreUnavailableError
from store.server import free_port, serve

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def test_store_starting_late_is_reached_by_retries(tmp_path: Path) -> None:
    port = free_port()
    handles = []

    def start_later() -> None:
        time.sleep(0.6)
        handles.append(serve(tmp_path / "repo", "127.0.0.1", port))

    thread = threading.Thread(target=start_later)
    thread.start()
    try:
        with Client(f"127.0.0.1:{port}", retries=6, backoff=0.2) as client:
            cid = client.put_bytes(b"hello world\n")  # first attempts are refused
            assert cid == "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
            assert client.get_bytes(cid) == b"hello world\n"
    finally:
        thread.join()
        for h in handles:
            h.stop()


def test_no_store_gives_clear_error_after_retries() -> None:
    port = free_port()
    started = time.monotonic()
    with Client(f"http://127.0.0.1:{port}", retries=2, backoff=0.1) as client, \
            pytest.raises(StoreUnavailableError) as info:
        client.version()
    assert time.monotonic() - started >= 0.3  # 0.1 + 0.2 of backoff
    assert "veritrain store serve" in info.value.hint and "VERITRAIN_IPFS_API" in info.value.hint
    assert info.value.api == f"/ip4/127.0.0.1/tcp/{port}/http"
