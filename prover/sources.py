"""Reading a requester's documents: plain text, JSONL, CSV, Parquet, saved Hugging Face datasets.

Every format goes through ``datasets`` (offline). A document is one non-empty line of a text
file, or the ``text_field`` of one record. :func:`prepare` removes exact duplicates (first
occurrence kept, in source order) and holds out a fraction of documents chosen by the SHA-256 of
their text, so the split is the same on every machine and does not depend on file order.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from prover.errors import DatasetError

#: File suffixes and the ``datasets`` builder that reads them; anything else is plain text.
BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
SUPPORTED = "plain text (one document a line), .jsonl/.json, .csv, .parquet, or a directory " \
            "written by datasets' save_to_disk"


@dataclass(frozen=True)
class Source:
    """One input and the documents read from it."""

    path: Path
    kind: str
    encoding: str | None
    documents: list[str]


@dataclass(frozen=True)
class Prepared:
    """Documents to train on and held-out documents, after deduplication."""

    train: list[str]
    held_out: list[str]
    duplicates: int


def _encoding(path: Path) -> str:
    """utf-8 when the file decodes as such, else latin-1 (every byte is a character)."""
    try:
        path.read_bytes().decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "latin-1"


def _column(ds: object, path: Path, text_field: str) -> list[str]:
    names = list(getattr(ds, "column_names", []) or [])
    if text_field not in names:
        fields = ", ".join(names) or "none"
        raise DatasetError(f"{path} has no field {text_field!r} (fields: {fields})",
                           hint="pick the text column with --text-field")
    return [str(v) for v in ds[text_field] if v is not None]  # type: ignore[index]


def _load_saved(path: Path, text_field: str, split: str | None) -> list[str]:
    from datasets import DatasetDict, load_from_disk

    try:
        ds = load_from_disk(str(path))
    except Exception as exc:  # datasets raises several kinds for a foreign directory
        raise DatasetError(f"{path} is not a saved Hugging Face dataset: {exc}",
                           hint=f"supported sources: {SUPPORTED}") from None
    if isinstance(ds, DatasetDict):
        want = split or ("train" if "train" in ds else None)
        if want not in ds:
            raise DatasetError(f"{path} has splits {', '.join(ds)}; choose one with --split")
        ds = ds[want]
    elif split not in (None, "train"):
        raise DatasetError(f"{path} is a single dataset without splits, not {split!r}",
                           hint="omit --split")
    return _column(ds, path, text_field)


def read_source(path: str | Path, text_field: str = "text", split: str | None = None,
                cache_dir: str | Path | None = None) -> Source:
    """The documents of one source (see module doc); a clear DatasetError when it has none."""
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from datasets import load_dataset
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()
    p = Path(path).resolve()
    cache = str(cache_dir) if cache_dir else None
    if p.is_dir():
        kind, enc, docs = "hf-saved", None, _load_saved(p, text_field, split)
    elif not p.is_file():
        raise DatasetError(f"source {p} does not exist", hint="check the path")
    else:
        kind = BUILDERS.get(p.suffix.lower(), "text")
        enc = _encoding(p) if kind in ("text", "csv") else None
        kwargs = {"encoding": enc} if enc else {}
        try:
            ds = load_dataset(kind, data_files=[str(p)], split="train", cache_dir=cache, **kwargs)
        except Exception as exc:  # pyarrow/pandas/json errors: all mean "cannot read this file"
            raise DatasetError(f"cannot read {p} as {kind}: {type(exc).__name__}: {exc}",
                               hint=f"supported sources: {SUPPORTED}") from None
        docs = _column(ds, p, "text" if kind == "text" else text_field)
    docs = [d for d in docs if d.strip()]
    if not docs:
        raise DatasetError(f"source {p} holds no text (no non-empty documents)",
                           hint="check the file, and --text-field for structured formats")
    return Source(p, kind, enc, docs)


def held_out(text: str, fraction: float) -> bool:
    """Whether a document is held out: the first 8 bytes of its SHA-256 below fraction * 2^64."""
    h = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    return h < int(fraction * (1 << 64))


def prepare(sources: Sequence[Source], held_out_fraction: float = 0.0) -> Prepared:
    """Exact duplicates removed (first kept), then the held-out split."""
    if not 0.0 <= held_out_fraction < 1.0:
        raise DatasetError(f"the held-out fraction must be in [0, 1), got {held_out_fraction}")
    seen: set[str] = set()
    train: list[str] = []
    test: list[str] = []
    dupes = 0
    for src in sources:
        for doc in src.documents:
            if doc in seen:
                dupes += 1
                continue
            seen.add(doc)
            (test if held_out(doc, held_out_fraction) else train).append(doc)
    if not train:
        raise DatasetError("no documents left to train on after deduplication and the held-out "
                           "split", hint="add text or lower --held-out")
    return Prepared(train, test, dupes)
