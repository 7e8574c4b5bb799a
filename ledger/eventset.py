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

from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_hash.auto import keccak
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3.types import RPCEndpoint

from ledger.chain import Chain, Contract
from veritrain.errors import LedgerError


class LogQueryError(LedgerError):
    """The node refused a log query (fields: from_block, to_block)."""


def _type(arg: dict[str, Any]) -> str:
    """The canonical ABI type of an argument: tuples spelled out as ``(t1,t2,...)``."""
    typ = str(arg["type"])
    if typ.startswith("tuple"):
        return "(" + ",".join(_type(c) for c in arg["components"]) + ")" + typ[len("tuple"):]
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
                    c.name, item["name"], [i for i in item["inputs"] if i.get("indexed")], data,
                    [_type(i) for i in data])

    def logs(self, from_block: int, to_block: int) -> list[dict[str, Any]]:
        """The set's logs in the inclusive range, in chain order, decoded (web3's log keys)."""
        params = {"fromBlock": hex(from_block), "toBlock": hex(to_block), "address": self.addresses}
        raw = self.chain.retry(lambda: self.chain.w3.provider.make_request(RPCEndpoint("eth_getLogs"), [params]),
                               "eth_getLogs")
        if "error" in raw:
            raise LogQueryError(f"eth_getLogs for blocks {from_block}..{to_block} failed: "
                                f"{raw['error']}", from_block=from_block, to_block=to_block,
                                hint="the node may cap log queries: use a smaller block range")
        out = []
        for log in raw["result"]:
            topics = [bytes.fromhex(t[2:]) for t in log["topics"]]
            abi = self._by_topic.get((log["address"].lower(), topics[0])) if topics else None
            if abi is None:
                continue
            args: dict[str, Any] = {}
            for arg, topic in zip(abi.indexed, topics[1:], strict=True):
                # indexed value types sit in their topic; indexed dynamic ones only as a hash
                dynamic = arg["type"] in ("string", "bytes") or arg["type"].endswith("]") \
                    or arg["type"].startswith("tuple")
                args[arg["name"]] = topic if dynamic else _value(arg, abi_decode([arg["type"]], topic)[0])
            values = abi_decode(abi.data_types, bytes.fromhex(log["data"][2:]))
            for arg, value in zip(abi.data, values, strict=True):
                args[arg["name"]] = _value(arg, value)
            out.append({"event": abi.name, "contract": abi.contract, "args": args,
                        "address": to_checksum_address(log["address"]),
                        "blockNumber": int(log["blockNumber"], 16), "logIndex": int(log["logIndex"], 16),
                        "transactionHash": HexBytes(log["transactionHash"]),
                        "blockHash": HexBytes(log["blockHash"])})
        out.sort(key=lambda e: (e["blockNumber"], e["logIndex"]))
        return out
