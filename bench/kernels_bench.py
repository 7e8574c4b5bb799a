"""Reproducible kernels vs stock torch, measured side by side in one run. Wall time is the
figure (process CPU time is printed too); every line says the load average, and a warning is
printed when it is above 1: figures taken on a loaded machine are not quiet-machine figures.

1. GEMM GF/s of the kernels (repfma family: GEMM by fma; repkern: no FMA) vs MKL
   (torch.matmul, unpinned) on the layer shapes of a BERT student (hidden 384, M = 1024
   tokens) and of attention, forward and both backward products, at 1 and 2 threads; the
   three are timed interleaved, shape by shape.
2. The prover's own Trainer on the default preset (prover.presets; the KD loss, clipping,
   AdamW) under stock torch (unpinned, stock ops, no kernels), repcpu-2 and
   repfma-1 at 1 and 2 threads. Each (configuration, threads) runs in a fresh process; the
   configurations alternate within each round so load swings hit all of them alike.

Usage (re-run on a quiet machine with the first line; --short finishes in under 3 minutes):
    .venv/bin/python bench/kernels_bench.py [--rounds 3] [--steps 5]
    .venv/bin/python bench/kernels_bench.py --short
    .venv/bin/python bench/kernels_bench.py --skip-gemm --configs stock,repfma-1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

STOCK_AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE",
              "ONEDNN_MAX_CPU_ISA": "AVX2", "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA"}
#: Trainer configurations: name -> (profile of the spec, extra env). "stock" runs a stock
#: profile's spec without its pins and without the profile check: plain torch as users run it.
TRAINER_CONFIGS = {
    "stock": ("stock-avx2-1", {}),
    "stock-avx2-1": ("stock-avx2-1", STOCK_AVX2),
    "repcpu-1": ("repcpu-1", STOCK_AVX2),
    "repcpu-2": ("repcpu-2", {}),
    "repfma-1": ("repfma-1", {}),
}
DEFAULT_CONFIGS = ("stock", "repcpu-2", "repfma-1")


def load_line() -> str:
    """The 1-minute load average, with a warning when the machine is busy."""
    load = os.getloadavg()[0]
    warn = "  WARNING: load above 1, figures are measured under load" if load > 1 else ""
    return f"load average {load:.2f} on {os.cpu_count()} CPUs{warn}"


def gemm_shapes() -> list[tuple[str, tuple[int, ...], tuple[int, ...], bool]]:
    """(label, a shape, b shape, b given transposed as [N, K])."""
    t = 1024
    out = []
    for k, n in ((384, 384), (384, 1536), (1536, 384)):
        out.append((f"fwd   {t}x{k} @ {k}x{n}", (t, k), (n, k), True))
        out.append((f"dX    {t}x{n} @ {n}x{k}", (t, n), (n, k), False))
        out.append((f"dW    {n}x{t} @ {t}x{k}", (n, t), (t, k), False))
    out.append(("QK^T  96x[128x32 @ 32x128]", (96, 128, 32), (96, 128, 32), True))
    out.append(("PV    96x[128x128 @ 128x32]", (96, 128, 128), (96, 128, 32), False))
    return out


def _time(fn, reps: int) -> float:
    fn()
    best = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best.append(time.perf_counter() - t0)
    return statistics.median(best)


def bench_gemm(reps: int, short: bool = False) -> dict[int, float]:
    """Prints the table; returns {threads: repfma's share of MKL's GF/s over all shapes}."""
    import torch

    from prover.kernels import _lib, ops
    from prover.kernels.family import Family

    print(f"GEMM GF/s, kernels build {_lib.active_isa()} vs MKL (torch.matmul, unpinned); "
          f"{load_line()}")
    print(f"{'shape':34s} {'thr':>3s} {'repfma':>7s} {'repkern':>7s} {'MKL':>7s} "
          f"{'fma/MKL':>7s}")
    gen = torch.Generator().manual_seed(0)
    names = ("repfma", "repkern", "mkl")
    totals = {t: dict.fromkeys(names, 0.0) for t in (1, 2)}
    shapes = gemm_shapes()[::3] if short else gemm_shapes()
    for label, sa, sb, trans in shapes:
        a = torch.randn(*sa, generator=gen)
        b = torch.randn(*sb, generator=gen)
        bb = b.transpose(-1, -2) if trans else b
        flops = 2 * a.numel() * bb.shape[-1]

        def fam(family: Family, a=a, bb=bb) -> None:
            _lib.use_family(family)
            ops.gemm(a, bb)

        fns = {"repfma": lambda: fam(Family.REPFMA), "repkern": lambda: fam(Family.REPCPU),
               "mkl": lambda a=a, bb=bb: torch.matmul(a, bb)}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            got = _time_interleaved(fns, reps)
            for name in names:
                totals[threads][name] += got[name]
            gf = {name: flops / got[name] / 1e9 for name in names}
            print(f"{label:34s} {threads:3d} {gf['repfma']:7.1f} {gf['repkern']:7.1f} "
                  f"{gf['mkl']:7.1f} {gf['repfma'] / gf['mkl']:7.2f}")
    for threads, tot in totals.items():
        print(f"all shapes, {threads} thread(s): MKL GF/s share reached: repfma "
              f"{tot['mkl'] / tot['repfma']:.2f}x, repkern {tot['mkl'] / tot['repkern']:.2f}x "
              f"(MKL time / kernel time)")
    print(load_line())
    return {threads: tot["mkl"] / tot["repfma"] for threads, tot in totals.items()}


def _time_interleaved(fns: dict[str, object], reps: int) -> dict[str, float]:
    """Median wall time of each function, the functions taking turns rep by rep."""
    for fn in fns.values():
        fn()  # type: ignore[operator]
    runs: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()  # type: ignore[operator]
            runs[name].append(time.perf_counter() - t0)
    return {name: statistics.median(v) for name, v in runs.items()}


def trainer_worker(config: str, spec_file: str, dataset_dir: str, steps: int) -> None:
    """One configuration on prover.train.Trainer: print the median step time as JSON."""
    from prover.presets import default_teacher_dir
    from prover.spec import load_spec
    from prover.train import Trainer

    spec = load_spec(spec_file)
    pinned = config != "stock"  # every other configuration runs under its profile's checks
    if not pinned:
        import torch

        torch.set_num_threads(spec.profile.threads)
    tr = Trainer(spec, 1, default_teacher_dir(), dataset_dir, None, check_profile=pinned)
    tr.step()  # warm-up
    times, cpu = [], []
    for _ in range(steps):
        c0, t0 = time.process_time(), time.perf_counter()
        tr.step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(json.dumps({"config": config, "threads": spec.profile.threads,
                      "step_s": statistics.median(times), "cpu_s": statistics.median(cpu),
                      "load": os.getloadavg()[0]}))


def bench_trainer(rounds: int, steps: int, preset: str,
                  configs: tuple[str, ...]) -> dict[tuple[str, int], float]:
    """Prints the table; returns the median wall time per (configuration, threads)."""
    from prover import profile
    from prover.presets import PRESETS, default_dataset_dir, home, preset_spec
    from prover.spec import load_spec

    data = default_dataset_dir(PRESETS[preset]["seqLen"])
    specs: dict[tuple[str, int], str] = {}
    for threads in (1, 2):
        for config in configs:
            spec = preset_spec(preset, threads=threads, dataset_dir=data,
                               profile_name=TRAINER_CONFIGS[config][0])
            path = home() / f"bench-kernels-{preset}-{config}-{threads}.json"
            path.write_bytes(spec.canonical_bytes())
            specs[(config, threads)] = str(path)
    wall: dict[tuple[str, int], list[float]] = {}
    cpu: dict[tuple[str, int], list[float]] = {}
    loads: list[float] = []
    print(f"\nTrainer, preset {preset}: {rounds} round(s) x {steps} step(s), fresh process per "
          f"configuration, alternating; {load_line()}", flush=True)
    for r in range(rounds):
        for threads in (1, 2):
            for config in configs:
                extra = TRAINER_CONFIGS[config][1]
                spec = load_spec(specs[(config, threads)])
                pins = profile.env(spec)
                env = {k: v for k, v in os.environ.items()
                       if k not in pins and k not in STOCK_AVX2 and k != profile.REEXEC_GUARD}
                env |= pins if extra else {"OMP_NUM_THREADS": str(threads),
                                           "MKL_NUM_THREADS": str(threads)}
                proc = subprocess.run([sys.executable, __file__, "--trainer-worker", config,
                                       specs[(config, threads)], str(data), "--steps", str(steps)],
                                      env=env, capture_output=True, text=True)
                if proc.returncode:
                    sys.exit(proc.stderr[-3000:])
                row = json.loads(proc.stdout.strip().splitlines()[-1])
                wall.setdefault((config, threads), []).append(row["step_s"])
                cpu.setdefault((config, threads), []).append(row["cpu_s"])
                loads.append(row["load"])
                print(f"  round {r + 1} {config:12s} {threads} thr: {row['step_s']:.3f} s wall, "
                      f"{row['cpu_s']:.3f} s CPU, load {row['load']:.2f}", flush=True)
    print(f"load average during the runs: {min(loads):.2f}-{max(loads):.2f}"
          + ("  WARNING: above 1, figures measured under load" if max(loads) > 1 else ""))
    _report_trainer(f"KD step, prover Trainer, preset {preset}", wall, cpu, configs)
    return {k: statistics.median(v) for k, v in wall.items()}


def report_targets(gemm: dict[int, float], step: dict[tuple[str, int], float]) -> None:
    """Issue #16's targets, one line each, with the figure this run measured."""
    print(f"\nTargets of issue #16 (repfma-1; valid on a quiet machine only: {load_line()})")
    lines = []
    for t in (1, 2):
        if ("repfma-1", t) in step and ("stock", t) in step:
            lines.append((f"KD step wall, repfma-1 / stock torch, {t} thread(s)",
                          step[("repfma-1", t)] / step[("stock", t)], "<=", 1.10))
    if ("repfma-1", 1) in step and ("repfma-1", 2) in step:
        ref = (f" (stock {step[('stock', 2)] / step[('stock', 1)]:.2f})"
               if ("stock", 1) in step and ("stock", 2) in step else "")
        lines.append((f"KD step wall, 2 threads / 1 thread, repfma-1{ref}",
                      step[("repfma-1", 2)] / step[("repfma-1", 1)], "<=", 0.60))
    for t, share in sorted(gemm.items()):
        lines.append((f"GEMM, repfma share of MKL's GF/s, {t} thread(s)", share, ">=", 0.85))
    for label, value, op, goal in lines:
        ok = value <= goal if op == "<=" else value >= goal
        print(f"  {label:52s} {value:6.2f}  (target {op} {goal:.2f}: {'met' if ok else 'NOT met'})")


