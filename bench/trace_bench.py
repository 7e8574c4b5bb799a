"""Tracing one training step (docs/referee.md "Step trace"): time against a plain training step
of the same trainer, peak memory and disk, with the graph's size.

The trainer takes one step first (so the traced step reads real optimizer moments), then a plain
step, a step traced in phases and a streamed traced step alternate (``--rounds`` of each), so
all see the same machine load.
* In memory, then written ("phased"): recording (the step itself with the taps; each op output
  is committed as it appears by a sink that writes nothing, as the referee's re-trace records;
  this includes the trace's start and end checks: the state v2 leaves taken from the recording
  and a bitwise comparison of the final state), then the op root (waiting for the commitments,
  on ``--trace-threads`` threads when they were not taken yet), then writing the directory (raw
  float32, the commitments not computed again).
* Streamed (what ``veritrain step trace`` does): the step recorded with a
  :class:`~prover.trace.sink.TraceSink`, which writes and commits each op output on
  ``--sink-threads`` threads while the step goes on, then finishing the directory (waiting for
  the sink, ``trace.json``). Its trace root must equal the phased one's (checked).
Wall and process-CPU seconds of every phase, and the load average before and after (figures
taken with a load average above 1 are "measured under load"). Peak memory is the process's peak
RSS (``ru_maxrss``), read after the first plain step (before any tracing) and again at the end.
Results go to ``bench/results/trace_bench.json``.

    .venv/bin/python bench/trace_bench.py [--preset default|tiny] [--profile repfma-1]
        [--rounds 2] [--threads 1] [--trace-threads N] [--sink-threads N]
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "trace_bench.json"


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _du(d: Path) -> int:
    return sum(f.stat().st_size for f in d.rglob("*") if f.is_file())


class _Clock:
    """Wall, process-CPU (every thread; steadier under load) and main-thread CPU seconds per
    phase (process minus main thread: what the sink's and the commitment's threads did)."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}
        self.main: dict[str, list[float]] = {}

    def time(self, phase: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        t0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
        out = fn(*args, **kwargs)
        self.wall.setdefault(phase, []).append(time.perf_counter() - t0)
        self.cpu.setdefault(phase, []).append(time.process_time() - c0)
        self.main.setdefault(phase, []).append(time.thread_time() - m0)
        return out

    def med(self, *phases: str, cpu: bool = False, main: bool = False) -> float:
        table = self.main if main else self.cpu if cpu else self.wall
        return sum(statistics.median(table[p]) for p in phases)


def run(preset: str, profile: str, rounds: int, threads: int, trace_threads: int | None,
        sink_threads: int | None) -> dict[str, Any]:
    from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec
    from prover.trace.commit import commit, root_of
    from prover.trace.sink import TraceSink
    from prover.trace.sink import sink_threads as resolve_sink
    from prover.trace.tracer import record_trainer_step, write_trace
    from prover.trace.tracer import trace_threads as resolve_threads
    from prover.train import Trainer

    spec = preset_spec(preset, profile_name=profile, threads=threads)
    tr = Trainer(spec, 1, default_teacher_dir(), default_dataset_dir(spec.seq_len))
    tr.step()
    clock = _Clock()
    disk = disk_sink = 0
    rss_plain = 0.0
    graph: Any = None
    for _ in range(rounds):
        clock.time("plain", tr.step)
        rss_plain = rss_plain or _rss_mib()  # before anything was traced
        # in phases: record, commit, write
        r = clock.time("record", record_trainer_step, tr)
        clock.time("commit", lambda rec: (rec.op_commitments(trace_threads), rec.op_root()), r)
        out = Path(tempfile.mkdtemp(prefix="trace-bench-"))
        try:
            clock.time("write", write_trace, r, out, trace_threads)
            disk = _du(out)
        finally:
            shutil.rmtree(out)
        graph = r.graph
        r = None  # one recording in memory at a time (peak RSS)
        # streamed: written and committed while the step is recorded
        out = Path(tempfile.mkdtemp(prefix="trace-bench-sink-"))
        try:
            r = clock.time("sinkRecord", record_trainer_step, tr,
                           sink=TraceSink(out, sink_threads))
            doc = clock.time("sinkFinish", write_trace, r, out)
            if doc["graphRoot"] != "0x" + graph.root().hex():
                raise RuntimeError("the streamed trace has another graph than the phased one")
            disk_sink = _du(out)
            again = [commit(v.reshape(op.shape)).commit  # not timed: a check of the sink
                     for op, v in zip(r.graph.ops, r.tensors.ops, strict=True)]
            if doc["opRoot"] != "0x" + root_of(again).hex():
                raise RuntimeError("the sink's op root is not the recorded values' root")
        finally:
            shutil.rmtree(out)
        r = None  # the values go before the next round
    med = clock.med
    plain, cplain = med("plain"), med("plain", cpu=True)
    phases = ("record", "commit", "write", "sinkRecord", "sinkFinish")
    return {
        "preset": preset, "profile": profile, "threads": threads, "rounds": rounds,
        "traceThreads": resolve_threads(trace_threads), "sinkThreads": resolve_sink(sink_threads),
        "ops": len(graph.ops), "opElements": sum(op.numel for op in graph.ops),
        "graphRoot": "0x" + graph.root().hex(),
        "trainStepSeconds": plain,
        **{f"{p}Seconds": med(p) for p in phases},
        "cpuSeconds": {p: med(p, cpu=True) for p in ("plain", *phases)},
        # the recording's own thread: on a quiet machine the streamed wall time approaches
        # this when the sink keeps up (the rest of the CPU seconds ran beside it)
        "mainThreadCpuSeconds": {p: med(p, main=True) for p in ("plain", *phases)},
        # what `veritrain step trace` does now: recorded with the sink, then finished
        "traceWithWriteOverTrainRatio": med("sinkRecord", "sinkFinish") / plain,
        "cpuTraceWithWriteOverTrainRatio":
            med("sinkRecord", "sinkFinish", cpu=True) / cplain,
        # the tracer in phases, measured beside it
        "phasedTraceOverTrainRatio": med("record", "commit") / plain,
        "phasedTraceWithWriteOverTrainRatio": med("record", "commit", "write") / plain,
        "cpuPhasedTraceWithWriteOverTrainRatio":
            med("record", "commit", "write", cpu=True) / cplain,
        "peakRssMiBAfterTraining": rss_plain, "peakRssMiBAfterTracing": _rss_mib(),
        "traceDiskBytes": disk,
        # the streamed directory also holds the dropped ops' bytes (trace.json: opOffsets)
        "sinkTraceDiskBytes": disk_sink,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--profile", default="repfma-1")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--trace-threads", type=int, default=None,
                    help="threads committing and writing the phased trace (default: cores, "
                         "at most 4)")
    ap.add_argument("--sink-threads", type=int, default=None,
                    help="threads of the streamed trace's sink (default: the cores the "
                         "training leaves free, 1 to 4)")
    a = ap.parse_args()
    load = os.getloadavg()[0]
    if load > 1:
        print(f"WARNING: load average {load:.1f} > 1: figures are measured under load")
    before = list(os.getloadavg())
    res = {"loadavgBefore": before,
           **run(a.preset, a.profile, a.rounds, a.threads, a.trace_threads, a.sink_threads),
           "loadavgAfter": list(os.getloadavg())}
    res["underLoad"] = max(before[0], res["loadavgAfter"][0]) > 1
    print(json.dumps(res, indent=1))
    if res["underLoad"]:
        print(f"WARNING: measured under load (load average {before[0]:.2f} before, "
              f"{res['loadavgAfter'][0]:.2f} after): compare the ratios, not the seconds")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    doc = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    key = f"{a.preset}/{a.profile}/t{a.threads}/w{res['traceThreads']}/s{res['sinkThreads']}"
    doc[key] = res
    RESULTS.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
