"""How good is a model? The Lee et al. (2005) human-judged benchmark, and held-out distillation.

gensim's test data ships 50 news documents (``lee.cor``) with the mean human similarity rating
of every pair (``similarities0-1.txt``, upper triangle: 1,225 pairs). A model's document
similarity is the cosine of mean-pooled last hidden states (mapped by the pulled projection,
``veritrain_projection.safetensors``, when there is one), and its score is the Pearson and
Spearman correlation with the human ratings. The default corpus never contains ``lee.cor``
(prover.presets), so the documents are also the held-out text: the KD loss (the spec's loss when
the directory carries ``veritrain_spec.json``, else the default ``mse_hidden``) over them packed
into 128-token samples (fewer for a model with fewer positions) as in training, and the mean
cosine of document embeddings to the teacher.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: Tokens per document for embeddings, and per held-out sample (the default preset's seqLen).
MAX_TOKENS = 128
#: File a pulled directory carries with its task spec (canonical JSON).
SPEC_FILE = "veritrain_spec.json"


@dataclass(frozen=True)
class QualityReport:
    """One model's scores."""

    model: str
    params: int
    pearson: float
    spearman: float
    heldout_kd_loss: float
    heldout_teacher_cosine: float

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


def lee_benchmark() -> tuple[list[str], Any]:
    """The 50 documents and the 1,225 human ratings (upper triangle, row-major)."""
    import numpy as np

    from prover.presets import gensim_test_data

    data = gensim_test_data()
    raw = (data / "lee.cor").read_bytes()
    text = raw.decode("utf-8") if _is_utf8(raw) else raw.decode("latin-1")
    docs = [line for line in text.splitlines() if line.strip()]
    sims = np.loadtxt(data / "similarities0-1.txt")
    if len(docs) != 50 or sims.shape != (50, 50):
        raise ValueError(f"the Lee benchmark in {data} has {len(docs)} documents and a "
                         f"{sims.shape} rating matrix, expected 50 and (50, 50)")
    return docs, sims[np.triu_indices(50, 1)]


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def pearson(a: Any, b: Any) -> float:
    import numpy as np

    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    x, y = x - x.mean(), y - y.mean()
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))


def spearman(a: Any, b: Any) -> float:
    """Pearson of the ranks (ties get their average rank)."""
    from scipy.stats import rankdata

    return pearson(rankdata(a), rankdata(b))


def load(model_dir: str | Path) -> tuple[Any, Any, Any]:
    """(model, tokenizer, projection or None) of a model directory (student or teacher)."""
    from consumer.evaluate import load_student

    return load_student(model_dir)


def embed(loaded: tuple[Any, Any, Any], texts: list[str], batch: int = 10) -> Any:
    """Mean-pooled (then projected) embeddings of ``texts``, truncated to MAX_TOKENS."""
    import torch

    model, tok, proj = loaded
    out = []
    for i in range(0, len(texts), batch):
        enc = tok(texts[i: i + batch], padding=True, truncation=True,
                  max_length=max_tokens(model), return_tensors="pt")
        enc.pop("token_type_ids", None)
        with torch.no_grad():
            h = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
        pooled = (h * mask).sum(1) / mask.sum(1)
        out.append(pooled @ proj if proj is not None else pooled)
    return torch.cat(out)


def max_tokens(model: Any) -> int:
    """MAX_TOKENS, or fewer for a model with fewer positions (the tiny preset's 64)."""
    return min(MAX_TOKENS, int(model.config.max_position_embeddings))


def document_similarities(emb: Any) -> Any:
    import numpy as np
    import torch.nn.functional as F

    e = F.normalize(emb, dim=-1)
    return (e @ e.T).numpy()[np.triu_indices(e.shape[0], 1)]


def _samples(tok: Any, docs: list[str], length: int) -> Any:
    """Held-out docs packed into full ``length``-token samples, framed as training frames them."""
    import torch

    stream: list[int] = []
    for ids in tok(docs, add_special_tokens=False)["input_ids"]:
        stream += [*ids, tok.sep_token_id]
    win = length - 2
    n = len(stream) // win
    body = torch.tensor(stream[: n * win]).view(n, win)
    return torch.cat([torch.full((n, 1), tok.cls_token_id), body,
                      torch.full((n, 1), tok.sep_token_id)], 1)


def _loss_spec(model_dir: Path) -> Any:
    """An object with .loss and .profile as prover.model.kd_loss reads them."""
    from types import SimpleNamespace

    from prover.spec import LossSpec, load_spec

    spec_file = model_dir / SPEC_FILE
    loss = load_spec(spec_file).loss if spec_file.is_file() else LossSpec()
    return SimpleNamespace(loss=loss, profile=SimpleNamespace(name="stock-avx2-1"))


def heldout_kd_loss(student: tuple[Any, Any, Any], teacher: tuple[Any, Any, Any],
                    docs: list[str], model_dir: Path) -> float:
    """Mean KD loss of the student against the teacher over held-out samples (batches of 8)."""
    import torch

    from prover.model import kd_loss

    model, tok, proj = student
    ids = _samples(tok, docs, max_tokens(model))
    hidden = int(model.config.hidden_size)
    fixed = {"proj": proj if proj is not None else torch.eye(hidden)}
    spec = _loss_spec(model_dir)
    losses = []
    with torch.no_grad():
        for i in range(0, len(ids), 8):
            b = ids[i: i + 8]
            mask = torch.ones_like(b)
            h_s = model(input_ids=b, attention_mask=mask).last_hidden_state
            h_t = teacher[0](input_ids=b, attention_mask=mask).last_hidden_state
            losses.append(float(kd_loss(spec, h_s, h_t, fixed)) * len(b))
    return sum(losses) / len(ids)


def score(name: str, student: tuple[Any, Any, Any], teacher: tuple[Any, Any, Any],
          model_dir: Path | None = None) -> QualityReport:
    """The scores of a loaded model (``model_dir``: where to look for its spec's loss)."""
    import torch.nn.functional as F

    docs, human = lee_benchmark()
    emb_s, emb_t = embed(student, docs), embed(teacher, docs)
    sims = document_similarities(emb_s)
    return QualityReport(
        model=name, params=sum(p.numel() for p in student[0].parameters()),
        pearson=pearson(sims, human), spearman=spearman(sims, human),
        heldout_kd_loss=heldout_kd_loss(student, teacher, docs, model_dir or Path(name)),
        heldout_teacher_cosine=float(F.cosine_similarity(emb_s, emb_t, dim=-1).mean()))


def evaluate(model_dir: str | Path, teacher_dir: str | Path,
             teacher: tuple[Any, Any, Any] | None = None) -> QualityReport:
    """Lee correlations, held-out KD loss and teacher cosine of the model in ``model_dir``."""
    d = Path(model_dir)
    return score(str(d), load(d), teacher or load(teacher_dir), d)
