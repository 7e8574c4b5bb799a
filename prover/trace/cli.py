"""Commands of the step trace: ``spec graph``, ``step trace``, ``step explain``
(docs/referee.md "Step trace")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

step_app = typer.Typer(help="Trace one training step as a graph of binary32 ops (v2 disputes).",
                       no_args_is_help=True)


def _dirs(spec: Any, teacher: Path | None, dataset: Path | None) -> tuple[Path, Path]:
    from prover.presets import default_dataset_dir, default_teacher_dir

    return teacher or default_teacher_dir(), dataset or default_dataset_dir(spec.seq_len)


def spec_graph(
    file: Path,
    teacher: Path | None = typer.Option(None, help="Teacher dir (default: the installed one)."),
    dataset: Path | None = typer.Option(None, help="Manifest dir (default: the cached corpus)."),
    out: Path | None = typer.Option(None, help="Also write the full graph as JSON here."),
) -> None:
    """Print the step graph's summary (ops per kind, largest program) and graphRoot.

    The graph is recorded from steps 1 and 2 of the spec's task on its real shapes (step 1
    reads zero optimizer moments, so it has a graph of its own); values never change it."""
    from prover import profile
    from prover.spec import load_spec

    spec = load_spec(file)
    profile.reexec_if_needed(spec)
    from prover.trace.graph import graph_to_json
    from prover.trace.roots import final_root, scalar_root, teacher_root
    from prover.trace.tracer import record_trainer_step
    from prover.train import Trainer

    teacher_dir, dataset_dir = _dirs(spec, teacher, dataset)
    trainer = Trainer(spec, 0, teacher_dir, dataset_dir)
    first = record_trainer_step(trainer)
    later = record_trainer_step(trainer)
    typer.echo(later.graph.summary())
    typer.echo(f"graphRoot of step 1 (zero moments): 0x{first.graph.root().hex()}")
    typer.echo(f"teacherRoot: 0x{teacher_root(later.tensors.teacher).hex()}")
    typer.echo(f"scalarRoot:  0x{scalar_root(spec).hex()}")
    typer.echo(f"finalRoot:   0x{final_root(later.graph.final).hex()}")
    if out is not None:
        out.write_text(json.dumps(graph_to_json(later.graph)))
        typer.echo(f"graph written to {out}")


@step_app.command("trace")
def step_trace(
    spec_file: Path = typer.Option(..., "--spec"),
    task_id: int = typer.Option(..., "--task-id"),
    step: int = typer.Option(..., "--step", help="The step t to trace."),
    start: Path | None = typer.Option(None, "--start", help="Checkpoint of step t-1 (none: "
                                      "t = 1 from the initial state)."),
    out: Path = typer.Option(..., "--out", help="Directory for the trace."),
    expect: str | None = typer.Option(None, "--expect-state-hash",
                                      help="0x state hash of leaf t (the trace must end there)."),
    teacher: Path | None = typer.Option(None),
    dataset: Path | None = typer.Option(None),
    threads: int | None = typer.Option(None, "--threads", min=1, help="Threads writing and "
                                       "committing the trace while the step runs (default: the "
                                       "cores the training leaves free, 1 to 4)."),
) -> None:
    """Re-execute step t from leaf t-1's checkpoint and write every op output, the
    commitments and the op root; fails unless the trace starts at the checkpoint's state and
    ends at the state the step computes (and at --expect-state-hash when given)."""
    from prover import profile
    from prover.spec import load_spec

    spec = load_spec(spec_file)
    profile.reexec_if_needed(spec)
    from prover.trace.commit import TraceError
    from prover.trace.tracer import record_step, write_trace

    teacher_dir, dataset_dir = _dirs(spec, teacher, dataset)
    # the values are written and committed on other threads while the step is recorded
    r = record_step(spec, task_id, step, start, teacher_dir, dataset_dir, out=out,
                    threads=threads)
    if expect is not None and "0x" + r.state_hash_after.hex() != expect.lower():
        if r.sink is not None:
            r.sink.abort()
        raise TraceError(f"step {step} ends at 0x{r.state_hash_after.hex()}, not at the "
                         f"expected {expect}", hint="the leaf is wrong, or the start is")
    doc = write_trace(r, out, threads)
    typer.echo(json.dumps({k: doc[k] for k in ("step", "graphRoot", "opRoot", "stateHashBefore",
                                                "stateHashAfter", "loss")}
                          | {"ops": len(doc["ops"]), "out": str(out)}, indent=1))


@step_app.command("explain")
def step_explain(
    trace_dir: Path,
    op: int = typer.Option(..., "--op", help="Op index."),
    element: int = typer.Option(..., "--element", help="Output element (row-major)."),
    limit: int = typer.Option(64, help="Print at most this many steps (first and last half)."),
) -> None:
    """Print the element's program with its operands and every intermediate value."""
    from prover.trace.explain import explain
    from prover.trace.tracer import load_trace

    g, tensors, _ = load_trace(trace_dir)
    typer.echo(explain(g, tensors, op, element, limit))


def register(app: typer.Typer, spec_app: typer.Typer) -> None:
    """Add ``step trace``, ``step explain`` and ``spec graph`` to the CLI."""
    spec_app.command("graph")(spec_graph)
    app.add_typer(step_app, name="step")
