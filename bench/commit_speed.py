"""Tensor-commitment speed (docs/referee.md "Commitment speed"), measured side by side in one run.

Over the same bytes (a preset's training state after one step: parameters and AdamW state):
- hashlib.sha256 of the whole buffer in one call (OpenSSL: the SHA-256 speed of this CPU);
- the C commitment (prover/trace/vtcommit.c: per-1-KiB-chunk sha256 plus the tree) on each of
  its paths: the default (SHA-NI two chunks at a time where the CPU has it), AVX-512 sixteen
  chunks at a time (VT_COMMIT_AVX512=1; the default only without SHA-NI) and portable C
  (VT_COMMIT_PLAIN=1), each through a private copy of the library loaded in this process;
- the pure-Python reference (hashlib per chunk, a Python loop), on a 4 MiB slice (it is slow);
- BLAKE3 (the v1 state hash), one thread, over the same buffer;
all of them called in turn, round after round, so that they share the machine's moments;
- a whole state hash: tree-v2 vs blake3 vs sha256 over a preset's real student + AdamW state.

    .venv/bin/python bench/commit_speed.py [--preset default|tiny] [--rounds 5]

Prints a table and writes bench/results/commit_speed.json. The machine may be shared: the load
average is printed with every run and figures taken above 1 are marked as measured under load.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "commit_speed.json"


def _interleaved(fns: dict[str, Any], rounds: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds (this thread) of each of ``fns``, called in turn ``rounds``
    times, so all share the same moments of a loaded machine. CPU time is the steadier figure
    there (it excludes time spent waiting for a core)."""
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t0, c0 = time.perf_counter(), time.thread_time()
            fn()
            wall[k].append(time.perf_counter() - t0)
            cpu[k].append(time.thread_time() - c0)
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k])) for k in fns}


def _path_library(env: dict[str, str]) -> ctypes.CDLL:
    """A private copy of the commitment library whose dispatch is latched under ``env`` (each
    loaded copy keeps its own choice), so every C path is timed in this one process."""
    from prover.trace import build

    copy = Path(tempfile.mkdtemp()) / "libvtcommit.so"
    shutil.copy(build.build(quiet=True), copy)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        lib = ctypes.CDLL(str(copy))
        lib.vt_has_shani(), lib.vt_has_avx512()  # latch the choice now
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    lib.vt_tensor_root.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    return lib


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
    out = ctypes.create_string_buffer(32)
    part = buf[: 1 << 20]  # 4 MiB for the Python reference: its loop is slow
    default = ("AVX-512 x16" if fastcommit.has_avx512()
               else "SHA-NI x2" if fastcommit.has_shani() else "portable")
    fns: dict[str, Any] = {
        "hashlib.sha256 (one call)": lambda: hashlib.sha256(raw).digest(),
        f"C commit, default ({default})": lambda: fastcommit.tensor_root(buf)}
    paths = {"C commit, AVX-512 x16 (forced)": {"VT_COMMIT_AVX512": "1"},
             "C commit, portable C": {"VT_COMMIT_PLAIN": "1"}}
    for name, env in paths.items():
        lib = _path_library(env)
        fns[name] = lambda lib=lib: lib.vt_tensor_root(buf.ctypes.data, buf.nbytes, out)
    fns["Python reference commit"] = lambda: tc.commit_reference(part)
    fns["blake3 (1 thread)"] = lambda: blake3.blake3(raw).digest()
    sizes = {k: (part.nbytes if k.startswith("Python") else len(raw)) for k in fns}
    rows = {k: (sizes[k] / w / 1e6, sizes[k] / c / 1e6)
            for k, (w, c) in _interleaved(fns, r).items()}
    state = _interleaved({a: (lambda a=a: statehash.digest_state(a, params, optim, 1, rng, 8))
                          for a in ("tree-v2", "blake3", "sha256")}, r)
    load1 = os.getloadavg()[0]
    loaded = max(load0, load1) > 1
    print(f"preset {args.preset}: state of {floats:,} float32 ({mb:.1f} MB, {len(params)} + "
          f"{len(optim)} tensors); median of {r} rounds; load average {load0:.1f} -> {load1:.1f} "
          f"on {os.cpu_count()} CPUs"
          + ("  WARNING: above 1, figures measured under load" if loaded else ""))
    print(f"{'over the same bytes':<30}{'wall MB/s':>11}{'CPU MB/s':>10}{'CPU vs hashlib':>16}")
    base = rows["hashlib.sha256 (one call)"][1]
    for k, (w, c) in rows.items():
        print(f"{k:<30}{w:>11.0f}{c:>10.0f}{c / base:>16.2f}")
    print(f"{'whole state hash':<30}{'wall ms':>11}{'CPU ms':>10}")
    for k, (w, c) in state.items():
        print(f"{k:<30}{1e3 * w:>11.1f}{1e3 * c:>10.1f}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "preset": args.preset, "floats": floats, "bytes": len(raw), "rounds": r,
        "loadAverage": [load0, load1], "measuredUnderLoad": loaded, "shani": fastcommit.has_shani(),
        "avx512": fastcommit.has_avx512(),
        "mbPerSecond": {k: {"wall": w, "cpu": c} for k, (w, c) in rows.items()},
        "stateHashMs": {k: {"wall": 1e3 * w, "cpu": 1e3 * c} for k, (w, c) in state.items()},
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=1) + "\n")


if __name__ == "__main__":
    main()
