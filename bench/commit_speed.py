"""Tensor-commitment speed (docs/referee.md "Commitment speed"), measured side by side in one run.

Over the same bytes (a synthetic state the size of a preset's training state, or --mib MiB):
- hashlib.sha256 of the whole buffer in one call (OpenSSL: the SHA-256 speed of this CPU);
- the C commitment (prover/trace/vtcommit.c: per-1-KiB-chunk sha256 plus the tree) on each of
  its paths: the default (AVX-512, 16 chunks at a time, where the CPU has it), SHA-NI two chunks
  at a time (VT_COMMIT_AVX512=0) and portable C (VT_COMMIT_PLAIN=1), each in a child process;
- the pure-Python reference (hashlib per chunk, a Python loop), on a slice (it is slow);
- BLAKE3 (the v1 state hash), one thread, over the same buffer;
- a whole state hash: tree-v2 vs blake3 vs sha256 over a preset's real student + AdamW state.

    .venv/bin/python bench/commit_speed.py [--preset default|tiny] [--rounds 5]

Prints a table and writes bench/results/commit_speed.json. The machine may be shared: the load
average is printed with every run and figures taken above 1 are marked as measured under load.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "commit_speed.json"


def _best(fn: Any, rounds: int) -> float:
    """Median wall seconds of ``fn`` over ``rounds`` calls."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _state(preset: str) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]], dict[str, Any]]:
    """A preset's initial student with a filled AdamW state (one step's shapes and values)."""
    from prover import statehash
    from prover.presets import PRESETS, default_dataset_dir, default_teacher_dir, preset_spec
    from prover.train import Trainer

    data = default_dataset_dir(PRESETS[preset]["seqLen"])
    spec = preset_spec(preset, dataset_dir=data)
    tr = Trainer(spec, 1, default_teacher_dir(), data, None, check_profile=False)
    tr.step()
    return (statehash.param_tensors(tr.student),
            statehash.optimizer_tensors(tr.student, tr.optimizer), tr.rng)


def _child_mbps(buf: np.ndarray, rounds: int, env: dict[str, str]) -> float:
    """The C commitment under ``env`` (a path switch), timed in a child (the dispatch is per
    process)."""
    path = ROOT / "build" / "trace" / "bench-path.npy"
    np.save(path, buf)
    code = ("import sys, time, statistics, numpy as np; from prover.trace import fastcommit as f; "
            f"a = np.load({str(path)!r}); ts = []\n"
            f"for _ in range({rounds}):\n t0 = time.perf_counter(); f.tensor_root(a); "
            "ts.append(time.perf_counter() - t0)\nprint(statistics.median(ts))")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VT_COMMIT")}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env},
                         capture_output=True, text=True, check=True, cwd=ROOT)
    path.unlink()
    return buf.nbytes / float(out.stdout.strip()) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    import blake3

    from prover import statehash
    from prover.trace import commit as tc
    from prover.trace import fastcommit

    load0 = os.getloadavg()[0]
    params, optim, rng = _state(args.preset)
    floats = sum(t.numel() for _, t in (*params, *optim))
    buf = np.concatenate([t.detach().reshape(-1).numpy() for _, t in (*params, *optim)])
    raw = buf.tobytes()
    mb = len(raw) / 1e6
    r = args.rounds
    rows: dict[str, float] = {}
    rows["hashlib.sha256 (one call)"] = mb / _best(lambda: hashlib.sha256(raw).digest(), r)
    default = ("AVX-512 x16" if fastcommit.has_avx512()
               else "SHA-NI x2" if fastcommit.has_shani() else "portable")
    rows[f"C commit, default ({default})"] = mb / _best(lambda: fastcommit.tensor_root(buf), r)
    if fastcommit.has_avx512():
        rows["C commit, SHA-NI x2"] = _child_mbps(buf, r, {"VT_COMMIT_AVX512": "0"})
    rows["C commit, portable C"] = _child_mbps(buf, r, {"VT_COMMIT_PLAIN": "1"})
    part = buf[: 1 << 20]  # 4 MiB: the Python loop is slow
    ref_s = _best(lambda: tc.commit_reference(part), 2)
    rows["Python reference commit"] = part.nbytes / 1e6 / ref_s
    rows["blake3 (1 thread)"] = mb / _best(lambda: blake3.blake3(raw).digest(), r)
    state = {}
    for algo in ("tree-v2", "blake3", "sha256"):
        state[algo] = _best(lambda a=algo: statehash.digest_state(a, params, optim, 1, rng, 8), r)
    load1 = os.getloadavg()[0]
    loaded = max(load0, load1) > 1
    print(f"preset {args.preset}: state of {floats:,} float32 ({mb:.1f} MB, {len(params)} + "
          f"{len(optim)} tensors); median of {r} rounds; load average {load0:.1f} -> {load1:.1f} "
          f"on {os.cpu_count()} CPUs"
          + ("  WARNING: above 1, figures measured under load" if loaded else ""))
    print(f"{'over the same bytes':<30}{'MB/s':>10}{'vs hashlib':>12}")
    base = rows["hashlib.sha256 (one call)"]
    for k, v in rows.items():
        print(f"{k:<30}{v:>10.0f}{v / base:>12.2f}")
    print(f"{'whole state hash':<30}{'ms':>10}")
    for k, v in state.items():
        print(f"{k:<30}{1e3 * v:>10.1f}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "preset": args.preset, "floats": floats, "bytes": len(raw), "rounds": r,
        "loadAverage": [load0, load1], "measuredUnderLoad": loaded, "shani": fastcommit.has_shani(),
        "avx512": fastcommit.has_avx512(),
        "mbPerSecond": rows, "stateHashMs": {k: 1e3 * v for k, v in state.items()},
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=1) + "\n")


if __name__ == "__main__":
    main()
