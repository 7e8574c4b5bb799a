"""`veritrain store add | get | pin | gc` against a running store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.server import ServerHandle, serve
from veritrain.cli.main import main

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[ServerHandle]:
    with serve(tmp_path / "repo") as handle:
        yield handle


def test_add_get_pin_gc_round_trip(store: ServerHandle, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "ckpt"
    src.mkdir()
    (src / "w.bin").write_bytes(os.urandom(17 << 20))  # above the progress-bar threshold
    (src / "meta.json").write_text("{}")
    assert main(["store", "add", str(src), "--api", store.url]) == 0
    cid = capsys.readouterr().out.strip().splitlines()[-1]
    assert cid.startswith("bafybei")
    assert main(["store", "add", str(src / "w.bin"), "--api", store.multiaddr]) == 0
    file_cid = capsys.readouterr().out.strip().splitlines()[-1]
    out = tmp_path / "out"
    assert main(["store", "get", cid, str(out), "--api", store.url]) == 0
    assert (out / "w.bin").read_bytes() == (src / "w.bin").read_bytes()
    assert main(["store", "pin", file_cid, "--api", store.url]) == 0
    assert main(["store", "gc", "--api", store.url]) == 0
    assert "removed 0 blocks" in capsys.readouterr().out


def test_unreachable_api_gives_hint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from store.server import free_port

    code = main(["store", "get", "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
                 str(tmp_path / "x"), "--api", f"127.0.0.1:{free_port()}"])
    assert code == 1
    err = capsys.readouterr().err
    assert "no IPFS RPC API reachable" in err and "veritrain store serve" in err
    assert not (tmp_path / "x").exists()
