"""Every event of a set of contracts in one ``eth_getLogs`` call per block range, decoded.

``Contract.events`` asks for one event at a time and decodes through web3's formatters, which
is right for a handful of logs but costs one round trip per event type and milliseconds per log.
An indexer that follows every event of several contracts uses an ``EventSet`` instead (as
``EventWatcher(..., source=event_set.logs)``): one request per range for all their addresses,
logs decoded straight from the ABI with eth_abi (topics for indexed arguments, data for the
rest), struct arguments named after their components, addresses checksummed as web3 does.
Logs whose first topic is no known event of the set are skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_hash.auto import keccak
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3.types import RPCEndpoint

from ledger.chain import Chain, Contract
from veritrain.errors import LedgerError, leaf

log_ = logging.getLogger(__name__)


@leaf
class LogQueryError(LedgerError):
    """The node refused a log query."""

    from_block: int
    to_block: int


def _type(arg: dict[str, Any]) -> str:
    """The canonical ABI type of an argument: tuples spelled out as ``(t1,t2,...)``."""
    typ = str(arg["type"])
    if typ.startswith("tuple"):
        return "(" + ",".join(_type(c) for c in arg["components"]) + ")" + typ[len("tuple") :]
    return typ


def _value(arg: dict[str, Any], value: Any) -> Any:
    """Name struct fields, checksum addresses (recursively), as web3's decoded events have them."""
    typ = str(arg["type"])
    if typ.endswith("[]"):
        inner = {**arg, "type": typ[:-2]}
        return [_value(inner, v) for v in value]
    if typ == "tuple":
        return {c["name"]: _value(c, v) for c, v in zip(arg["components"], value, strict=True)}
    if typ == "address":
        return to_checksum_address(value)
    return value


_ELEMENTARY_DYNAMIC = ("string", "bytes")


def _static_word(typ: str, word: bytes) -> tuple[bool, Any]:
    """(True, value) for a one-word static type decoded as eth_abi does; (False, None) otherwise."""
    if typ.endswith("]"):
        return False, None  # an array (uint32[] starts with "uint" but its head is an offset)
    if typ.startswith("uint"):
        return True, int.from_bytes(word, "big")
    if typ.startswith("int"):
        return True, int.from_bytes(word, "big", signed=True)
    if typ == "address":
        return True, _checksum("0x" + word[12:].hex())
    if typ == "bool":
        return True, word != bytes(32)
    if typ == "bytes32":
        return True, word
    return False, None


_CHECKSUMS: dict[str, str] = {}


def _checksum(address: str) -> str:
    """to_checksum_address, remembered: the same few accounts appear in most events."""
    out = _CHECKSUMS.get(address)
    if out is None:
        if len(_CHECKSUMS) > 100_000:
            _CHECKSUMS.clear()
        out = _CHECKSUMS[address] = to_checksum_address(address)
    return out


def _fast_data(args: list[dict[str, Any]], data: bytes) -> list[Any] | None:
    """The data part word by word when it holds only one-word values, static structs of them,
    strings and bytes (most events); None: leave it to eth_abi. Strings that are not UTF-8 are
    decoded with replacement characters rather than refused (they come from anyone's calldata)."""
    out: list[Any] = []
    head = 0

    def word(at: int) -> bytes:
        if at + 32 > len(data):
            raise ValueError("short data")
        return data[at : at + 32]

    try:
        for arg in args:
            typ = str(arg["type"])
            if typ in _ELEMENTARY_DYNAMIC:
                offset = int.from_bytes(word(head), "big")
                length = int.from_bytes(word(offset), "big")
                raw = data[offset + 32 : offset + 32 + length]
                if len(raw) != length:
                    return None
                out.append(raw.decode("utf-8", "replace") if typ == "string" else raw)
                head += 32
            elif typ == "tuple":
                fields = {}
                for c in arg["components"]:
                    ok, value = _static_word(str(c["type"]), word(head))
                    if not ok:
                        return None
                    fields[c["name"]] = value
                    head += 32
                out.append(fields)
            else:
                ok, value = _static_word(typ, word(head))
                if not ok:
                    return None
                out.append(value)
                head += 32
    except ValueError:
        return None
    return out


@dataclass(frozen=True)
class _EventAbi:
    contract: str
    name: str
    indexed: list[dict[str, Any]]
    data: list[dict[str, Any]]
    data_types: list[str]


class EventSet:
    """All events of ``contracts``; ``logs(from_block, to_block)`` fetches and decodes a range."""

    def __init__(self, chain: Chain, contracts: list[Contract]) -> None:
        self.chain = chain
        self.addresses = [to_checksum_address(c.address) for c in contracts]
        self._by_topic: dict[tuple[str, bytes], _EventAbi] = {}
        for c in contracts:
            for item in c.artifact.abi:
                if item.get("type") != "event" or item.get("anonymous"):
                    continue
                signature = f"{item['name']}({','.join(_type(i) for i in item['inputs'])})"
                data = [i for i in item["inputs"] if not i.get("indexed")]
                self._by_topic[(c.address.lower(), keccak(signature.encode()))] = _EventAbi(
                    c.name,
                    item["name"],
                    [i for i in item["inputs"] if i.get("indexed")],
                    data,
                    [_type(i) for i in data],
                )

    def logs(self, from_block: int, to_block: int) -> list[dict[str, Any]]:
        """The set's logs in the inclusive range, in chain order, decoded (web3's log keys)."""
        params = {"fromBlock": hex(from_block), "toBlock": hex(to_block), "address": self.addresses}
        raw = self.chain.retry(
            lambda: self.chain.w3.provider.make_request(RPCEndpoint("eth_getLogs"), [params]),
            "eth_getLogs",
        )
        if "error" in raw:
            raise LogQueryError(
                f"eth_getLogs for blocks {from_block}..{to_block} failed: {raw['error']}",
                from_block=from_block,
                to_block=to_block,
                hint="the node may cap log queries: use a smaller block range",
            )
        out = []
        for log in raw["result"]:
            topics = [bytes.fromhex(t[2:]) for t in log["topics"]]
            abi = self._by_topic.get((log["address"].lower(), topics[0])) if topics else None
            if abi is None:
                continue
            args: dict[str, Any] = {}
            for arg, topic in zip(abi.indexed, topics[1:], strict=True):
                # indexed value types sit in their topic; indexed dynamic ones only as a hash
                ok, value = _static_word(str(arg["type"]), topic)
                args[arg["name"]] = value if ok else topic
            data = bytes.fromhex(log["data"][2:])
            values = _fast_data(abi.data, data)
            if values is None:
                try:
                    values = [
                        _value(a, v)
                        for a, v in zip(abi.data, abi_decode(abi.data_types, data), strict=True)
                    ]
                except (DecodingError, ValueError) as exc:
                    log_.warning(
                        "skipping an undecodable %s log in block %s: %s",
                        abi.name,
                        log["blockNumber"],
                        exc,
                    )
                    continue
            for arg, value in zip(abi.data, values, strict=True):
                args[arg["name"]] = value
            out.append(
                {
                    "event": abi.name,
                    "contract": abi.contract,
                    "args": args,
                    "address": _checksum(log["address"]),
                    "blockNumber": int(log["blockNumber"], 16),
                    "logIndex": int(log["logIndex"], 16),
                    "transactionHash": HexBytes(log["transactionHash"]),
                    "blockHash": HexBytes(log["blockHash"]),
                }
            )
        out.sort(key=lambda e: (e["blockNumber"], e["logIndex"]))
        return out
