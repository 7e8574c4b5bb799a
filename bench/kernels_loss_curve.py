"""Numerics of profile repcpu-2: the student's loss curve under the fixed-order kernels vs stock
torch (profile stock-avx2-1 with its pins), same preset, seed and data otherwise.

Both runs train concurrently in fresh processes (each started with its profile's environment);
the losses are written to JSON and plotted into docs/img/kernels_loss_curve.png (matplotlib,
Agg). Prints the largest relative difference over the run and over the last 10 steps.

Usage: python bench/kernels_loss_curve.py [--steps 100] [--preset default] [--out docs/img]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

PROFILES = ("stock-avx2-1", "repcpu-2")
ROOT = Path(__file__).resolve().parents[1]


def worker(spec_file: str, dataset_dir: str, steps: int, out: str) -> None:
    from prover.presets import default_teacher_dir
    from prover.spec import load_spec
    from prover.train import Trainer

    tr = Trainer(load_spec(spec_file), 1, default_teacher_dir(), dataset_dir)
    losses = []
    for _ in range(steps):
        loss, _ = tr.step()
        losses.append(loss)
    Path(out).write_text(json.dumps(losses))


def run(steps: int, preset: str, out_dir: Path) -> dict[str, list[float]]:
    from prover import profile
    from prover.presets import PRESETS, default_dataset_dir, home, preset_spec

    data = default_dataset_dir(PRESETS[preset]["seqLen"])
    procs = {}
    pins = {k for name in PROFILES for k in profile.env_for(name, 1)} | {profile.REEXEC_GUARD}
    for name in PROFILES:
        spec = preset_spec(preset, threads=1, dataset_dir=data, profile_name=name)
        spec_file = home() / f"bench-loss-{preset}-{name}.json"
        spec_file.write_bytes(spec.canonical_bytes())
        env = {k: v for k, v in os.environ.items() if k not in pins} | profile.env(spec)
        out = home() / f"bench-loss-{preset}-{name}.out.json"
        procs[name] = (out, subprocess.Popen(
            [sys.executable, __file__, "--worker", str(spec_file), str(data), str(out),
             "--steps", str(steps)], env=env))
    curves = {}
    for name, (out, proc) in procs.items():
        if proc.wait():
            sys.exit(f"{name} run failed")
        curves[name] = json.loads(out.read_text())
    (out_dir / "kernels_loss_curve.json").write_text(json.dumps(curves, indent=1) + "\n")
    return curves


def plot(curves: dict[str, list[float]], preset: str, out_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a, b = (curves[n] for n in PROFILES)
    steps = range(1, len(a) + 1)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1.3]})
    top.plot(steps, a, label="stock torch (stock-avx2-1)", lw=1.6)
    top.plot(steps, b, label="fixed-order kernels (repcpu-2)", lw=1.2, ls="--")
    top.set_ylabel("KD loss")
    top.set_title(f"Student KD loss, preset {preset}, same seed and data")
    top.legend()
    rel = [(y - x) / abs(x) for x, y in zip(a, b, strict=True)]
    bottom.plot(steps, rel, color="tab:red", lw=1)
    bottom.axhline(0, color="gray", lw=0.6)
    bottom.set_ylabel("relative diff")
    bottom.set_xlabel("step")
    fig.tight_layout()
    path = out_dir / "kernels_loss_curve.png"
    fig.savefig(path, dpi=110)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--plot-only", action="store_true", help="replot the saved JSON")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker[:2], args.steps, args.worker[2])
        return
    args.out.mkdir(parents=True, exist_ok=True)
    if args.plot_only:
        curves = json.loads((args.out / "kernels_loss_curve.json").read_text())
    else:
        curves = run(args.steps, args.preset, args.out)
    path = plot(curves, args.preset, args.out)
    a, b = (curves[n] for n in PROFILES)
    rel = [abs(y - x) / abs(x) for x, y in zip(a, b, strict=True)]
    print(f"steps {len(a)}: loss {a[0]:.4f} -> {a[-1]:.4f} (stock), {b[0]:.4f} -> {b[-1]:.4f} "
          f"(repcpu-2); max |rel diff| {max(rel):.2e}, last 10 steps {max(rel[-10:]):.2e}")
    print(path)


if __name__ == "__main__":
    main()
