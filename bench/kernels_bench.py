"""Reproducible kernels vs stock torch, measured side by side in one run.

1. GEMM GF/s of prover.kernels vs unpinned MKL (torch.matmul) on the layer shapes of a BERT
   student (hidden 384, seq 128, batch 8: M = 1024 tokens) and of attention (8x12 heads, d 32),
   forward and both backward products, at 1 and 2 threads.
2. A KD step (teacher MiniLM-L6 shape: 6 layers, hidden 384; student: 2 layers, hidden 384;
   batch 8 x 128; MSE on hidden states; fused AdamW) under: stock torch unpinned, the
   stock-avx2-1 pins, kernels unpinned, and repcpu-1 (kernels + the stock-avx2-1 pins), at 1 and
   2 threads. Each configuration runs in a fresh process started with its environment; the
   configurations alternate over rounds so machine load hits all of them alike.

3. With --trainer: the prover's own Trainer on the default preset (student 2x128, teacher
   all-MiniLM-L6-v2, batch 16 x 128, KD loss, clipping, AdamW) under stock torch unpinned,
   stock-avx2-1, repcpu-1 and repcpu-2 (kernels for losses, clipping and AdamW too; no pins).

Usage: python bench/kernels_bench.py [--rounds 2] [--steps 5] [--skip-gemm] [--skip-step]
                                     [--trainer] [--preset default]
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
CONFIGS = {  # name -> (kernels on, extra env)
    "stock": (False, {}),
    "stock-avx2-1": (False, STOCK_AVX2),
    "kernels": (True, {}),
    "repcpu-1": (True, STOCK_AVX2),
}
#: --trainer configurations: name -> (profile of the spec, extra env). repcpu-2 needs no pins.
TRAINER_CONFIGS = {
    "stock": ("stock-avx2-1", {}),
    "stock-avx2-1": ("stock-avx2-1", STOCK_AVX2),
    "repcpu-1": ("repcpu-1", STOCK_AVX2),
    "repcpu-2": ("repcpu-2", {}),
}


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


def bench_gemm(reps: int) -> None:
    import torch

    from prover.kernels import _lib, ops

    print(f"GEMM GF/s, kernels build {_lib.active_isa()} vs MKL (torch.matmul, unpinned)")
    print(f"{'shape':34s} {'thr':>3s} {'kernels':>8s} {'MKL':>8s} {'ratio':>6s}")
    gen = torch.Generator().manual_seed(0)
    totals: dict[int, list[float]] = {1: [0.0, 0.0], 2: [0.0, 0.0]}
    for label, sa, sb, trans in gemm_shapes():
        a = torch.randn(*sa, generator=gen)
        b = torch.randn(*sb, generator=gen)
        bb = b.transpose(-1, -2) if trans else b
        flops = 2 * a.numel() * bb.shape[-1]
        for threads in (1, 2):
            torch.set_num_threads(threads)
            tk = _time(lambda a=a, bb=bb: ops.gemm(a, bb), reps)
            tm = _time(lambda a=a, bb=bb: torch.matmul(a, bb), reps)
            totals[threads][0] += tk
            totals[threads][1] += tm
            print(f"{label:34s} {threads:3d} {flops / tk / 1e9:8.1f} {flops / tm / 1e9:8.1f} "
                  f"{tm / tk:6.2f}")
    for threads, (tk, tm) in totals.items():
        print(f"all shapes, {threads} thread(s): kernels time / MKL time = {tk / tm:.2f}")


def worker(config: str, threads: int, steps: int) -> None:
    """One configuration in this process: print the median KD step time as JSON."""
    import torch
    from transformers import BertConfig, BertModel

    torch.set_num_threads(threads)
    kernels_on = CONFIGS[config][0]

    def cfg(layers: int) -> BertConfig:
        return BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=layers,
                          num_attention_heads=12, intermediate_size=1536, hidden_dropout_prob=0.0,
                          attention_probs_dropout_prob=0.0, attn_implementation="eager")

    gen = torch.Generator().manual_seed(0)
    teacher, student = BertModel(cfg(6), add_pooling_layer=False), BertModel(cfg(2), add_pooling_layer=False)
    teacher.eval()
    if kernels_on:
        from prover.kernels import enable

        enable(teacher)
        enable(student)
    opt = torch.optim.AdamW(student.parameters(), lr=1e-4, fused=True)
    ids = torch.randint(0, 30522, (8, 128), generator=gen)
    mask = torch.ones(8, 128, dtype=torch.long)

    def step() -> None:
        with torch.no_grad():
            h_t = teacher(input_ids=ids, attention_mask=mask).last_hidden_state
        h_s = student(input_ids=ids, attention_mask=mask).last_hidden_state
        loss = torch.nn.functional.mse_loss(h_s, h_t)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    times = [_time(step, 1) for _ in range(steps)]
    print(json.dumps({"config": config, "threads": threads, "step_s": statistics.median(times)}))


def trainer_worker(config: str, spec_file: str, dataset_dir: str, steps: int) -> None:
    """One configuration on prover.train.Trainer: print the median step time as JSON."""
    from prover.presets import default_teacher_dir
    from prover.spec import load_spec
    from prover.train import Trainer

    spec = load_spec(spec_file)
    pinned = bool(TRAINER_CONFIGS[config][1]) or config == "repcpu-2"  # the profile's own checks
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
                      "step_s": statistics.median(times), "cpu_s": statistics.median(cpu)}))


def bench_trainer(rounds: int, steps: int, preset: str) -> None:
    from prover import profile
    from prover.presets import PRESETS, default_dataset_dir, home, preset_spec

    data = default_dataset_dir(PRESETS[preset]["seqLen"])
    specs: dict[tuple[str, int], str] = {}
    for threads in (1, 2):
        for config, (profile_name, _) in TRAINER_CONFIGS.items():
            spec = preset_spec(preset, threads=threads, dataset_dir=data, profile_name=profile_name)
            path = home() / f"bench-kernels-{preset}-{config}-{threads}.json"
            path.write_bytes(spec.canonical_bytes())
            specs[(config, threads)] = str(path)
    results: dict[tuple[str, int], list[float]] = {}
    cpu: dict[tuple[str, int], list[float]] = {}
    for _ in range(rounds):
        for threads in (1, 2):
            for config, (_, extra) in TRAINER_CONFIGS.items():
                from prover.spec import load_spec

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
                results.setdefault((config, threads), []).append(row["step_s"])
                cpu.setdefault((config, threads), []).append(row["cpu_s"])
    _report(f"KD step, prover Trainer, preset {preset}, wall time", results, TRAINER_CONFIGS)
    # CPU seconds of the process: steadier than wall time on a shared machine (at 2 threads
    # it also counts OpenMP/MKL spin-waiting, so read the 1-thread rows first)
    _report(f"KD step, prover Trainer, preset {preset}, process CPU time", cpu, TRAINER_CONFIGS)


def _report(title: str, results: dict[tuple[str, int], list[float]],
            configs: dict[str, object] = CONFIGS) -> None:
    print(f"\n{title} (best of the rounds' medians)")
    print(f"{'config':14s} {'thr':>3s} {'step s':>8s} {'vs stock':>9s} {'vs stock-avx2-1':>16s}")
    for threads in (1, 2):
        base = min(results[("stock", threads)])
        pinned = min(results[("stock-avx2-1", threads)])
        for config in configs:
            t = min(results[(config, threads)])
            print(f"{config:14s} {threads:3d} {t:8.3f} {t / base:9.2f} {t / pinned:16.2f}")


def bench_step(rounds: int, steps: int) -> None:
    results: dict[tuple[str, int], list[float]] = {}
    for _ in range(rounds):
        for threads in (1, 2):
            for config, (_, extra) in CONFIGS.items():
                env = {k: v for k, v in os.environ.items() if k not in STOCK_AVX2}
                env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), **extra)
                proc = subprocess.run([sys.executable, __file__, "--worker", config, str(threads),
                                       "--steps", str(steps)], env=env, capture_output=True,
                                      text=True, check=True)
                row = json.loads(proc.stdout.strip().splitlines()[-1])
                results.setdefault((config, threads), []).append(row["step_s"])
    _report("KD step (teacher 6x384 fwd + student 2x384 fwd/bwd + fused AdamW), batch 8 x 128",
            results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--skip-gemm", action="store_true")
    parser.add_argument("--skip-step", action="store_true")
    parser.add_argument("--trainer", action="store_true", help="also the prover's Trainer step")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--worker", nargs=2, metavar=("CONFIG", "THREADS"), help=argparse.SUPPRESS)
    parser.add_argument("--trainer-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), args.steps)
        return
    if args.trainer_worker:
        trainer_worker(*args.trainer_worker, steps=args.steps)
        return
    if not args.skip_gemm:
        bench_gemm(args.reps)
    if not args.skip_step:
        bench_step(args.rounds, args.steps)
    if args.trainer:
        bench_trainer(args.rounds, args.steps, args.preset)


if __name__ == "__main__":
    main()
