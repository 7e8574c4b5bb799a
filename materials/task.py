"""A task's materials on IPFS, as local directories: spec, teacher, dataset, checkpoints, leaves.

Nodes, challengers, jurors and consumers all need the same thing: given CIDs from the chain,
local directories the prover can read. Everything is fetched with verified fetch (every block
checked against its CID) into a cache keyed by CID, so a directory in the cache is exactly the
content its name claims and is fetched once. The spec is also checked against the on-chain
``specHash`` (keccak256 of its canonical JSON), so nobody can swap it.

The requester side, :func:`publish`, adds the teacher and dataset directories, fills their CIDs
into the spec and adds the spec itself.

This joins two layers (fetching from ``store``, reading the spec with ``prover``), so it lives in
its own package over both, where every role can use it; ``store`` itself imports only
``veritrain``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store.client import Client
from veritrain.errors import StoreError, leaf

if TYPE_CHECKING:
    from prover.spec import TaskSpec


@leaf
class SpecHashMismatchError(StoreError):
    """The content at a task's spec CID is not the spec whose hash is on-chain."""

    exit_code = 3
    cid: str


@dataclass(frozen=True)
class Published:
    """A spec whose teacher and dataset are on IPFS, and the spec's own CID and hash."""

    spec: TaskSpec
    spec_cid: str
    spec_hash: bytes
    teacher_cid: str
    dataset_cid: str


def publish(client: Client, spec: TaskSpec, teacher_dir: Path, dataset_dir: Path) -> Published:
    """Add teacher and dataset directories (pinned), put their CIDs in the spec, add the spec."""
    from prover.spec import parse_spec

    teacher_cid = client.put_dir(teacher_dir)
    dataset_cid = client.put_dir(dataset_dir)
    doc = spec.to_doc()
    doc["teacher"]["cid"] = teacher_cid
    doc["dataset"]["manifestCid"] = dataset_cid
    final = parse_spec(doc)
    spec_cid = client.put_bytes(final.canonical_bytes())
    return Published(final, spec_cid, final.spec_hash(), teacher_cid, dataset_cid)


class Materials:
    """Verified, cached local copies of a task's IPFS content."""

    def __init__(self, client: Client, cache_dir: Path) -> None:
        self.client = client
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)

    def spec(self, spec_cid: str, spec_hash: bytes | None = None) -> TaskSpec:
        """The spec at ``spec_cid``; with ``spec_hash``, refuse one whose keccak256 differs."""
        from prover.spec import loads_spec

        raw = self._cached_bytes(spec_cid)
        spec = loads_spec(raw)
        if spec_hash is not None and spec.spec_hash() != bytes(spec_hash):
            raise SpecHashMismatchError(
                f"spec {spec_cid} hashes to {spec.spec_hash_hex()}, the chain says "
                f"0x{bytes(spec_hash).hex()}",
                hint="the task's spec CID does not hold the spec it was created with; do not "
                     "serve it",
                cid=spec_cid,
            )
        if spec.canonical_bytes() != raw:
            raise SpecHashMismatchError(f"spec {spec_cid} is not in canonical JSON form",
                                        hint="specs are stored canonically (sorted keys, compact)",
                                        cid=spec_cid)
        return spec

    def teacher_dir(self, spec: TaskSpec) -> Path:
        return self.directory(spec.teacher.cid)

    def dataset_dir(self, spec: TaskSpec) -> Path:
        return self.directory(spec.dataset.manifest_cid)

    def directory(self, cid: str) -> Path:
        """Local copy of directory ``cid`` (verified fetch on first use)."""
        target = self.cache_dir / "dirs" / cid
        if not target.is_dir():
            target.parent.mkdir(parents=True, exist_ok=True)
            self.client.get_dir(cid, target)
        return target

    def leaves(self, cid: str) -> dict[str, Any]:
        """A leaves file (PROTOCOL.md JSON) by CID."""
        return json.loads(self._cached_bytes(cid))

    def _cached_bytes(self, cid: str) -> bytes:
        path = self.cache_dir / "files" / cid
        if path.is_file():
            return path.read_bytes()
        data = self.client.get_bytes(cid)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return data
