"""A pulled student, ready to use: sentence-transformers modules and a model card.

Beside the transformers files a pull writes what ``sentence_transformers.SentenceTransformer(dir)``
reads (``modules.json``, ``sentence_bert_config.json``, ``1_Pooling/`` mean pooling and, when
the spec's projection is not the identity, ``2_Dense/``: that fixed projection as a bias-free
linear layer), so both loaders give the embedding ``veritrain eval`` scores. ``README.md`` is
the model card: where the model came from (chain, task, CIDs, steps, disputes) and its scores.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from consumer.quality import QualityReport
    from prover.spec import TaskSpec

MODULES = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
]
DENSE = {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}


def _json(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def is_identity(proj: torch.Tensor) -> bool:
    import torch

    return proj.shape[0] == proj.shape[1] and bool(torch.equal(proj, torch.eye(proj.shape[0])))


def write_sentence_transformers(model_dir: Path, proj: torch.Tensor, max_seq_length: int) -> None:
    """The module files of a Transformer -> mean Pooling [-> Dense(proj)] pipeline."""
    from safetensors.torch import save_file

    modules = list(MODULES)
    if not is_identity(proj):
        modules.append(DENSE)
        dense = model_dir / "2_Dense"
        _json(dense / "config.json", {"in_features": int(proj.shape[0]),
                                      "out_features": int(proj.shape[1]), "bias": False,
                                      "activation_function": "torch.nn.modules.linear.Identity"})
        save_file({"linear.weight": proj.t().contiguous()}, str(dense / "model.safetensors"))
    _json(model_dir / "modules.json", modules)
    _json(model_dir / "sentence_bert_config.json",
          {"max_seq_length": max_seq_length, "do_lower_case": False})
    _json(model_dir / "config_sentence_transformers.json", {"similarity_fn_name": "cosine"})
    _json(model_dir / "1_Pooling" / "config.json",
          {"word_embedding_dimension": int(proj.shape[0]), "pooling_mode_cls_token": False,
           "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
           "pooling_mode_mean_sqrt_len_tokens": False})


def _table(rows: list[tuple[str, str]]) -> str:
    return "\n".join(["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])


def model_card(prov: dict[str, Any], spec: TaskSpec, disputes: int,
               scores: list[QualityReport] | None) -> str:
    """README.md of a pulled student."""
    cfg = spec.student.config
    arch = cfg.get("model_type", "bert")
    init = spec.student.init
    quality = "Not evaluated at pull time (run `veritrain eval DIR`)."
    if scores:
        quality = "\n".join([
            "Lee et al. (2005) benchmark: correlation of document cosines (mean pooling) with "
            "human similarity ratings of 1,225 pairs of 50 news documents (never trained on); "
            "held-out KD loss and cosine to the teacher on the same documents.", "",
            "| model | params | Pearson | Spearman | held-out KD loss | cosine to teacher |",
            "|---|---|---|---|---|---|",
            *(f"| {r.model} | {r.params:,} | {r.pearson:.3f} | {r.spearman:.3f} | "
              f"{r.heldout_kd_loss:.4f} | {r.heldout_teacher_cosine:.3f} |" for r in scores)])
    status = "final (challenge window passed, no open dispute)" if prov["final"] else \
        "NOT final (pulled with --allow-unfinalized: not audited yet)"
    return f"""---
library_name: sentence-transformers
pipeline_tag: sentence-similarity
tags: [sentence-transformers, feature-extraction, knowledge-distillation, veritrain]
---

# veritrain student: task {prov['taskId']}, step {prov['step']}

A {arch} student ({cfg['num_hidden_layers']} layers, width {cfg['hidden_size']}) distilled from
teacher `{spec.teacher.cid}` by a veritrain node and checked against the chain by the consumer:
every block matched its CID and the training state re-hashes to the on-chain `endStateHash`.

```python
from sentence_transformers import SentenceTransformer
model = SentenceTransformer("<this directory>")   # or transformers.AutoModel
embeddings = model.encode(["A sentence.", "Another one."])
```

## Provenance

{_table([
    ("chain id", str(prov["chainId"])), ("TaskMarket", f"`{prov['taskMarket']}`"),
    ("task", str(prov["taskId"])), ("segment", f"{prov['segment']} ({status})"),
    ("steps", f"{prov['step']} of {spec.total_steps}"),
    ("disputes open on this segment", str(disputes)),
    ("commit tx", f"`{prov['txHash']}` (block {prov['blockNumber']})"),
    ("node", f"`{prov['node']}`"), ("spec hash", f"`{prov['specHash']}`"),
    ("spec CID", f"`{prov['specCid']}`"), ("checkpoint CID", f"`{prov['checkpointCid']}`"),
    ("leaves CID", f"`{prov['leavesCid']}`"), ("teacher CID", f"`{prov['teacherCid']}`"),
    ("dataset manifest CID", f"`{spec.dataset.manifest_cid}`"),
    ("end state hash", f"`{prov['endStateHash']}`"),
    ("student init", f"{init.method} (teacher layers {init.layers or 'n/a'})"),
    ("loss", f"{spec.loss.type}, alpha {spec.loss.alpha}"),
])}

## Evaluation

{quality}
"""
