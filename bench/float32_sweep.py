"""Exhaustive sweep of Float32's unary operations over all 2^32 inputs against the x86 reference.

The Solidity bytecode is far too slow for 2^32 calls per operation (exp costs ~10k gas; a
fast EVM does well under 10^8 gas/s), so the sweep runs ``bench/float32_model.h``, an integer
model that follows Float32.sol / Float32Math.sol line by line, against the compiled kernels
(exp, log, erf, gelu) or the SSE instruction (sqrt, fromint = cvtsi2ss, toint = cvttss2si).
The forge vectors tie the model and the Solidity together: both must match the same x86
results (tests/unit/test_float32_vectors.py runs the model on every committed vector case).

Each operation's input space is cut into segments; every finished segment is written to the
results file at once, so an interrupted sweep still records exactly what was covered, and a
rerun skips finished segments (``--fresh`` starts over).

Usage: python bench/float32_sweep.py [--ops exp,log,...] [--threads 2] [--segments 16]
                                      [--results bench/results/float32_sweep.json] [--fresh]
       python bench/float32_sweep.py --markdown     (the results so far as a table for the docs)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "bench" / "float32_sweep.c"
EXE = ROOT / "build" / "float32" / "float32_sweep"
LIBS = ROOT / "build" / "kernels"
OPS = ("sqrt", "fromint", "toint", "exp", "log", "erf", "gelu")
SPACE = 1 << 32


def build() -> Path:
    """Compile the sweep (the model is pure integer code; -O3 only makes it faster)."""
    if not (LIBS / "librepkern_sse.so").exists():
        subprocess.run([sys.executable, "-m", "prover.kernels.build", "--quiet"], cwd=ROOT,
                       check=True)
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise SystemExit("no C compiler on PATH")
    EXE.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([cc, "-O3", "-march=native", "-pthread", "-o", str(EXE), str(SRC), "-ldl"],
                   check=True)
    return EXE


def load() -> float:
    return os.getloadavg()[0]


def markdown(results: dict) -> str:
    """One row per operation: inputs covered, mismatches, ISA differences, time, load."""
    rows = ["| operation | inputs swept | of 2^32 | mismatches | AVX2 build differs | "
            "AVX-512 build differs | wall seconds (2 threads) | load average |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for op in OPS:
        segs = [s for s in results.get("segments", []) if s["op"] == op]
        if not segs:
            rows.append(f"| {op} | 0 | 0% | - | - | - | - | - |")
            continue
        n = sum(s["inputs"] for s in segs)
        loads = [s["load_after"] for s in segs]
        bad = sum(s["mismatches"] for s in segs)
        rows.append(f"| {op} | {n:,} | {100 * n / SPACE:.0f}% | {bad}"
                    f" | {sum(s['avx2_differs'] for s in segs):,}"
                    f" | {sum(s['avx512_differs'] for s in segs):,}"
                    f" | {sum(s['seconds'] for s in segs):.0f}"
                    f" | {min(loads):.1f} to {max(loads):.1f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", default=",".join(OPS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--segments", type=int, default=16)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results" /
                        "float32_sweep.json")
    parser.add_argument("--fresh", action="store_true", help="forget finished segments")
    parser.add_argument("--markdown", action="store_true", help="print the results as a table")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(args.results.read_text())))
        return
    exe = build()
    results: dict = {} if args.fresh or not args.results.exists() else json.loads(
        args.results.read_text())
    results.setdefault("segments", [])
    done = {(s["op"], s["start"]) for s in results["segments"]}
    step = SPACE // args.segments
    for op in args.ops.split(","):
        if op not in OPS:
            raise SystemExit(f"unknown op {op!r}; choose from {', '.join(OPS)}")
        for start in range(0, SPACE, step):
            if (op, start) in done:
                continue
            before = load()
            t0 = time.time()
            out = subprocess.run([str(exe), op, str(args.threads), str(LIBS), f"{start:x}",
                                  f"{start + step:x}"], capture_output=True, text=True, check=True)
            seg = json.loads(out.stdout)
            seg["load_before"] = round(before, 2)
            seg["load_after"] = round(load(), 2)
            seg["wall_s"] = round(time.time() - t0, 1)
            results["segments"].append(seg)
            args.results.parent.mkdir(parents=True, exist_ok=True)
            args.results.write_text(json.dumps(results, indent=1) + "\n")
            warn = " (measured under load: above 1)" if seg["load_after"] > 1 else ""
            print(f"[sweep] {op} [{start:#010x}, {start + step:#010x}): {seg['mismatches']} "
                  f"mismatches, avx2 differs {seg['avx2_differs']}, avx512 differs "
                  f"{seg['avx512_differs']}, {seg['seconds']} s, load {seg['load_after']}{warn}",
                  flush=True)
    summary: dict[str, dict[str, int | float]] = {}
    for seg in results["segments"]:
        s = summary.setdefault(seg["op"], {"inputs": 0, "mismatches": 0, "avx2_differs": 0,
                                           "avx512_differs": 0, "seconds": 0.0})
        for k in ("inputs", "mismatches", "avx2_differs", "avx512_differs", "seconds"):
            s[k] += seg[k]
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
