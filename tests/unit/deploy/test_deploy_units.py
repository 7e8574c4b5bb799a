"""deploy without processes: a devnet directory that holds no devnet, and what a devnet's
record tells the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploy.devnet import Devnet, DevnetInfo, DevnetNotRunningError


def test_devnet_info_of_an_empty_directory_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(DevnetNotRunningError) as info:
        Devnet(tmp_path).info()
    assert info.value.dir == str(tmp_path.resolve())
    assert "veritrain devnet up --dir" in info.value.hint


def test_devnet_status_of_an_empty_directory_runs_nothing(tmp_path: Path) -> None:
    status = Devnet(tmp_path).status()
    assert status == {"dir": str(tmp_path.resolve()), "anvil_running": False,
                      "store_running": False}


def test_devnet_status_ignores_a_stale_pid_file(tmp_path: Path) -> None:
    """A PID file left by a devnet that died (the PID now belongs to another process, here
    this test's own) is not taken for a running devnet."""
    import os

    (tmp_path / "anvil.pid").write_text(str(os.getpid()))
    (tmp_path / "store.pid").write_text("not a pid")
    assert Devnet(tmp_path).running() == {"anvil": False, "store": False}


def test_devnet_info_points_the_cli_at_the_devnet(tmp_path: Path) -> None:
    doc = {"rpcUrl": "http://127.0.0.1:8545", "ipfsApi": "/ip4/127.0.0.1/tcp/5001/http",
           "chainId": 31337, "accounts": {"node": {"address": "0xabc", "keystore": "/k/node.json"},
                                          "viewer": {"address": "0xdef"}}}
    (tmp_path / "devnet.json").write_text(json.dumps(doc))
    info = Devnet(tmp_path).info()
    assert isinstance(info, DevnetInfo) and info.chain_id == 31337
    assert info.env("node") == {"VERITRAIN_RPC_URL": "http://127.0.0.1:8545",
                                "VERITRAIN_IPFS_API": "/ip4/127.0.0.1/tcp/5001/http",
                                "VERITRAIN_ADDRESSES": str(tmp_path.resolve() / "addresses.json"),
                                "VERITRAIN_KEYSTORE": "/k/node.json"}
    assert "VERITRAIN_KEYSTORE" not in info.env("viewer")
    assert info.address("viewer") == "0xdef"
