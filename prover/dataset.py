"""Dataset manifests: fixed-length tokenized shards plus a Merkle root of sample hashes.

A manifest directory holds ``manifest.json`` and ``shard-NNNNN.safetensors`` files, each with one
``input_ids`` int32 tensor of shape [n, seqLen]. Samples are packed: the text files' non-empty
lines (documents) are tokenized without special tokens, joined with [SEP], cut into windows of
seqLen-2 tokens and framed as [CLS] window [SEP] (every sample is full length, no padding).

sampleHash_i = keccak256(int32 LE bytes of sample i)
sampleRoot   = positional Merkle root (prover.merkle) over
               keccak256(abi.encode(uint256 i, bytes32 sampleHash_i)), padded with bytes32(0)
               leaves up to a power of two.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_hash.auto import keccak

from prover import merkle
from prover.errors import DatasetError

if TYPE_CHECKING:
    import torch

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
#: Held-out documents of a manifest (JSON lines of {"text": ...}), never in its samples.
HELD_OUT = "heldout.jsonl"


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "0x" + h.hexdigest()


def sample_root(rows: Any) -> bytes:
    """Merkle root over the samples (rows: int32 numpy array [N, seqLen])."""
    import numpy as np

    rows = np.ascontiguousarray(rows, dtype="<i4")
    leaves = [keccak(i.to_bytes(32, "big") + keccak(rows[i].tobytes())) for i in range(len(rows))]
    size = 1
    while size < len(leaves):
        size *= 2
    leaves += [merkle.ZERO32] * (size - len(leaves))
    return merkle.trace_root(leaves)


def sample_proof(rows: Any, index: int) -> tuple[bytes, list[bytes]]:
    """(sampleHash_index, siblings up to sampleRoot) of sample ``index`` (rows: int32 [N, seqLen]):
    what the referee needs to bind a batch row to the dataset (DataSchedule.verifySample)."""
    import numpy as np

    rows = np.ascontiguousarray(rows, dtype="<i4")
    if not 0 <= index < len(rows):
        raise DatasetError(f"sample {index} out of range: the dataset has {len(rows)} samples")
    hashes = [keccak(rows[i].tobytes()) for i in range(len(rows))]
    leaves = [keccak(i.to_bytes(32, "big") + h) for i, h in enumerate(hashes)]
    size = 1
    while size < len(leaves):
        size *= 2
    leaves += [merkle.ZERO32] * (size - len(leaves))
    return hashes[index], merkle.proof(leaves, index)


def build_manifest(text_files: Sequence[str | Path], tokenizer_dir: str | Path, seq_len: int,
                   out_dir: str | Path, shard_size: int = 4096,
                   cache_dir: str | Path | None = None, text_field: str = "text",
                   split: str | None = None, held_out_fraction: float = 0.0) -> dict[str, Any]:
    """Tokenize the documents of ``text_files`` (any prover.sources format) with the tokenizer
    in ``tokenizer_dir`` and write a manifest dir; held-out documents go to heldout.jsonl."""
    import numpy as np
    from safetensors.numpy import save_file

    from prover import sources as src

    if seq_len < 3:
        raise DatasetError(f"seqLen must be at least 3, got {seq_len}")
    if not text_files:
        raise DatasetError("no sources given", hint=f"pass files: {src.SUPPORTED}")
    read = [src.read_source(f, text_field, split, cache_dir) for f in text_files]
    docs = src.prepare(read, held_out_fraction)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    if tok.cls_token_id is None or tok.sep_token_id is None:
        raise DatasetError(f"tokenizer in {tokenizer_dir} has no [CLS]/[SEP] tokens",
                           hint="v1 manifests frame samples for BERT-style encoders")
    tok.model_max_length = 1 << 30  # we window the stream ourselves
    stream: list[int] = []
    for ids in tok(docs.train, add_special_tokens=False)["input_ids"]:  # source order
        stream.extend(ids)
        stream.append(tok.sep_token_id)
    win = seq_len - 2
    n = len(stream) // win
    if n == 0:
        raise DatasetError(f"the sources give {len(stream)} tokens, fewer than "
                           f"one sample of {seq_len}")
    body = np.asarray(stream[: n * win], dtype="<i4").reshape(n, win)
    rows = np.empty((n, seq_len), dtype="<i4")
    rows[:, 0] = tok.cls_token_id
    rows[:, 1:-1] = body
    rows[:, -1] = tok.sep_token_id
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    shards = []
    for k, lo in enumerate(range(0, n, shard_size)):
        name = f"shard-{k:05d}.safetensors"
        save_file({"input_ids": np.ascontiguousarray(rows[lo: lo + shard_size])}, str(out / name))
        shards.append({"file": name, "numSamples": int(min(shard_size, n - lo)),
                       "sha256": _sha256_file(out / name)})
    held = None
    if docs.held_out:
        (out / HELD_OUT).write_text("".join(json.dumps({"text": t}) + "\n" for t in docs.held_out))
        held = {"file": HELD_OUT, "numDocuments": len(docs.held_out),
                "fraction": held_out_fraction, "sha256": _sha256_file(out / HELD_OUT)}
    tok_json = Path(tokenizer_dir) / "tokenizer.json"
    doc = {
        "version": MANIFEST_VERSION, "seqLen": seq_len, "numSamples": int(n),
        "shardSize": shard_size, "shards": shards,
        "sampleRoot": merkle.hex32(sample_root(rows)),
        "tokenizer": {"vocabSize": len(tok), "clsId": tok.cls_token_id, "sepId": tok.sep_token_id,
                      "sha256": _sha256_file(tok_json) if tok_json.is_file() else None},
        "sources": [{"name": s.path.name, "sha256": _sha256_file(s.path) if s.path.is_file()
                     else None, "encoding": s.encoding, "kind": s.kind,
                     "numDocuments": len(s.documents)} for s in read],
        "documents": {"train": len(docs.train), "duplicatesRemoved": docs.duplicates,
                      "heldOut": held},
    }
    (out / MANIFEST).write_text(json.dumps(doc, sort_keys=True, indent=1))
    return doc


@dataclass(frozen=True)
class Manifest:
    """A loaded, verified manifest: all samples in one int32 tensor [numSamples, seqLen]."""

    path: Path
    doc: dict[str, Any]
    input_ids: torch.Tensor

    @property
    def num_samples(self) -> int:
        return int(self.doc["numSamples"])

    @property
    def seq_len(self) -> int:
        return int(self.doc["seqLen"])

    @property
    def sample_root(self) -> str:
        return str(self.doc["sampleRoot"])


_CACHE: dict[tuple[str, float], Manifest] = {}


def load_manifest(manifest_dir: str | Path, verify: bool = True) -> Manifest:
    """Load the shards, check each shard's sha256 and (``verify``) recompute the sample root."""
    import numpy as np
    import torch
    from safetensors.numpy import load_file

    d = Path(manifest_dir)
    mpath = d / MANIFEST
    if not mpath.is_file():
        raise DatasetError(f"no {MANIFEST} in {d}", hint="build one with `veritrain dataset build`")
    key = (str(mpath.resolve()), mpath.stat().st_mtime)
    if key in _CACHE:
        return _CACHE[key]
    doc = json.loads(mpath.read_text())
    parts = []
    for sh in doc["shards"]:
        p = d / sh["file"]
        if not p.is_file():
            raise DatasetError(f"manifest {d} lacks shard {sh['file']}")
        if verify and _sha256_file(p) != sh["sha256"]:
            raise DatasetError(f"shard {p} does not match its sha256 in the manifest")
        parts.append(load_file(str(p))["input_ids"])
    rows = np.concatenate(parts) if parts else np.zeros((0, doc["seqLen"]), dtype="<i4")
    if rows.shape != (doc["numSamples"], doc["seqLen"]):
        raise DatasetError(f"manifest {d} says {doc['numSamples']}x{doc['seqLen']} samples, "
                           f"shards hold {rows.shape[0]}x{rows.shape[1]}")
    if verify and merkle.hex32(sample_root(rows)) != doc["sampleRoot"]:
        raise DatasetError(f"samples in {d} do not hash to the manifest's sampleRoot")
    m = Manifest(d, doc, torch.from_numpy(rows.astype(np.int64)))
    _CACHE[key] = m
    return m


def check_against_spec(m: Manifest, spec: Any) -> None:
    """The local manifest must be the one the spec names (sampleRoot, numSamples, seqLen)."""
    ds = spec.dataset
    if m.sample_root != ds.sample_root:
        raise DatasetError(f"manifest {m.path} has sampleRoot {m.sample_root}, the spec names "
                           f"{ds.sample_root}",
                           hint="fetch the manifest the spec's manifestCid names")
    if m.num_samples != ds.num_samples:
        raise DatasetError(f"manifest {m.path} has {m.num_samples} samples, the spec "
                           f"says {ds.num_samples}")
    if m.seq_len != spec.seq_len:
        raise DatasetError(f"manifest {m.path} has seqLen {m.seq_len}, the spec says "
                           f"{spec.seq_len}")
    vocab = spec.student.config["vocab_size"]
    if int(m.input_ids.max()) >= vocab:
        raise DatasetError(f"manifest {m.path} has token ids >= student vocab_size {vocab}")
