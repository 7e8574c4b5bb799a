"""ABIs and bytecode from forge's artifacts, and the custom-error registry built from them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector

from ledger.errors import ArtifactMissingError, ContractRevertError, revert_error
from ledger.foundry import artifacts_dir


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: its name, ABI and creation bytecode."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def load(name: str, out_dir: Path | None = None) -> Artifact:
    """The artifact of contract ``name`` (``out/<File>.sol/<name>.json``)."""
    out = out_dir or artifacts_dir()
    direct = out / f"{name}.sol" / f"{name}.json"
    path = direct if direct.is_file() else next(iter(sorted(out.glob(f"*/{name}.json"))), None)
    if path is None:
        raise ArtifactMissingError(name, str(out))
    data = json.loads(path.read_text())
    return Artifact(name=name, abi=data["abi"], bytecode=data["bytecode"]["object"])


def _type_string(param: dict[str, Any]) -> str:
    """Canonical ABI type of a parameter, expanding tuples."""
    typ: str = param["type"]
    if typ.startswith("tuple"):
        inner = ",".join(_type_string(c) for c in param["components"])
        return f"({inner}){typ[len('tuple'):]}"
    return typ


@dataclass(frozen=True)
class ErrorSpec:
    name: str
    names: tuple[str, ...]
    types: tuple[str, ...]


@lru_cache(maxsize=8)
def error_registry(out_dir: Path | None = None) -> dict[bytes, ErrorSpec]:
    """Selector -> custom error, over every artifact in the artifacts folder."""
    out = out_dir or artifacts_dir()
    registry: dict[bytes, ErrorSpec] = {}
    for path in out.glob("*/*.json"):
        try:
            abi = json.loads(path.read_text()).get("abi", [])
        except (json.JSONDecodeError, OSError):
            continue
        for item in abi:
            if item.get("type") != "error":
                continue
            types = tuple(_type_string(p) for p in item["inputs"])
            selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
            names = tuple(p["name"] or f"arg{i}" for i, p in enumerate(item["inputs"]))
            registry[selector] = ErrorSpec(item["name"], names, types)
    return registry


_PANIC = {
    0x01: "assert",
    0x11: "arithmetic overflow",
    0x12: "division by zero",
    0x21: "bad enum",
    0x31: "pop empty array",
    0x32: "index out of bounds",
    0x41: "out of memory",
}


def decode_revert(data: bytes | str | None, contract: str | None = None) -> ContractRevertError:
    """Turn revert data into a named ContractRevertError (custom error, Error(string) or Panic)."""
    raw = (
        bytes.fromhex(data[2:] if data.startswith("0x") else data)
        if isinstance(data, str)
        else (data or b"")
    )
    if len(raw) < 4:
        return revert_error("Reverted")("Reverted", {}, contract)
    selector, body = raw[:4], raw[4:]
    if selector == bytes.fromhex("08c379a0"):
        (reason,) = abi_decode(["string"], body)
        return revert_error("Error")("Error", {"reason": reason}, contract)
    if selector == bytes.fromhex("4e487b71"):
        (code,) = abi_decode(["uint256"], body)
        return revert_error("Panic")(
            "Panic", {"code": hex(code), "meaning": _PANIC.get(code, "?")}, contract
        )
    spec = error_registry().get(selector)
    if spec is None:
        return revert_error("UnknownError")("UnknownError", {"selector": "0x" + selector.hex(),
                                                             "data": "0x" + body.hex()}, contract)
    values = abi_decode(list(spec.types), body)
    return revert_error(spec.name)(spec.name, dict(zip(spec.names, values, strict=True)), contract)
