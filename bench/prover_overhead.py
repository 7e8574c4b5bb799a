"""Prover benchmarks, ratios measured side by side in one run (the machine is shared: absolute
times are noisy, ratios of interleaved measurements much less so).

- commitment overhead: training step with state hashing + leaves vs without
  (inline sha256, inline BLAKE3, inline tree-v2; BLAKE3 and tree-v2 (state hash v2, the tensor
  commitments of docs/referee.md) on a background thread overlapping the next step)
- determinism tax: step time under the spec's profile (default: the default profile) vs stock
  torch (a stock profile's spec run without its pins or checks: plain torch kernels, as users
  run it), same thread count (two worker processes, alternated)
- replay speed: replay step time vs training step time (same process, interleaved)

    .venv/bin/python bench/prover_overhead.py [--preset default|tiny] [--steps 24] [--rounds 2]
                                              [--profile repfma-1] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def _worker(args: argparse.Namespace) -> None:
    from prover import merkle, statehash
    from prover.presets import default_teacher_dir
    from prover.segment import _loop
    from prover.spec import load_spec
    from prover.train import Trainer

    spec = load_spec(args.spec)
    pinned = args.worker == "pinned"
    if not pinned:
        import torch

        torch.set_num_threads(spec.profile.threads)
    tr = Trainer(spec, 1, default_teacher_dir(), args.dataset, None, check_profile=pinned)
    times: dict[str, list[float]] = {}  # wall seconds per step
    # process CPU seconds per step (all threads: hashing included)
    cpu: dict[str, list[float]] = {}

    def timed(name: str, fn: Any) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.setdefault(name, []).append(time.perf_counter() - t0)
        cpu.setdefault(name, []).append(time.process_time() - c0)

    def inline(algo: str) -> None:
        tr.step()
        h = statehash.state_hash(algo, tr.student, tr.optimizer, tr.step_no, tr.rng, tr.cursor)
        merkle.leaf(1, tr.step_no, h)

    def hash_only(algo: str) -> None:
        statehash.state_hash(algo, tr.student, tr.optimizer, tr.step_no, tr.rng, tr.cursor)

    for _ in range(2):  # warm-up
        tr.step()
    modes = {"plain": tr.step}
    if pinned:
        modes |= {"inline-sha256": lambda: inline("sha256"),
                  "inline-blake3": lambda: inline("blake3"),
                  "inline-tree-v2": lambda: inline("tree-v2"),
                  # the hash alone (no step): its CPU against a step's is the overhead's floor
                  # when no core is idle, and far less noisy than a difference of two step times
                  "hash-only-blake3": lambda: hash_only("blake3"),
                  "hash-only-tree-v2": lambda: hash_only("tree-v2")}
    # the same trainer under a tree-v2 spec (only the hash differs: same batches, same kernels)
    v2 = spec.model_copy(update={"state_hash": "tree-v2"})
    block = 2
    for _ in range(max(1, args.steps // block)):
        for name, fn in modes.items():
            for _ in range(block):
                timed(name, fn)
        if pinned:  # the production loop (overlapped hashing), as train and as replay
            for name, expected, sp in (("train-overlap", None, spec), ("replay", {}, spec),
                                       ("train-overlap-tree-v2", None, v2)):
                tr.spec = sp
                t0, c0 = time.perf_counter(), time.process_time()
                _loop(tr, tr.step_no + block, expected=expected)
                tr.spec = spec
                times.setdefault(name, []).extend([(time.perf_counter() - t0) / block] * block)
                cpu.setdefault(name, []).extend([(time.process_time() - c0) / block] * block)
    sizes = sum(t.numel() * t.element_size() for _, t in statehash.param_tensors(tr.student))
    sizes_opt = sum(t.numel() * t.element_size()
                    for _, t in statehash.optimizer_tensors(tr.student, tr.optimizer))
    print(json.dumps({"times": times, "cpu": cpu, "paramBytes": sizes,
                      "optimizerBytes": sizes_opt}))


def _run_worker(kind: str, spec: Path, dataset: Path, steps: int) -> dict[str, Any]:
    from prover import profile
    from prover.spec import load_spec

    s = load_spec(spec)
    pins = profile.env(s)
    env = {k: v for k, v in os.environ.items() if k not in pins and k != profile.REEXEC_GUARD}
    threads = str(s.profile.threads)
    env |= pins if kind == "pinned" else {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    out = subprocess.run([sys.executable, __file__, "--worker", kind, "--spec", str(spec),
                          "--dataset", str(dataset), "--steps", str(steps)],
                         env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        sys.exit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="default")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--worker")
    ap.add_argument("--spec")
    ap.add_argument("--dataset")
    ap.add_argument("--profile", help="profile under test (default: the default profile)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if args.worker:
        return _worker(args)

    from prover.presets import PRESETS, default_dataset_dir, home, preset_spec
    from prover.profile import DEFAULT_PROFILE

    data = default_dataset_dir(PRESETS[args.preset]["seqLen"])
    spec = preset_spec(args.preset, dataset_dir=data, threads=args.threads,
                       profile_name=args.profile or DEFAULT_PROFILE)
    spec_file = home() / f"bench-{args.preset}-{spec.profile.name}-{args.threads}.json"
    spec_file.write_bytes(spec.canonical_bytes())
    # the baseline: stock torch kernels and ops (a stock profile's code path), no pins
    stock = preset_spec(args.preset, dataset_dir=data, threads=args.threads,
                        profile_name="stock-avx2-1")
    stock_file = home() / f"bench-{args.preset}-stock-{args.threads}.json"
    stock_file.write_bytes(stock.canonical_bytes())
    files = {"pinned": spec_file, "unpinned": stock_file}
    merged: dict[str, dict[str, dict[str, list[float]]]] = {
        m: {"pinned": {}, "unpinned": {}} for m in ("times", "cpu")}
    for _ in range(args.rounds):  # alternate the two processes to share the noise
        for kind in ("pinned", "unpinned"):
            res = _run_worker(kind, files[kind], data, args.steps)
            for m in ("times", "cpu"):
                for k, v in res[m].items():
                    merged[m][kind].setdefault(k, []).extend(v)
    med = {m: {kind: {k: statistics.median(v) for k, v in d.items()} for kind, d in md.items()}
           for m, md in merged.items()}
    print(f"preset {args.preset}: student {res['paramBytes'] / 1e6:.1f} MB params + "
          f"{res['optimizerBytes'] / 1e6:.1f} MB optimizer state hashed per step; "
          f"{args.rounds} rounds x {args.steps} steps per mode, medians; profile "
          f"{spec.profile.name}, {args.threads} thread(s); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
          + ("  WARNING: above 1, figures measured under load" if os.getloadavg()[0] > 1 else ""))
    print(f"{'mode':<26}{'wall ms':>10}{'ratio':>8}{'cpu ms':>10}{'ratio':>8}")
    w, c = med["times"]["pinned"], med["cpu"]["pinned"]
    for k in ("plain", "inline-sha256", "inline-blake3", "inline-tree-v2", "train-overlap",
              "train-overlap-tree-v2", "replay"):
        print(f"{'pinned ' + k:<26}{1e3 * w[k]:>10.1f}{w[k] / w['plain']:>8.3f}"
              f"{1e3 * c[k]:>10.1f}{c[k] / c['plain']:>8.3f}")
    uw, uc = med["times"]["unpinned"]["plain"], med["cpu"]["unpinned"]["plain"]
    print(f"{'stock torch plain':<26}{1e3 * uw:>10.1f}{uw / w['plain']:>8.3f}"
          f"{1e3 * uc:>10.1f}{uc / c['plain']:>8.3f}")
    print()
    print("commitment overhead, BLAKE3 overlapped with the next step + leaves: "
          f"wall {100 * (w['train-overlap'] / w['plain'] - 1):+.1f}%, "
          f"CPU {100 * (c['train-overlap'] / c['plain'] - 1):+.1f}% (the hash's cost "
          "when no core is idle)")
    print("state hash v2 (tree-v2) overlapped with the next step + leaves: wall "
          f"{100 * (w['train-overlap-tree-v2'] / w['plain'] - 1):+.1f}% (target <= 3%), CPU "
          f"{100 * (c['train-overlap-tree-v2'] / c['plain'] - 1):+.1f}%; inline tree-v2 wall "
          f"{100 * (w['inline-tree-v2'] / w['plain'] - 1):+.1f}% / CPU "
          f"{100 * (c['inline-tree-v2'] / c['plain'] - 1):+.1f}%")
    for algo in ("blake3", "tree-v2"):
        k = f"hash-only-{algo}"
        print(f"  {algo} state hash alone: {1e3 * c[k]:.1f} ms CPU = "
              f"{100 * c[k] / c['plain']:.1f}% of a plain step's CPU "
              f"({1e3 * w[k]:.1f} ms wall = {100 * w[k] / w['plain']:.1f}% of its wall)")
    print(f"  inline: sha256 wall {100 * (w['inline-sha256'] / w['plain'] - 1):+.1f}% / CPU "
          f"{100 * (c['inline-sha256'] / c['plain'] - 1):+.1f}%, blake3 wall "
          f"{100 * (w['inline-blake3'] / w['plain'] - 1):+.1f}% / CPU "
          f"{100 * (c['inline-blake3'] / c['plain'] - 1):+.1f}%")
    print(f"determinism tax ({spec.profile.name} / stock torch unpinned, plain step, "
          f"{args.threads} thread(s)): wall {w['plain'] / uw:.2f}x, CPU {c['plain'] / uc:.2f}x")
    print(f"replay speed (replay / training step): wall {w['replay'] / w['train-overlap']:.2f}x, "
          f"CPU {c['replay'] / c['train-overlap']:.2f}x")


if __name__ == "__main__":
    main()
