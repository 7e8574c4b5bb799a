"""`veritrain explorer` from the CLI: clear errors on bad input; over a devnet it runs as a
background process that `devnet down` stops (what `veritrain demo --keep` leaves running)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    return " ".join(capsys.readouterr().err.split())  # the console wraps long lines


def test_explorer_cli_without_an_addresses_file_says_what_to_do(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from veritrain.cli.main import main
    from veritrain.errors import ConfigError

    monkeypatch.delenv("VERITRAIN_ADDRESSES", raising=False)
    assert main(["explorer"]) == ConfigError.exit_code
    assert "--addresses" in _err(capsys)
    missing = tmp_path / "nope.json"
    assert main(["explorer", "--addresses", str(missing)]) == ConfigError.exit_code
    assert "does not exist" in _err(capsys)
    monkeypatch.setenv("VERITRAIN_EXPLORER_PORT", "eighty")
    assert main(["explorer", "--addresses", str(missing)]) == ConfigError.exit_code
    assert "explorer_port must be an integer" in _err(capsys)


def test_devnet_explorer_runs_in_the_background_until_devnet_down(tmp_path: Path) -> None:
    from deploy.devnet import Devnet
    from ledger.chain import Chain
    from ledger.protocol import Addresses, Protocol

    net = Devnet(tmp_path / "dn")
    info = net.up(log=lambda _m: None, keystores=False)
    try:
        from deploy.anvil import dev_accounts

        node = dev_accounts(3)[2]
        Protocol(Chain(info.rpc_url, node), Addresses.load(info.addresses_file)).deposit(7 * 10**18)
        url = net.start_explorer(port=0)
        assert url.startswith("http://127.0.0.1:")
        overview = requests.get(f"{url}/api/overview", timeout=10).json()
        assert overview["chain"]["chainId"] == info.chain_id
        assert overview["chain"]["addresses"]["taskMarket"] == Addresses.load(info.addresses_file).taskMarket
        nodes = requests.get(f"{url}/api/nodes", timeout=10).json()
        assert [n["staked"] for n in nodes if n["address"] == node.address] == [str(7 * 10**18)]
    finally:
        stopped = net.down(log=lambda _m: None)
    assert stopped == ["explorer", "store", "anvil"]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/api/overview", timeout=5)