def _report_trainer(title: str, wall: dict[tuple[str, int], list[float]],
                    cpu: dict[tuple[str, int], list[float]], configs: tuple[str, ...]) -> None:
    """Medians over rounds; ratios vs stock torch at the same thread count, and 2 vs 1 thread."""
    med = {k: statistics.median(v) for k, v in wall.items()}
    cmed = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"\n{title} (median over rounds)")
    print(f"{'config':12s} {'thr':>3s} {'wall s':>8s} {'vs stock':>9s} {'CPU s':>8s} "
          f"{'vs stock':>9s} {'2thr/1thr':>10s}")
    for threads in (1, 2):
        for config in configs:
            w, c = med[(config, threads)], cmed[(config, threads)]
            base = ("stock", threads)
            rw = f"{w / med[base]:9.2f}" if base in med else f"{'-':>9s}"
            rc = f"{c / cmed[base]:9.2f}" if base in cmed else f"{'-':>9s}"
            scale = f"{w / med[(config, 1)]:10.2f}" if threads == 2 else f"{'':10s}"
            print(f"{config:12s} {threads:3d} {w:8.3f} {rw} {c:8.3f} {rc} {scale}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--short", action="store_true",
                        help="under 3 minutes: a third of the GEMM shapes, 1 round x 2 steps")
    parser.add_argument("--skip-gemm", action="store_true")
    parser.add_argument("--skip-trainer", action="store_true")
    parser.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                        help="Trainer configurations, comma-separated, of "
                             + ", ".join(TRAINER_CONFIGS))
    parser.add_argument("--preset", default="default")
    parser.add_argument("--trainer-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trainer_worker:
        trainer_worker(*args.trainer_worker, steps=args.steps)
        return
    configs = tuple(c.strip() for c in args.configs.split(",") if c.strip())
    unknown = [c for c in configs if c not in TRAINER_CONFIGS]
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; pick from {', '.join(TRAINER_CONFIGS)}")
    if args.short:
        args.rounds, args.steps, args.reps = 1, 2, 3
    gemm: dict[int, float] = {}
    step: dict[tuple[str, int], float] = {}
    if not args.skip_gemm:
        gemm = bench_gemm(args.reps, short=args.short)
    if not args.skip_trainer:
        step = bench_trainer(args.rounds, args.steps, args.preset, configs)
    report_targets(gemm, step)


if __name__ == "__main__":
    main()
