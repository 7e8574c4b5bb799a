"""The ledger against a real anvil: deploy, transact, read events, decode custom-error reverts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from eth_account import Account

from deploy.anvil import pid_alive, start_anvil
from ledger.chain import Chain
from ledger.errors import ContractRevertError, RpcUnavailableError, revert_error


@pytest.fixture
def chain(anvil):
    return Chain(anvil.url, anvil.accounts[0])


def test_deploy_transact_and_read_event(chain):
    probe = chain.deploy("Probe")
    receipt = probe.transact("store", 42)
    assert receipt["status"] == 1
    events = probe.events(
        "Stored", from_block=receipt["blockNumber"], to_block=receipt["blockNumber"]
    )
    assert [(e["args"]["who"], e["args"]["value"]) for e in events] == [(chain.address, 42)]
    assert probe.decode_events(receipt, "Stored")[0]["args"]["value"] == 42


def test_custom_error_revert_is_decoded_with_arguments(chain):
    probe = chain.deploy("Probe")
    with pytest.raises(revert_error("TooBig")) as info:
        probe.transact("store", 5000)
    err = info.value
    assert isinstance(err, ContractRevertError)
    assert err.name == "TooBig"
    assert err.error_args == {"value": 5000, "max": 1000}
    assert "TooBig(value=5000, max=1000)" in str(err)


def test_mined_failure_is_decoded_too(chain):
    """A tx sent with a fixed gas limit (no estimate) fails on-chain; the reason is still
    recovered."""
    probe = chain.deploy("Probe")
    with pytest.raises(revert_error("TooBig")):
        probe.transact("store", 1001, gas=100_000)


def test_nonces_stay_in_order_over_many_transactions(chain):
    probe = chain.deploy("Probe")
    blocks = [probe.transact("store", i)["blockNumber"] for i in range(10)]
    assert blocks == sorted(blocks)
    assert chain.w3.eth.get_transaction_count(chain.address) >= 11


def test_missing_rpc_is_a_clear_error():
    from deploy.anvil import free_port

    chain = Chain(f"http://127.0.0.1:{free_port()}", retries=1, backoff=0.01)
    with pytest.raises(RpcUnavailableError, match="no EVM JSON-RPC answers"):
        chain.block_number()


def test_anvil_is_stopped_by_pid():
    node = start_anvil()
    pid = node.pid
    assert pid_alive(pid)
    node.stop()
    node.process.wait(timeout=5)
    assert node.process.poll() is not None


def test_keystore_round_trip_and_wrong_password(tmp_path, monkeypatch):
    from ledger.errors import KeyUnavailableError
    from ledger.keys import load_account, new_keystore

    monkeypatch.setenv("VERITRAIN_PASSWORD", "correct horse")
    address = new_keystore(tmp_path / "key.json", prompt=False)
    assert load_account(tmp_path / "key.json", prompt=False).address == address
    assert oct((tmp_path / "key.json").stat().st_mode & 0o777) == "0o600"
    monkeypatch.setenv("VERITRAIN_PASSWORD", "wrong")
    with pytest.raises(KeyUnavailableError, match="wrong password"):
        load_account(tmp_path / "key.json", prompt=False)


def test_cli_errors_are_one_line_not_tracebacks(tmp_path):
    """A wrong key and a missing RPC give a clear message and a non-zero exit, no traceback."""
    key = tmp_path / "key.json"
    key.write_text(json.dumps(Account.encrypt(Account.create().key, "pw")))
    env = {"VERITRAIN_PASSWORD": "not-it", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "veritrain.cli.main", "account", "show", "--keystore", str(key)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode != 0
    assert "wrong password" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_broken_solidity_is_a_one_line_build_error(tmp_path):
    """`veritrain contracts build` on a broken source names the compiler error, no traceback."""
    from ledger.foundry import ROOT

    (tmp_path / "contracts" / "src").mkdir(parents=True)
    (tmp_path / "contracts" / "src" / "Broken.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\ncontract Broken { function f( "
        "}\n"
    )
    (tmp_path / "foundry.toml").write_text(
        '[profile.default]\nsrc = "contracts/src"\nout = "out"\nsolc = "tools/solc"\noffline = '
        'true\n'
    )
    (tmp_path / "tools").symlink_to(ROOT / "tools")
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    proc = subprocess.run(
        [sys.executable, "-m", "veritrain.cli.main", "contracts", "build", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "forge build failed" in proc.stderr
    assert "Traceback" not in proc.stderr
