"""The node's work to answer a referee game (docs/referee.md "The bots"), against one plain
training step of the same trainer (the issue's target: at most 3x).

The node re-traces the disputed step once (recording it, committing every op output: its
``postTrace``), caches the trace on disk, and then answers every later move from it: the op
rounds' nodes, the shape and chunk rounds of the op the game reaches, the chunk, and the
element's program results. Timed here for the worst op the game can reach (the largest output:
the longest chunk bisection) and the longest element program of any checkable kind (GEMM).
Plain steps and game answers alternate (``--rounds`` each) so both see the same load. Replaying
from the segment's start checkpoint up to step t-1 (at most segmentSteps - 1 plain steps) comes
before all this and is reported apart. Results go to ``bench/results/referee_answer.json``.

    .venv/bin/python bench/referee_answer.py [--preset tiny|default] [--profile repcpu-2]
                                             [--rounds 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "referee_answer.json"


def _answers(view: Any) -> dict[str, float]:
    """Every answer after postTrace, for the largest op and the longest GEMM program."""
    from prover.trace.game import depth_of, round_width
    from prover.trace.kinds import OpKind
    from prover.trace.programs import program_length

    out: dict[str, float] = {}
    t0 = time.perf_counter()
    depth, index = depth_of(len(view.ops)), 0
    while depth:  # the op rounds, down the leftmost path
        view.split(False, 0, depth, index)
        depth -= round_width(depth)
    out["opRounds"] = time.perf_counter() - t0
    big = max(view.ops, key=lambda o: o.numel)
    t0 = time.perf_counter()
    view.shape(big.index)
    depth = depth_of(len(view.chunk_tree(big.index)[0]))
    while depth:
        view.split(True, big.index, depth, 0)
        depth -= round_width(depth)
    view.chunk(big.index, 0)
    out["shapeChunkRounds"] = time.perf_counter() - t0
    gemm = max((o for o in view.ops if o.kind is OpKind.GEMM), key=program_length)
    t0 = time.perf_counter()
    view.results(gemm.index, 0)
    out["program"] = time.perf_counter() - t0
    out["programSteps"] = program_length(gemm)
    out["chunks"] = len(view.chunk_tree(big.index)[0])
    return out


def run(preset: str, profile: str, rounds: int, threads: int) -> dict[str, Any]:
    from prover import statehash
    from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec
    from prover.trace.game import save_view
    from prover.trace.retrace import attach_bindings, trace_view
    from prover.train import Trainer

    spec = preset_spec(preset, profile_name=profile, threads=threads,
                       state_hash=statehash.TREE_V2)
    data = default_dataset_dir(spec.seq_len)
    tr = Trainer(spec, 1, default_teacher_dir(), data)
    tr.step()
    plain: list[float] = []
    trace: list[float] = []
    cache: list[float] = []
    answers: list[dict[str, float]] = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        tr.step()
        plain.append(time.perf_counter() - t0)
        t0 = time.perf_counter()  # what retrace does after replaying to step t-1
        view = trace_view(tr)
        attach_bindings(view, spec, 1, view.step, data)
        view.op_root()
        trace.append(time.perf_counter() - t0)
        out = Path(tempfile.mkdtemp(prefix="referee-bench-"))
        try:
            t0 = time.perf_counter()
            save_view(view, out)
            cache.append(time.perf_counter() - t0)
        finally:
            shutil.rmtree(out)
        answers.append(_answers(view))
        del view
    med = statistics.median
    rest = med([a["opRounds"] + a["shapeChunkRounds"] + a["program"] for a in answers])
    step = med(plain)
    return {
        "preset": preset, "profile": profile, "threads": threads, "rounds": rounds,
        "trainStepSeconds": step, "retraceSeconds": med(trace), "cacheWriteSeconds": med(cache),
        "laterAnswersSeconds": rest,
        "answers": {k: med([a[k] for a in answers]) for k in answers[0]},
        "answerOverTrainRatio": (med(trace) + rest) / step,
        "answerWithCacheOverTrainRatio": (med(trace) + med(cache) + rest) / step,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--profile", default="repcpu-2")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    load = os.getloadavg()[0]
    if load > 1:
        print(f"WARNING: load average {load:.1f} > 1: figures are measured under load")
    res = {"loadavgBefore": list(os.getloadavg()),
           **run(a.preset, a.profile, a.rounds, a.threads),
           "loadavgAfter": list(os.getloadavg())}
    print(json.dumps(res, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    doc = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    doc[f"{a.preset}/{a.profile}/t{a.threads}"] = res
    RESULTS.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
