"""ledger without a chain: the addresses file, amounts, struct records and revert decoding (from
the compiled artifacts' ABIs, as the chain code decodes a real revert)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

from ledger.artifacts import decode_revert, load
from ledger.errors import ContractRevertError, revert_error
from ledger.protocol import Addresses, Record, format_amount
from veritrain.errors import ConfigError

ADDRS = {"chainId": 31337, "token": "0x01", "stakeManager": "0x02", "taskMarket": "0x03",
         "adjudicator": "0x04", "randomness": "0x05", "deployBlock": 7}


def test_addresses_round_trip_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "addresses.json"
    Addresses(**ADDRS).save(path)
    assert Addresses.load(path) == Addresses(**ADDRS)


def test_addresses_read_from_a_deployment_record_with_a_contracts_section(tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps({"contracts": ADDRS, "deployer": "0xabc"}))
    assert Addresses.load(path).taskMarket == "0x03"


@pytest.mark.parametrize(("content", "says"), [
    (None, "does not exist"),
    ("{not json", "is not JSON"),
    (json.dumps({k: v for k, v in ADDRS.items() if k != "taskMarket"}), "misses a field"),
])
def test_addresses_bad_file_is_a_config_error(tmp_path: Path, content: str | None,
                                              says: str) -> None:
    path = tmp_path / "addresses.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=says) as info:
        Addresses.load(path)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("wei", "shown"),
    [(0, "0"), (10**18, "1"), (1_234_500 * 10**15, "1,234.5"), (1, "0"), (10**14, "0.0001")],
)
def test_format_amount_trims_trailing_zeros(wei: int, shown: str) -> None:
    assert format_amount(wei) == shown


def test_record_reads_fields_as_attributes() -> None:
    rec = Record(traceRoot=b"\x01", k=3)
    assert rec.traceRoot == b"\x01" and rec["k"] == 3
    with pytest.raises(AttributeError):
        _ = rec.missing


def test_revert_error_class_is_one_per_name() -> None:
    cls = revert_error("SegmentOutOfOrder")
    assert cls is revert_error("SegmentOutOfOrder") and issubclass(cls, ContractRevertError)
    assert cls is not revert_error("ChallengeWindowClosed")


def test_decode_revert_names_a_custom_error_with_its_arguments() -> None:
    (abi,) = [i for i in load("TaskMarket").abi
              if i.get("type") == "error" and i["name"] == "SegmentOutOfOrder"]
    types = [p["type"] for p in abi["inputs"]]
    values = list(range(3, 3 + len(types)))
    data = function_signature_to_4byte_selector(f"SegmentOutOfOrder({','.join(types)})")
    err = decode_revert(data + encode(types, values), "TaskMarket")
    assert isinstance(err, revert_error("SegmentOutOfOrder"))
    assert err.error_args == {p["name"]: v for p, v in zip(abi["inputs"], values, strict=True)}
    assert str(err).startswith("reverted in TaskMarket: SegmentOutOfOrder(")


def test_decode_revert_reads_require_strings_panics_and_unknown_selectors() -> None:
    reason = function_signature_to_4byte_selector("Error(string)") + encode(["string"], ["no"])
    assert decode_revert(reason).error_args == {"reason": "no"}
    panic = function_signature_to_4byte_selector("Panic(uint256)") + encode(["uint256"], [0x11])
    assert decode_revert("0x" + panic.hex()).error_args["meaning"] == "arithmetic overflow"
    unknown = decode_revert(b"\xde\xad\xbe\xef" + b"\x00" * 32)
    assert isinstance(unknown, revert_error("UnknownError"))
    assert unknown.error_args["selector"] == "0xdeadbeef"
    assert isinstance(decode_revert(b""), revert_error("Reverted"))
