"""Bring your own teacher: checks that a local directory is an encoder the prover can distil.

Supported: BERT-family encoders in the Hugging Face layout that ``transformers`` loads as a
``BertModel`` (config.json ``model_type: "bert"``, e.g. all-MiniLM-L6-v2, bert-base-uncased,
BGE/E5-small), with a WordPiece tokenizer carrying [CLS]/[SEP] and weights in
``model.safetensors`` (pickled ``pytorch_model.bin`` files are refused: loading one runs code).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from prover.errors import TeacherError

SUPPORTED = ("a BERT-family encoder directory: config.json with model_type 'bert', a tokenizer "
             "(tokenizer.json or vocab.txt) with [CLS]/[SEP], and model.safetensors")
#: config.json fields every teacher needs, positive integers.
REQUIRED = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
            "vocab_size", "max_position_embeddings")


@dataclass(frozen=True)
class TeacherInfo:
    """What a validated teacher directory holds."""

    path: Path
    hidden_size: int
    num_layers: int
    vocab_size: int


def _refuse(d: Path, why: str) -> TeacherError:
    return TeacherError(f"teacher {d} is not supported: {why}", hint=f"pass {SUPPORTED}")


def validate_teacher_dir(teacher_dir: str | Path) -> TeacherInfo:
    """Architecture, config, tokenizer and weights of ``teacher_dir``; TeacherError if unfit."""
    d = Path(teacher_dir)
    if not d.is_dir():
        raise TeacherError(f"teacher dir {d} does not exist", hint=f"pass {SUPPORTED}")
    try:
        cfg = json.loads((d / "config.json").read_text())
    except FileNotFoundError:
        raise _refuse(d, "no config.json") from None
    except (OSError, ValueError) as exc:
        raise _refuse(d, f"config.json is unreadable: {exc}") from None
    if not isinstance(cfg, dict) or cfg.get("model_type") != "bert":
        got = cfg.get("model_type") if isinstance(cfg, dict) else type(cfg).__name__
        raise _refuse(d, f"config.json model_type is {got!r}, not 'bert'")
    bad = [k for k in REQUIRED if not isinstance(cfg.get(k), int) or cfg[k] <= 0]
    if bad:
        raise _refuse(d, f"config.json lacks positive integers {', '.join(bad)}")
    if not (d / "model.safetensors").is_file():
        pickled = (d / "pytorch_model.bin").is_file()
        raise _refuse(d, "weights are a pickled pytorch_model.bin; convert them to "
                      "model.safetensors"
                      if pickled else "no model.safetensors")
    _check_weights(d, cfg)
    _check_tokenizer(d, cfg)
    return TeacherInfo(d, cfg["hidden_size"], cfg["num_hidden_layers"], cfg["vocab_size"])


def _check_weights(d: Path, cfg: dict[str, int]) -> None:
    from safetensors import safe_open

    try:
        with safe_open(str(d / "model.safetensors"), "pt") as f:
            shapes = {k.removeprefix("bert."): tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118
    except Exception as exc:  # safetensors raises its own error types for a corrupt header
        raise _refuse(d, f"model.safetensors is unreadable: {exc}") from None
    want = (cfg["vocab_size"], cfg["hidden_size"])
    got = shapes.get("embeddings.word_embeddings.weight")
    if got != want:
        raise _refuse(d, f"model.safetensors embeddings.word_embeddings.weight is {got}, "
                      f"config.json says {want}")
    last = f"encoder.layer.{cfg['num_hidden_layers'] - 1}.output.dense.weight"
    if last not in shapes:
        raise _refuse(d, f"model.safetensors lacks {last} (config.json says "
                      f"{cfg['num_hidden_layers']} layers)")


def _check_tokenizer(d: Path, cfg: dict[str, int]) -> None:
    if not ((d / "tokenizer.json").is_file() or (d / "vocab.txt").is_file()):
        raise _refuse(d, "no tokenizer.json or vocab.txt")
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(d))
    except Exception as exc:  # transformers raises many kinds here
        raise _refuse(d, f"its tokenizer does not load: {exc}") from None
    if tok.cls_token_id is None or tok.sep_token_id is None:
        raise _refuse(d, "its tokenizer has no [CLS]/[SEP] tokens")
    if len(tok) > cfg["vocab_size"]:
        raise _refuse(d, f"its tokenizer has {len(tok)} tokens, more than vocab_size "
                      f"{cfg['vocab_size']}")
