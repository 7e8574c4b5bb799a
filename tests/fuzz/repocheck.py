"""Store repo integrity, read straight from disk (shared by tests/fuzz and tests/faults)."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RepoReport:
    """What ``check_repo`` found; ``problems`` must be empty for a consistent repo."""

    blocks: int = 0
    pins: int = 0
    problems: list[str] = field(default_factory=list)


def _multihash_of_key(key: str) -> bytes:
    return base64.b32decode(key + "=" * (-len(key) % 8))


def check_repo(root: str | Path, expect_pins: dict[str, str] | None = None,
               tmp_must_be_empty: bool = False) -> RepoReport:
    """Read an embedded-store repo straight from disk (no lock needed) and check that

    * every block file hashes to the multihash it is named by (sha2-256 or identity);
    * pins.json parses, and every recursively pinned DAG is complete on disk;
    * every CID in ``expect_pins`` is still pinned (earlier pins intact);
    * ``tmp/`` is empty when asked (after a clean stop or a restart).
    """
    from store.cid import CID, DAG_PB
    from store.dagpb import decode_node

    root = Path(root)
    rep = RepoReport()
    for f in sorted((root / "blocks").glob("*/*.data")):
        rep.blocks += 1
        mh = _multihash_of_key(f.stem)
        code, size, digest = mh[0], mh[1], mh[2:]
        data = f.read_bytes()
        if code == 0x12 and size == 32:
            if hashlib.sha256(data).digest() != digest:
                rep.problems.append(f"block {f.name} does not hash to its name")
        elif code == 0x00:
            if data != digest:
                rep.problems.append(f"identity block {f.name} differs from its name")
        else:
            rep.problems.append(f"block {f.name} has unexpected multihash 0x{code:x}")
        if f.parent.name != f.stem[-3:-1]:
            rep.problems.append(f"block {f.name} in the wrong shard {f.parent.name}")
    pins_file = root / "pins.json"
    try:
        pins: dict[str, str] = json.loads(pins_file.read_text()) if pins_file.exists() else {}
    except (OSError, ValueError) as exc:
        rep.problems.append(f"pins.json unreadable: {exc}")
        pins = {}
    rep.pins = len(pins)

    def block_path(cid: CID) -> Path:
        key = cid.block_key()
        return root / "blocks" / key[-3:-1] / f"{key}.data"

    for text, kind in pins.items():
        stack, seen = [CID.parse(text)], set()
        while stack:
            c = stack.pop()
            if c.block_key() in seen:
                continue
            seen.add(c.block_key())
            p = block_path(c)
            if not p.exists():
                rep.problems.append(f"pinned {text} ({kind}) lacks block {c}")
                continue
            if kind == "recursive" and c.codec == DAG_PB:
                try:
                    stack.extend(lk.cid for lk in decode_node(p.read_bytes()).links)
                except ValueError as exc:
                    rep.problems.append(f"pinned {text}: block {c} is not dag-pb: {exc}")
    for cid, kind in (expect_pins or {}).items():
        if pins.get(cid) != kind:
            rep.problems.append(f"earlier pin {cid} ({kind}) is gone or changed: {pins.get(cid)}")
    if tmp_must_be_empty and (root / "tmp").exists():
        left = list((root / "tmp").iterdir())
        if left:
            rep.problems.append(f"tmp/ holds {len(left)} stale files")
    return rep

