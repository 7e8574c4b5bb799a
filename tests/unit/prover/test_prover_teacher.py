"""Bring your own teacher: the real MiniLM passes; every kind of unfit directory is refused with
a message that names what is wrong and what is supported (also through `task create`)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from prover.errors import TeacherError
from prover.presets import default_teacher_dir, preset_spec
from prover.teacher import validate_teacher_dir


def _copy(tmp: Path) -> Path:
    """A teacher dir of links to the real files (config.json copied, so it can be edited)."""
    src, d = default_teacher_dir(), tmp / "teacher"
    d.mkdir()
    for f in src.iterdir():
        if f.is_file() and f.name != "config.json":
            os.symlink(f, d / f.name)
    (d / "config.json").write_text((src / "config.json").read_text())
    return d


def _edit_config(**changes: object) -> Callable[[Path], None]:
    def edit(d: Path) -> None:
        cfg = json.loads((d / "config.json").read_text())
        cfg.update(changes)
        (d / "config.json").write_text(json.dumps(cfg))
    return edit


def _remove(*names: str) -> Callable[[Path], None]:
    def edit(d: Path) -> None:
        for n in names:
            (d / n).unlink()
    return edit


def _pickled(d: Path) -> None:
    (d / "model.safetensors").unlink()
    (d / "pytorch_model.bin").write_bytes(b"\x80\x04pickle")


def test_validate_teacher_dir_real_minilm_succeeds(tmp_path: Path) -> None:
    info = validate_teacher_dir(default_teacher_dir())
    assert (info.hidden_size, info.num_layers, info.vocab_size) == (384, 6, 30522)
    assert validate_teacher_dir(_copy(tmp_path)).hidden_size == 384


@pytest.mark.parametrize(("edit", "match"), [
    (_edit_config(model_type="roberta"), "model_type is 'roberta', not 'bert'"),
    (_edit_config(hidden_size=0), "lacks positive integers hidden_size"),
    (_edit_config(vocab_size=1000), r"word_embeddings.weight is \(30522, 384\), config.json says "
                                    r"\(1000, 384\)"),
    (_edit_config(num_hidden_layers=8), "lacks encoder.layer.7.output.dense.weight"),
    (_remove("config.json"), "no config.json"),
    (_remove("tokenizer.json", "vocab.txt"), "no tokenizer.json or vocab.txt"),
    (_remove("model.safetensors"), "no model.safetensors"),
    (_pickled, "pickled pytorch_model.bin"),
])
def test_validate_teacher_dir_unfit_reverts(tmp_path: Path, edit: Callable[[Path], None],
                                            match: str) -> None:
    d = _copy(tmp_path)
    edit(d)
    with pytest.raises(TeacherError, match=match) as exc:
        validate_teacher_dir(d)
    assert "BERT-family encoder directory" in str(exc.value.hint)


def test_task_create_foreign_teacher_reverts(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from veritrain.cli.main import main

    d = _copy(tmp_path)
    _edit_config(model_type="gpt2")(d)
    spec_file = tmp_path / "spec.json"
    spec_file.write_bytes(preset_spec("tiny").canonical_bytes())
    monkeypatch.setenv("VERITRAIN_HOME", str(tmp_path / "home"))
    rc = main(["task", "create", "--spec", str(spec_file), "--reward", "1", "--teacher", str(d)])
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert rc == 1, err  # a prover error, refused before anything is uploaded or sent
    assert "model_type is 'gpt2', not 'bert'" in err and "BERT-family encoder directory" in err
