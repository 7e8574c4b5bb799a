"""Tracing one training step (docs/referee.md "Step trace"): time against a plain training step
of the same trainer, peak memory and disk, with the graph's size.

The trainer takes one step first (so the traced step reads real optimizer moments), then plain
steps and traced steps alternate (``--rounds`` of each), so both see the same machine load.
A traced step is split into recording (the step itself with the taps; this includes the
trace's start and end checks: two state hashes and a bitwise comparison of the final state),
committing every op output (C, on ``--trace-threads`` threads) and writing the directory (raw
float32 files, one ``tofile`` each, on the same threads; the commitments are not computed
again); the writer as it was before (commitments again, ``astype`` copies, ``.npz``) is timed
beside it. Wall and process-CPU seconds of every phase. Peak memory is the process's peak RSS
(``ru_maxrss``), read after the first plain step (before any tracing) and again at the end.
Results go to ``bench/results/trace_bench.json``.

    .venv/bin/python bench/trace_bench.py [--preset default|tiny] [--profile repfma-1]
                                          [--rounds 2] [--threads 1] [--trace-threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "trace_bench.json"


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _du(d: Path) -> int:
    return sum(f.stat().st_size for f in d.rglob("*") if f.is_file())


def _write_before(r: Any, out: Path) -> None:
    """The writer as it was before this bench's change (side by side): every commitment again,
    each op output through an ``astype`` copy, the inputs as ``.npz``."""
    import numpy as np

    from prover.trace import commit

    (out / "ops").mkdir(parents=True)
    for op, v in zip(r.graph.ops, r.tensors.ops, strict=True):
        commit.commit(v.reshape(op.shape))
        v.astype("<f4").tofile(out / "ops" / f"{op.index:05d}.f32")
    for name, vals in (("state", r.tensors.state), ("batch", r.tensors.batch),
                       ("teacher", r.tensors.teacher)):
        np.savez(out / f"{name}.npz", *vals)


def run(preset: str, profile: str, rounds: int, threads: int,
        trace_threads: int | None) -> dict[str, Any]:
    from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec
    from prover.trace.tracer import record_trainer_step, write_trace
    from prover.trace.tracer import trace_threads as resolve_threads
    from prover.train import Trainer

    spec = preset_spec(preset, profile_name=profile, threads=threads)
    tr = Trainer(spec, 1, default_teacher_dir(), default_dataset_dir(spec.seq_len))
    tr.step()
    plain: list[float] = []
    record: list[float] = []
    commit: list[float] = []
    write: list[float] = []
    # process CPU seconds (every thread) of each phase: steadier than wall under load
    cpu: dict[str, list[float]] = {"plain": [], "record": [], "commit": [], "write": [],
                                   "writeBefore": []}
    before: list[float] = []
    disk = 0
    rss_plain = 0.0
    rss_traced = 0.0
    graph: Any = None
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        tr.step()
        plain.append(time.perf_counter() - t0)
        cpu["plain"].append(time.process_time() - c0)
        if not record:  # before anything was traced
            rss_plain = _rss_mib()
        t0, c0 = time.perf_counter(), time.process_time()
        r = record_trainer_step(tr)
        record.append(time.perf_counter() - t0)
        cpu["record"].append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        r.op_commitments(trace_threads)
        r.op_root()
        commit.append(time.perf_counter() - t0)
        cpu["commit"].append(time.process_time() - c0)
        out = Path(tempfile.mkdtemp(prefix="trace-bench-"))
        try:
            t0, c0 = time.perf_counter(), time.process_time()
            write_trace(r, out, trace_threads)
            write.append(time.perf_counter() - t0)
            cpu["write"].append(time.process_time() - c0)
            disk = _du(out)
            rss_traced = rss_traced or _rss_mib()  # before the old writer's copies
        finally:
            shutil.rmtree(out)
        old = Path(tempfile.mkdtemp(prefix="trace-bench-old-"))
        try:
            t0, c0 = time.perf_counter(), time.process_time()
            _write_before(r, old)
            before.append(time.perf_counter() - t0)
            cpu["writeBefore"].append(time.process_time() - c0)
        finally:
            shutil.rmtree(old)
        graph = r.graph
        del r
    med = statistics.median
    traced = med(record) + med(commit)
    return {
        "preset": preset, "profile": profile, "threads": threads, "rounds": rounds,
        "traceThreads": resolve_threads(trace_threads),
        "ops": len(graph.ops), "opElements": sum(op.numel for op in graph.ops),
        "graphRoot": "0x" + graph.root().hex(),
        "trainStepSeconds": med(plain), "recordSeconds": med(record),
        "commitSeconds": med(commit), "writeSeconds": med(write),
        "writeBeforeSeconds": med(before),
        "traceOverTrainRatio": traced / med(plain),
        "traceWithWriteOverTrainRatio": (traced + med(write)) / med(plain),
        "cpuSeconds": {k: med(v) for k, v in cpu.items()},
        "cpuTraceWithWriteOverTrainRatio":
            (med(cpu["record"]) + med(cpu["commit"]) + med(cpu["write"])) / med(cpu["plain"]),
        "peakRssMiBAfterTraining": rss_plain, "peakRssMiBAfterTracing": rss_traced,
        "peakRssMiBAfterOldWriter": _rss_mib(),
        "traceDiskBytes": disk,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--profile", default="repfma-1")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--trace-threads", type=int, default=None,
                    help="threads committing and writing the trace (default: cores, at most 4)")
    a = ap.parse_args()
    load = os.getloadavg()[0]
    if load > 1:
        print(f"WARNING: load average {load:.1f} > 1: figures are measured under load")
    before = list(os.getloadavg())
    res = {"loadavgBefore": before,
           **run(a.preset, a.profile, a.rounds, a.threads, a.trace_threads),
           "loadavgAfter": list(os.getloadavg())}
    print(json.dumps(res, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    doc = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    doc[f"{a.preset}/{a.profile}/t{a.threads}/w{res['traceThreads']}"] = res
    RESULTS.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
