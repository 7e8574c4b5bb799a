"""Quality you can see grow: train a preset through the prover and score it every N steps.

The student trains exactly as a node trains it (prover.train.Trainer, the spec's determinism
profile); every ``--every`` steps it is scored on the Lee et al. human-judged benchmark (Pearson
and Spearman of its document cosines with the human ratings) and on held-out distillation (KD
loss, cosine to the teacher) by consumer.quality, beside the teacher's own scores. Writes
``docs/img/quality.json`` and plots ``docs/img/quality.png`` (matplotlib, Agg).

Usage: python bench/quality_bench.py [--preset default] [--steps N] [--every 16] [--out docs/img]
       (default --steps: the preset's totalSteps; prints the load average: figures taken on a
       loaded machine are labelled so)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Share of the teacher's Pearson correlation the default student must reach (issue #21).
TARGET_SHARE = 0.95


def train_and_score(preset: str, steps: int, every: int, log: Any = print) -> dict[str, Any]:
    import torch

    from consumer.quality import load, score
    from prover.presets import PRESETS, default_dataset_dir, default_teacher_dir, preset_spec
    from prover.train import Trainer

    data = default_dataset_dir(PRESETS[preset]["seqLen"])
    spec = preset_spec(preset, threads=1, dataset_dir=data)
    teacher_dir = default_teacher_dir()
    trainer = Trainer(spec, 1, teacher_dir, data)
    teacher = load(teacher_dir)
    tok = teacher[1]
    proj = trainer.fixed["proj"]
    eye = proj.shape[0] == proj.shape[1] and bool(torch.equal(proj, torch.eye(proj.shape[0])))
    student = (trainer.student, tok, None if eye else proj)
    t_report = score("teacher", teacher, teacher, ROOT)
    log(f"teacher: Pearson {t_report.pearson:.3f}  Spearman {t_report.spearman:.3f}")
    points, losses, t0 = [], [], time.time()
    for step in range(steps + 1):
        if step:
            loss, _ = trainer.step()
            losses.append(loss)
        if step % every == 0 or step == steps:
            r = score(f"step {step}", student, teacher, ROOT)
            points.append({"step": step, **r.to_doc(), "trainSeconds": time.time() - t0})
            log(f"step {step:5d}: Pearson {r.pearson:.3f}  Spearman {r.spearman:.3f}  "
                f"held-out KD {r.heldout_kd_loss:.4f}  cos(teacher) {r.heldout_teacher_cosine:.3f}"
                f"  ({time.time() - t0:.0f}s, load {os.getloadavg()[0]:.1f})")
    return {"preset": preset, "specHash": spec.spec_hash_hex(), "profile": spec.profile.name,
            "threads": spec.profile.threads, "studentParams": points[0]["params"],
            "teacherParams": t_report.params, "teacher": t_report.to_doc(), "points": points,
            "trainLosses": losses, "loadavg": os.getloadavg()}


def plot(doc: dict[str, Any], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [p["step"] for p in doc["points"]]
    teacher = doc["teacher"]["pearson"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot(steps, [p["pearson"] for p in doc["points"]], "o-", label="student (Pearson)")
    a.plot(steps, [p["spearman"] for p in doc["points"]], "s--", alpha=0.6,
           label="student (Spearman)")
    size = f"{doc['teacherParams'] / 1e6:.1f}M"
    a.axhline(teacher, color="k", label=f"teacher {teacher:.3f} ({size})")
    a.axhline(TARGET_SHARE * teacher, color="g", ls=":",
              label=f"target {TARGET_SHARE:.0%} of teacher")
    a.set(xlabel="training step", ylabel="correlation with human ratings",
          title=f"Lee benchmark: {doc['studentParams'] / 1e6:.2f}M student, preset {doc['preset']}")
    a.legend(fontsize=8)
    b.plot(steps, [p["heldout_kd_loss"] for p in doc["points"]], "o-", color="C3")
    b.set(xlabel="training step", ylabel="KD loss on held-out lee.cor text",
          title="held-out distillation loss (teacher: 0)")
    load = max(doc["loadavg"])
    note = f"measured under load (load avg {load:.1f})" if load > 1 else "quiet machine"
    fig.suptitle(f"profile {doc['profile']}, {doc['threads']} thread(s), {note}", fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--steps", type=int, default=None, help="default: the preset's totalSteps")
    ap.add_argument("--every", type=int, default=16)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = ap.parse_args()
    from prover.presets import PRESETS

    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if load[0] > 1:
        print("WARNING: load average above 1: figures are measured under load")
    steps = args.steps or int(PRESETS[args.preset]["totalSteps"])
    doc = train_and_score(args.preset, steps, args.every)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality.json").write_text(json.dumps(doc, indent=1) + "\n")
    plot(doc, args.out / "quality.png")
    best = max(doc["points"], key=lambda p: p["pearson"])
    share = best["pearson"] / doc["teacher"]["pearson"]
    first = next((p["step"] for p in doc["points"]
                  if p["pearson"] >= TARGET_SHARE * doc["teacher"]["pearson"]), None)
    print(f"best Pearson {best['pearson']:.3f} at step {best['step']} = {share:.1%} of the teacher;"
          f" {TARGET_SHARE:.0%} first reached at step {first}; wrote {args.out / 'quality.png'}")


if __name__ == "__main__":
    main()
