"""The kernel workload in fresh processes whose environment is set at start: every build and
thread count prints the same digest (the native side of the cross-CPU test; the BERT step is
compared across builds and threads in tests/unit/kernels)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from prover.kernels import _lib


def run_selfcheck(isa: str, threads: int, *extra: str, prefix: tuple[str, ...] = ()) -> dict:
    env = dict(os.environ, VERITRAIN_KERNELS_ISA=isa, VERITRAIN_KERNELS_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads))
    proc = subprocess.run([*prefix, sys.executable, "-m", "prover.kernels.selfcheck", *extra],
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_fresh_processes_agree_across_builds_and_threads():
    widest = _lib.cpu_level()
    a = run_selfcheck("sse", 1)
    b = run_selfcheck(widest, 3)
    assert (a["isa"], b["isa"]) == ("sse", widest)
    assert a["kernels"] == b["kernels"]
