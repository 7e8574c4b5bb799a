"""The product: a small student started from chosen teacher layers, trained on text that never
holds the evaluation documents, replayable bit for bit, and scored by `veritrain eval`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from prover import model, segment
from prover.dataset import load_manifest
from prover.presets import (
    PRESETS,
    _narrow_student,
    default_dataset_dir,
    default_teacher_dir,
    gensim_test_data,
    preset_spec,
)

TASK = 4


def electra_spec(seed: int = 13) -> Any:
    """The tiny preset's schedule with the default preset's kind of student (64-token positions)."""
    init = {"method": "teacher", "layers": [0, 5]}
    student = {"config": _narrow_student(64, 2, 64), "init": init}
    return preset_spec("tiny", seed=seed, totalSteps=16, student=student)


def test_default_manifest_excludes_the_lee_evaluation_documents_succeeds() -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(default_teacher_dir()))
    lee = (gensim_test_data() / "lee.cor").read_bytes().decode("latin-1").splitlines()
    lee = [d for d in lee if d.strip()]
    assert len(lee) == 50
    for seq_len in (PRESETS["tiny"]["seqLen"], PRESETS["default"]["seqLen"]):
        d = default_dataset_dir(seq_len)
        doc = json.loads((d / "manifest.json").read_text())
        assert [s["name"] for s in doc["sources"]] == ["lee_background.cor"]
        stream = load_manifest(d).input_ids[:, 1:-1].reshape(-1).tolist()
        text = " " + " ".join(map(str, stream)) + " "
        for i, body in enumerate(lee):
            # any 10 consecutive tokens of a Lee document would betray it (windows cut documents)
            ids = tok(body, add_special_tokens=False)["input_ids"]
            for lo in range(0, len(ids) - 10, 40):
                probe = " " + " ".join(map(str, ids[lo: lo + 10])) + " "
                assert probe not in text, f"lee.cor document {i} is in the {seq_len}-token manifest"
        # the check can fail: the same probes do find the training text itself
        bg = (gensim_test_data() / "lee_background.cor").read_bytes().decode("latin-1")
        first = tok(bg.splitlines()[0], add_special_tokens=False)["input_ids"][:10]
        assert " " + " ".join(map(str, first)) + " " in text


def test_default_preset_student_is_a_quarter_of_the_teacher_succeeds() -> None:
    spec = preset_spec("default")
    teacher = model.load_teacher(default_teacher_dir())
    student = model.build_student(spec, teacher)
    n_s = sum(p.numel() for p in student.parameters())
    n_t = sum(p.numel() for p in teacher.parameters())
    assert n_s <= n_t / 4, (n_s, n_t)
    # layers 0 and 5 of the teacher, exactly; the narrow table is the teacher's on a subspace
    td, sd = teacher.state_dict(), student.state_dict()
    for i, src in enumerate(spec.student.init.layers):
        key = f"encoder.layer.{i}.attention.self.query.weight"
        assert torch.equal(sd[key], td[key.replace(f".{i}.", f".{src}.", 1)])
    assert tuple(sd["embeddings.word_embeddings.weight"].shape) == (30522, 64)
    recon = student.embeddings_project.weight  # [384, 64]: basis scaled by the teacher's LN gain
    assert torch.equal(model.build_student(spec, teacher).state_dict()["embeddings_project.weight"],
                       recon)


def test_electra_teacher_init_trains_replays_and_loads_succeeds(tmp_path: Path) -> None:
    from transformers import AutoModel

    spec = electra_spec()
    assert spec.spec_hash_hex() == electra_spec().spec_hash_hex()
    teacher, data = default_teacher_dir(), default_dataset_dir(spec.seq_len)
    run = segment.run_segment(spec, TASK, 0, None, teacher, data, tmp_path / "seg0")
    assert run.losses[-1] < run.losses[0]
    again = segment.replay(spec, TASK, None, spec.segment_steps, teacher, data, run.leaves)
    assert again.first_mismatch is None and again.leaves == run.leaves
    nxt = segment.run_segment(spec, TASK, 1, run.checkpoint_dir, teacher, data, tmp_path / "seg1")
    part = segment.replay(spec, TASK, run.checkpoint_dir, 2 * spec.segment_steps, teacher, data,
                          nxt.leaves)
    assert part.first_mismatch is None
    loaded = AutoModel.from_pretrained(str(nxt.checkpoint_dir))
    assert type(loaded).__name__ == "ElectraModel" and loaded.config.embedding_size == 64


def test_electra_teacher_init_other_seed_changes_only_the_start_basis_succeeds() -> None:
    teacher = model.load_teacher(default_teacher_dir())
    a = model.build_student(electra_spec(), teacher).state_dict()
    b = model.build_student(electra_spec(seed=14), teacher).state_dict()
    layer, table = "encoder.layer.1.output.dense.weight", "embeddings.word_embeddings.weight"
    assert torch.equal(a[layer], b[layer])
    assert not torch.equal(a[table], b[table])


def test_eval_cli_teacher_scores_the_measured_correlation_succeeds(tmp_path: Path) -> None:
    teacher = default_teacher_dir()
    r = subprocess.run([sys.executable, "-m", "veritrain.cli.main", "eval", str(teacher), "--json"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    (rep,) = json.loads(r.stdout)
    assert rep["params"] == 22_713_216 and rep["heldout_kd_loss"] < 1e-6  # rounding of 1 - cos
    assert rep["pearson"] == pytest.approx(0.654, abs=0.001)
    assert rep["spearman"] == pytest.approx(0.504, abs=0.001)
    assert rep["heldout_teacher_cosine"] == pytest.approx(1.0, abs=1e-6)
    bad = subprocess.run([sys.executable, "-m", "veritrain.cli.main", "eval", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode != 0 and "no config.json" in " ".join(bad.stderr.split())
