"""`veritrain explorer` from the CLI: clear errors on bad input; over a devnet it runs as a
background process that `devnet down` stops (what `veritrain demo --keep` leaves running)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    return " ".join(capsys.readouterr().err.split())  # the console wraps long lines


def test_explorer_cli_without_an_addresses_file_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
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
        assert (
            overview["chain"]["addresses"]["taskMarket"]
            == Addresses.load(info.addresses_file).taskMarket
        )
        nodes = requests.get(f"{url}/api/nodes", timeout=10).json()
        assert [n["staked"] for n in nodes if n["address"] == node.address] == [str(7 * 10**18)]
    finally:
        stopped = net.down(log=lambda _m: None)
    assert stopped == ["explorer", "store", "anvil"]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/api/overview", timeout=5)


def test_hostile_strings_in_events_are_shown_escaped(
    anvil: object, protocol: object, deployed_addresses: object, tmp_path: Path
) -> None:
    """A requester's specCid and a node's CIDs are free strings in events: markup in them must
    reach the page as text, never as HTML or script; bytes that are not UTF-8 must not stop the
    indexer (they are shown with replacement characters)."""
    from eth_hash.auto import keccak

    from explorer.server import Explorer, ExplorerConfig

    hostile = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
    requester, node = protocol(1), protocol(2)  # type: ignore[operator]
    node.deposit(10 * 10**18)
    task = requester.create_task(
        hostile,
        keccak(b"spec"),
        10**18,
        total_steps=8,
        segment_steps=8,
        challenge_window=5,
        segment_deadline=50,
        node_stake=10**18,
    )
    node.claim_task(task)
    from prover import merkle

    ls = merkle.leaves_for(task, 0, [bytes(32)] * 8)
    node.commit_segment(task, 0, merkle.trace_root(ls), keccak(b"end"), hostile, hostile, leaves=ls)
    # A specCid that is not UTF-8 at all (web3 cannot even encode it: raw calldata).
    from eth_abi import encode

    selector = keccak(b"createTask(string,bytes32,uint256,(uint64,uint64,uint64,uint64,uint128))")[
        :4
    ]
    data = selector + encode(
        ["bytes", "bytes32", "uint256", "(uint64,uint64,uint64,uint64,uint128)"],
        [b"\xff\xfe not utf-8", keccak(b"spec"), 10**18, (8, 8, 5, 50, 10**18)],
    )
    requester.token.transact("approve", requester.market.address, 10**18)
    w3 = requester.chain.w3
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction(
            {"from": requester.me, "to": requester.market.address, "data": "0x" + data.hex()}
        )
    )
    binary = requester.task_count()
    addresses = tmp_path / "addresses.json"
    deployed_addresses.save(addresses)  # type: ignore[attr-defined]
    cfg = ExplorerConfig(
        rpc_url=anvil.url,
        ipfs_api=None,
        addresses_file=addresses,  # type: ignore[attr-defined]
        db_path=tmp_path / "index.sqlite",
        port=0,
    )
    with Explorer(cfg) as ex:
        for path in (f"/tasks/{task}", "/"):
            html = requests.get(ex.url + path, timeout=10).text
            assert "<script>window.pwned" not in html and "<img src=x" not in html, path
            assert "&lt;script&gt;" in html, path
        api = requests.get(f"{ex.url}/api/tasks/{task}", timeout=10).json()
        assert (
            api["specCid"] == hostile and api["segmentList"][0]["current"]["leavesCid"] == hostile
        )
        assert requests.get(f"{ex.url}/api/tasks/{binary}", timeout=10).json()["specCid"] == (
            "\ufffd\ufffd not utf-8"
        )
