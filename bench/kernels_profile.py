"""Where the kernels' KD step spends its time, kernel by kernel, at 1 and 2 threads.

Counts CPU time, not only wall time, so the figures mean something on a loaded machine: for
every kernel call (each ``prover.kernels.ops`` function, GEMMs grouped by shape) it records the
wall time, the calling thread's CPU time (``time.thread_time``: the share the main thread ran
itself) and the process's CPU time (``time.process_time``: every thread, so the pool workers'
share is the difference). At 2 threads a kernel that splits well has main ~ workers ~ half its
1-thread CPU; a serial one has everything on the main thread. What is left of the step outside
the kernels (torch's own ops, autograd, Python) is one more row.

The "critical path" column is max(main CPU, workers' CPU) per kernel: the wall time the kernel
would take on a quiet machine with a core per thread (barrier waits and wake-ups excluded, so
it is a lower bound); its sum over the step, divided by the 1-thread CPU time, estimates the
2-thread/1-thread ratio on a quiet machine. Each thread count runs in a fresh process, with
``OMP_WAIT_POLICY=PASSIVE`` so that waiting threads sleep: OpenMP's default spin-wait would
count as CPU time (on a loaded machine, a lot of it). Use ``kernels_bench.py`` for wall times.

Usage:
    .venv/bin/python bench/kernels_profile.py [--preset default] [--profile repfma-1]
        [--steps 3] [--threads 1,2] [--top 25] [--json out.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any

#: ops functions that call the C library (sum_rows/sum_last go through gemm).
KERNEL_OPS = ("gemm", "fsum", "softmax", "softmax_backward", "layer_norm", "layer_norm_backward",
              "gelu", "gelu_backward", "exp", "erf", "log", "log_softmax", "log_softmax_backward",
              "adamw_")


def _gemm_key(a: Any, b: Any, *_: Any) -> str:
    batch = 1
    for d in a.shape[:-2]:
        batch *= d
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    return f"gemm {m}x{k}@{k}x{n}" + (f" x{batch}" if batch > 1 else "")


def _instrument(stats: dict[str, list[float]]) -> None:
    """Wrap every kernel op so each call adds [calls, wall, main CPU, process CPU] to stats."""
    from prover.kernels import ops

    def wrap(name: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            key = _gemm_key(*args) if name == "gemm" else name
            w0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
            out = fn(*args, **kwargs)
            row = stats[key]
            row[0] += 1
            row[1] += time.perf_counter() - w0
            row[2] += time.thread_time() - c0
            row[3] += time.process_time() - p0
            return out
        return timed

    for name in KERNEL_OPS:
        setattr(ops, name, wrap(name, getattr(ops, name)))


def worker(preset: str, profile_name: str, threads: int, steps: int) -> dict[str, Any]:
    """One process: the Trainer at ``threads`` threads, ``steps`` instrumented steps."""
    from prover.presets import PRESETS, default_dataset_dir, default_teacher_dir, preset_spec
    from prover.train import Trainer

    data = default_dataset_dir(PRESETS[preset]["seqLen"])
    spec = preset_spec(preset, threads=threads, dataset_dir=data, profile_name=profile_name)
    tr = Trainer(spec, 1, default_teacher_dir(), data, None, check_profile=False)
    tr.step()  # warm-up: library loads, pool threads, allocator
    stats: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    _instrument(stats)
    w0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
    for _ in range(steps):
        tr.step()
    step = [steps, time.perf_counter() - w0, time.thread_time() - c0, time.process_time() - p0]
    return {"threads": threads, "steps": steps, "step": step, "kernels": dict(stats),
            "load": os.getloadavg()[0]}


def _run(preset: str, profile_name: str, threads: int, steps: int) -> dict[str, Any]:
    # Waiting threads sleep instead of spinning (OpenMP's default spins a while): a spinning
    # wait counts as CPU time, and on a loaded machine it spins long, which would bury the work.
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               OMP_WAIT_POLICY="PASSIVE")
    env.pop("VERITRAIN_KERNELS_THREADS", None)
    proc = subprocess.run([sys.executable, __file__, "--worker", preset, profile_name,
                           str(threads), "--steps", str(steps)], env=env, capture_output=True,
                          text=True)
    if proc.returncode:
        sys.exit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _outside(run: dict[str, Any]) -> list[float]:
    """The step's totals minus every kernel's: torch ops, autograd and Python."""
    out = list(run["step"])
    for row in run["kernels"].values():
        for i in (1, 2, 3):
            out[i] -= row[i]
    return out


def report(runs: dict[int, dict[str, Any]], top: int) -> None:
    """Per-kernel table: ms per step at each thread count, and the 2-thread split."""
    one = min(runs)
    base = runs[one]
    steps = {t: r["steps"] for t, r in runs.items()}
    rows = {t: dict(r["kernels"], **{"(outside kernels)": _outside(r)}) for t, r in runs.items()}
    keys = sorted(rows[one], key=lambda k: -rows[one][k][3])
    multi = [t for t in sorted(runs) if t > 1]
    head = f"{'kernel':34s} {'calls':>5s} {'1thr CPU':>9s}"
    for t in multi:
        head += f" | {t}thr: {'main':>7s} {'workers':>7s} {'crit':>7s} {'crit/1thr':>9s}"
    print(head + "   (ms per step)")
    crit_tot = dict.fromkeys(multi, 0.0)
    for i, key in enumerate(keys):
        r1 = rows[one][key]
        cpu_1 = r1[3] / steps[one]
        line = f"{key[:34]:34s} {r1[0] / steps[one]:5.0f} {1e3 * cpu_1:9.1f}"
        for t in multi:
            r = rows[t].get(key, [0.0, 0.0, 0.0, 0.0])
            main, total = r[2] / steps[t], r[3] / steps[t]
            workers = max(total - main, 0.0)
            crit = max(main, workers)
            crit_tot[t] += crit
            share = crit / cpu_1 if cpu_1 > 0 else float("nan")
            line += (f" | {'':5s} {1e3 * main:7.1f} {1e3 * workers:7.1f} {1e3 * crit:7.1f}"
                     f" {share:9.2f}")
        if i < top or key == "(outside kernels)":
            print(line)
    cpu1 = base["step"][3] / base["steps"]
    wall1 = base["step"][1] / base["steps"]
    print(f"\nstep, {one} thread: {1e3 * cpu1:.1f} ms CPU, {1e3 * wall1:.1f} ms wall "
          f"(load {base['load']:.2f})")
    for t in multi:
        r = runs[t]
        print(f"step, {t} threads: {1e3 * r['step'][3] / r['steps']:.1f} ms CPU in all threads, "
              f"{1e3 * r['step'][2] / r['steps']:.1f} ms on the main thread, "
              f"{1e3 * r['step'][1] / r['steps']:.1f} ms wall (load {r['load']:.2f}); "
              f"critical path {1e3 * crit_tot[t]:.1f} ms = {crit_tot[t] / cpu1:.2f} of the "
              f"1-thread CPU time (the 2thr/1thr wall ratio to expect on a quiet machine, "
              f"before wake-up and barrier costs)")
    loads = [r["load"] for r in runs.values()]
    if max(loads) > 1:
        print(f"WARNING: load average up to {max(loads):.2f}: CPU-time columns hold, wall times "
              f"are measured under load")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--profile", default="repfma-1")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--top", type=int, default=25, help="rows to print")
    parser.add_argument("--json", help="also write the raw figures here")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        preset, prof, threads = args.worker
        print(json.dumps(worker(preset, prof, int(threads), args.steps)))
        return
    counts = sorted({int(t) for t in args.threads.split(",") if t.strip()})
    print(f"per-kernel profile, preset {args.preset}, profile {args.profile}, {args.steps} "
          f"step(s), load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    runs = {t: _run(args.preset, args.profile, t, args.steps) for t in counts}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(runs, f)
    report(runs, args.top)


if __name__ == "__main__":
    main()
