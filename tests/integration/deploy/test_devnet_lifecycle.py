"""`veritrain devnet up/status/down` and `veritrain deploy` with real processes."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest


def test_devnet_up_down_up_keeps_state_and_stops_only_its_pids(tmp_path: Path) -> None:
    from deploy.devnet import ACCOUNTS, Devnet, DevnetNotRunningError
    from ledger.chain import Chain
    from ledger.keys import load_account
    from ledger.protocol import Addresses, Protocol
    from store.client import Client

    net = Devnet(tmp_path / "dn")
    info = net.up(log=lambda _m: None)
    try:
        assert net.status()["store_healthy"] and net.status()["block"] is not None
        assert stat.S_IMODE((tmp_path / "dn" / "password").stat().st_mode) == 0o600
        doc = json.loads((tmp_path / "dn" / "devnet.json").read_text())
        assert set(doc["accounts"]) == set(ACCOUNTS)
        env = (tmp_path / "dn" / "env").read_text()
        assert f"VERITRAIN_RPC_URL={info.rpc_url}" in env and "VERITRAIN_PASSWORD=" in env
        os.environ["VERITRAIN_PASSWORD"] = net.password()
        try:
            acct = load_account(info.keystore("node-honest"))
        finally:
            del os.environ["VERITRAIN_PASSWORD"]
        assert acct.address == info.address("node-honest")
        addrs = Addresses.load(info.addresses_file)
        p = Protocol(Chain(info.rpc_url, acct), addrs)
        assert p.balance() == 100_000 * 10**18
        p.deposit(123 * 10**18)
        with Client(info.ipfs_api) as c:
            cid = c.put_bytes(b"survives restarts")
        anvil_pid = doc["pids"]["anvil"]
    finally:
        stopped = net.down(log=lambda _m: None)
    assert stopped == ["store", "anvil"]
    assert not any(net.running().values())
    with pytest.raises(DevnetNotRunningError):
        Devnet(tmp_path / "elsewhere").info()
    from veritrain.cli.main import main

    assert (
        main(["devnet", "status", "--dir", str(tmp_path / "dn")])
        == DevnetNotRunningError.exit_code
        != 0
    )

    assert main(["devnet", "up", "--dir", str(tmp_path / "dn")]) == 0  # the CLI path, second start
    info2 = net.info()
    try:
        assert json.loads(info2.addresses_file.read_text()) == json.loads(
            info.addresses_file.read_text()
        )
        assert info2.doc["pids"]["anvil"] != anvil_pid
        p2 = Protocol(Chain(info2.rpc_url), Addresses.load(info2.addresses_file))
        assert p2.stake_info(info.address("node-honest")).staked == 123 * 10**18
        with Client(info2.ipfs_api) as c:
            assert c.get_bytes(cid) == b"survives restarts"
        # mixed mining: blocks advance on their own, transactions still mine at once
        b0 = p2.chain.block_number()
        assert _waits_for(lambda: p2.chain.block_number() >= b0 + 1, 30), "no block mined itself"
    finally:
        assert main(["devnet", "down", "--dir", str(tmp_path / "dn")]) == 0
    assert not any(net.running().values())


def _waits_for(cond: Callable[[], bool], timeout: float) -> bool:
    """True as soon as ``cond()`` holds; False after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_deploy_command_writes_a_verified_addresses_file(fresh_anvil, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.keys import write_keystore
    from ledger.protocol import Addresses
    from veritrain.cli.main import main

    ks = tmp_path / "deployer.json"
    write_keystore(fresh_anvil.accounts[0], ks, "pw")
    monkeypatch.setenv("VERITRAIN_PASSWORD", "pw")
    out = tmp_path / "addresses.json"
    assert main(["deploy", "--rpc", fresh_anvil.url, "--keystore", str(ks), "--out", str(out)]) == 0
    first = Addresses.load(out)
    assert first.chainId == 31337 and first.auditRegistry  # the registry is deployed and recorded
    out2 = tmp_path / "addresses2.json"
    assert main(["deploy", "--rpc", fresh_anvil.url, "--keystore", str(ks), "--token", first.token,
                 "--out", str(out2)]) == 0
    second = Addresses.load(out2)
    assert second.token == first.token and second.taskMarket != first.taskMarket
    bad = tmp_path / "bad.json"
    assert main(["deploy", "--rpc", fresh_anvil.url, "--keystore", str(ks), "--token",
                 "0x000000000000000000000000000000000000dEaD", "--out", str(bad)]) != 0
    assert not bad.exists()
