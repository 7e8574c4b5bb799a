"""Does a pulled student work? Sentence embeddings of student vs teacher on held-out text.

The student is distilled on last hidden states mapped to the teacher's width by the spec's fixed
projection (``veritrain_projection.safetensors`` beside a pulled model), so its sentence
embedding is ``mean_pool(h_student) @ proj``, compared with the teacher's mean-pooled embedding
(all-MiniLM's own pooling).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consumer.pull import PROJECTION_FILE

#: Held-out sentence pairs (not from the training corpus): each pair says the same thing twice.
PAIRS: tuple[tuple[str, str], ...] = (
    ("The central bank raised interest rates to slow inflation.",
     "Borrowing costs went up after the monetary policy decision."),
    ("Firefighters battled the bushfire through the night.",
     "Crews worked until dawn to contain the blaze."),
    ("The striker scored twice in the final minutes of the match.",
     "A late double from the forward won the game."),
    ("Heavy rain caused flooding across the northern towns.",
     "Rivers burst their banks after days of storms."),
    ("Parliament passed the new budget after a long debate.",
     "Lawmakers finally approved the government's spending plan."),
    ("The airline cancelled flights because of a pilots' strike.",
     "Planes stayed grounded as the crews walked out."),
)


@dataclass
class EmbeddingReport:
    """Cosine of student vs teacher per sentence, and nearest-neighbour agreement on the pairs."""

    cosines: list[float]
    #: For each pair's first sentence: index of the nearest second sentence (student, teacher).
    nn_student: list[int]
    nn_teacher: list[int]

    @property
    def mean_cosine(self) -> float:
        return sum(self.cosines) / len(self.cosines)

    @property
    def nn_correct(self) -> int:
        return sum(1 for i, j in enumerate(self.nn_student) if i == j)

    @property
    def nn_agree(self) -> int:
        return sum(1 for a, b in zip(self.nn_student, self.nn_teacher, strict=True) if a == b)


def _embed(model: Any, tok: Any, sentences: list[str], proj: Any | None) -> Any:
    import torch

    enc = tok(sentences, padding=True, truncation=True, max_length=64, return_tensors="pt")
    enc.pop("token_type_ids", None)
    with torch.no_grad():
        h = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
    pooled = (h * mask).sum(1) / mask.sum(1)
    return pooled @ proj if proj is not None else pooled


def load_student(model_dir: str | Path) -> tuple[Any, Any, Any]:
    """(model, tokenizer, projection) of a pulled student directory."""
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    d = Path(model_dir)
    model = AutoModel.from_pretrained(str(d)).eval()
    tok = AutoTokenizer.from_pretrained(str(d))
    proj = load_file(str(d / PROJECTION_FILE))["proj"] if (d / PROJECTION_FILE).is_file() else None
    return model, tok, proj


def compare(student_dir: str | Path, teacher_dir: str | Path,
            pairs: tuple[tuple[str, str], ...] = PAIRS) -> EmbeddingReport:
    """Student vs teacher embeddings on ``pairs``."""
    import torch.nn.functional as F
    from transformers import AutoModel, AutoTokenizer

    model, tok, proj = load_student(student_dir)
    teacher = AutoModel.from_pretrained(str(teacher_dir)).eval()
    ttok = AutoTokenizer.from_pretrained(str(teacher_dir))
    firsts, seconds = [a for a, _ in pairs], [b for _, b in pairs]
    s1, s2 = _embed(model, tok, firsts, proj), _embed(model, tok, seconds, proj)
    t1, t2 = _embed(teacher, ttok, firsts, None), _embed(teacher, ttok, seconds, None)
    cos = (
        F.cosine_similarity(s1, t1, dim=-1).tolist() + F.cosine_similarity(s2, t2, dim=-1).tolist()
    )

    def nearest(a: Any, b: Any) -> list[int]:
        sim = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T
        return [int(i) for i in sim.argmax(dim=-1)]

    return EmbeddingReport([float(c) for c in cos], nearest(s1, s2), nearest(t1, t2))
