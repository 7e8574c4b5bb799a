"""`veritrain dataset build` on a requester's own data: real small files of every format.

The same documents give the same samples (and sample root) whatever format carries them;
duplicates are dropped; the held-out split is chosen by text hash, recorded in the manifest
and never in the samples; empty and unreadable sources fail with errors that say so.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from prover.dataset import HELD_OUT, build_manifest, load_manifest
from prover.errors import DatasetError
from prover.presets import default_teacher_dir, gensim_test_data

SEQ = 16


@pytest.fixture(scope="module")
def docs() -> list[str]:
    """Forty real news paragraphs (gensim's lee_background corpus), with one duplicate."""
    lines = (gensim_test_data() / "lee_background.cor").read_bytes().decode("latin-1").splitlines()
    real = [line.strip() for line in lines if line.strip()][:40]
    return [*real[:20], real[3], *real[20:]]


def _build(tmp: Path, name: str, *sources: Path, **kw: object) -> dict:  # type: ignore[type-arg]
    return build_manifest(list(sources), default_teacher_dir(), SEQ, tmp / name, **kw)  # type: ignore[arg-type]


def _write_all(tmp: Path, docs: list[str]) -> dict[str, Path]:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = {"text": tmp / "docs.txt", "jsonl": tmp / "docs.jsonl", "csv": tmp / "docs.csv",
             "parquet": tmp / "docs.parquet", "hf": tmp / "saved", "hfdict": tmp / "saved-dict"}
    files["text"].write_text("".join(d + "\n" for d in docs))
    files["jsonl"].write_text("".join(json.dumps({"id": i, "body": d}) + "\n"
                                      for i, d in enumerate(docs)))
    with files["csv"].open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "body"])
        w.writerows([i, d] for i, d in enumerate(docs))
    pq.write_table(pa.table({"id": list(range(len(docs))), "body": docs}), files["parquet"])
    ds = datasets.Dataset.from_dict({"body": docs})
    ds.save_to_disk(str(files["hf"]))
    datasets.DatasetDict({"train": ds, "validation": ds.select(range(3))}).save_to_disk(
        str(files["hfdict"]))
    return files


def test_build_manifest_every_format_same_documents_same_root_succeeds(
        tmp_path: Path, docs: list[str]) -> None:
    files = _write_all(tmp_path, docs)
    roots = {}
    for kind, path in files.items():
        field = "text" if kind == "text" else "body"
        doc = _build(tmp_path, f"m-{kind}", path, text_field=field, split="train")
        roots[kind] = doc["sampleRoot"]
        assert doc["documents"]["train"] == 40 and doc["documents"]["duplicatesRemoved"] == 1
        assert doc["documents"]["heldOut"] is None
    assert len(set(roots.values())) == 1, roots
    m = load_manifest(tmp_path / "m-parquet")
    assert m.sample_root == roots["text"] and tuple(m.input_ids.shape[1:]) == (SEQ,)
    csv_doc = json.loads((tmp_path / "m-csv" / "manifest.json").read_text())
    assert csv_doc["sources"][0]["kind"] == "csv"
    small = _build(tmp_path, "m-val", files["hfdict"], text_field="body", split="validation")
    assert small["documents"]["train"] == 3 and small["numSamples"] < m.num_samples


def test_build_manifest_held_out_documents_never_in_samples_succeeds(
        tmp_path: Path, docs: list[str]) -> None:
    from transformers import AutoTokenizer

    src = tmp_path / "docs.txt"
    src.write_text("".join(d + "\n" for d in docs))
    a = _build(tmp_path, "a", src, held_out_fraction=0.25)
    b = _build(tmp_path, "b", src, held_out_fraction=0.25)
    assert a["sampleRoot"] == b["sampleRoot"]  # the split depends on the texts only
    held = [json.loads(x)["text"] for x in (tmp_path / "a" / HELD_OUT).read_text().splitlines()]
    info = a["documents"]["heldOut"]
    assert info["numDocuments"] == len(held) > 0 and a["documents"]["train"] == 40 - len(held)
    assert info["file"] == HELD_OUT and info["fraction"] == 0.25
    tok = AutoTokenizer.from_pretrained(str(default_teacher_dir()))
    stream = load_manifest(tmp_path / "a").input_ids[:, 1:-1].reshape(-1).tolist()
    text = " " + " ".join(map(str, stream)) + " "
    for doc in held:
        ids = tok(doc, add_special_tokens=False)["input_ids"][:12]
        assert " " + " ".join(map(str, ids)) + " " not in text


@pytest.mark.parametrize(("content", "suffix", "kw", "match"), [
    ("\n   \n\n", ".txt", {}, "holds no text"),
    ('{"body": "x"}\n', ".jsonl", {"text_field": "text"}, r"has no field 'text' \(fields: body\)"),
    ("not a parquet file", ".parquet", {}, "cannot read .* as parquet"),
    (None, ".txt", {}, "does not exist"),
])
def test_build_manifest_bad_source_reverts(tmp_path: Path, content: str | None, suffix: str,
                                           kw: dict, match: str) -> None:  # type: ignore[type-arg]
    path = tmp_path / f"src{suffix}"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DatasetError, match=match):
        _build(tmp_path, "out", path, **kw)
    assert not (tmp_path / "out").exists()


def test_build_manifest_unknown_split_reverts(tmp_path: Path, docs: list[str]) -> None:
    files = _write_all(tmp_path, docs[:5])
    with pytest.raises(DatasetError, match="has splits train, validation; choose one with --split"):
        _build(tmp_path, "out", files["hfdict"], text_field="body", split="test")
