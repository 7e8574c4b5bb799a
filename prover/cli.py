"""Commands of the `prover` package: specs, datasets, replays, segment runs and Merkle traces.

Commands that train (``replay``, ``segment run``) re-execute the CLI under the spec's
determinism profile before torch is imported (see prover.profile).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from prover.profile import DEFAULT_PROFILE
from prover.spec import NEW_SCHEDULE, NEW_STATE_HASH

spec_app = typer.Typer(help="Task specs: create, validate, print the profile environment.",
                       no_args_is_help=True)
dataset_app = typer.Typer(help="Dataset manifests (tokenized shards + sample Merkle root).",
                          no_args_is_help=True)
trace_app = typer.Typer(help="Leaves, trace roots and Merkle proofs of a segment.",
                        no_args_is_help=True)
segment_app = typer.Typer(help="Train a segment (what a node commits).", no_args_is_help=True)


def _echo_json(doc: Any) -> None:
    typer.echo(json.dumps(doc, indent=1))


# ---- spec ------------------------------------------------------------------------------------
@spec_app.command("init")
def spec_init(
    preset: str = typer.Option("tiny",
                               help="tiny (tests, seconds) or default (the benchmark task)."),
    seed: int = typer.Option(0, help="Root seed of every RNG."),
    threads: int = typer.Option(1, help="Intra-op threads pinned by the profile."),
    profile_name: str = typer.Option(DEFAULT_PROFILE, "--profile", help="Determinism profile."),
    state_hash: str = typer.Option(NEW_STATE_HASH,
                                   help="tree-v2 (state hash v2, default), blake3 or sha256 (v1)."),
    schedule: str = typer.Option(NEW_SCHEDULE,
                                 help="Data schedule: keccak-v2 (default) or keccak-v1 (v1)."),
    dataset: Path | None = typer.Option(None,
                                        help="Manifest dir (default: the cached Lee corpus)."),
) -> None:
    """Print a ready, valid spec (canonical JSON) on the real teacher and corpus."""
    from prover.presets import preset_spec

    spec = preset_spec(preset, seed=seed, threads=threads, dataset_dir=dataset,
                       profile_name=profile_name, state_hash=state_hash, schedule=schedule)
    typer.echo(spec.canonical_bytes().decode())


@spec_app.command("validate")
def spec_validate(file: Path) -> None:
    """Check a spec; print its specHash."""
    from prover.spec import load_spec

    spec = load_spec(file)
    # canonical: the file is the canonical bytes (a trailing newline from a shell is tolerated)
    canonical = file.read_bytes().rstrip(b"\n") == spec.canonical_bytes()
    _echo_json({"valid": True, "specHash": spec.spec_hash_hex(), "canonical": canonical})


@spec_app.command("env")
def spec_env(file: Path) -> None:
    """Print the profile's environment as `export` lines."""
    from prover.profile import export_lines
    from prover.spec import load_spec

    typer.echo(export_lines(load_spec(file)))


# ---- dataset ---------------------------------------------------------------------------------
@dataset_app.command("build")
def dataset_build(
    sources: list[Path] = typer.Argument(None, help="Text, .jsonl/.json, .csv, .parquet files or "
                                                    "saved HF dataset dirs (default: gensim's "
                                                    "lee_background corpus)."),
    out: Path = typer.Option(..., "--out", help="Manifest directory to write."),
    seq_len: int = typer.Option(32, help="Tokens per sample."),
    tokenizer: Path | None = typer.Option(None,
                                          help="HF model/tokenizer dir (default: the teacher)."),
    shard_size: int = typer.Option(4096, help="Samples per shard."),
    text_field: str = typer.Option("text", "--text-field",
                                   help="Field holding the text in JSONL/CSV/Parquet/HF sources."),
    split: str | None = typer.Option(None, "--split", help="Split of a saved HF DatasetDict."),
    held_out: float = typer.Option(0.0, "--held-out",
                                   help="Fraction of documents held out (chosen by text hash) "
                                        "into heldout.jsonl, never trained on."),
) -> None:
    """Tokenize documents (deduplicated) into fixed-length shards and write manifest.json."""
    from prover.dataset import build_manifest
    from prover.presets import default_teacher_dir, default_text_files, home

    doc = build_manifest(sources or default_text_files(), tokenizer or default_teacher_dir(),
                         seq_len, out, shard_size, cache_dir=home() / "hf-datasets-cache",
                         text_field=text_field, split=split, held_out_fraction=held_out)
    _echo_json({k: doc[k] for k in ("numSamples", "seqLen", "sampleRoot", "documents")}
               | {"dir": str(out)})


# ---- training and replay ---------------------------------------------------------------------
def _dirs(spec: Any, teacher: Path | None, dataset: Path | None) -> tuple[Path, Path]:
    from prover.presets import default_dataset_dir, default_teacher_dir

    return teacher or default_teacher_dir(), dataset or default_dataset_dir(spec.seq_len)


class _Progress:
    def __init__(self, total: int, start: int, label: str) -> None:
        from rich.console import Console
        from rich.progress import Progress

        self.bar = Progress(console=Console(stderr=True), transient=True)
        self.task = self.bar.add_task(label, total=total)
        self.start = start

    def __call__(self, step: int) -> None:
        self.bar.update(self.task, completed=step - self.start)


def replay_cmd(
    spec_file: Path = typer.Option(..., "--spec", help="Task spec JSON."),
    upto: int = typer.Option(..., "--upto", help="Replay up to this state (step)."),
    checkpoint: Path | None = typer.Option(None, "--checkpoint",
                                           help="Start checkpoint dir (default: initial state)."),
    task_id: int = typer.Option(0, "--task-id"),
    teacher: Path | None = typer.Option(None,
                                        help="Teacher model dir (default: installed MiniLM)."),
    dataset: Path | None = typer.Option(None, help="Manifest dir (default: cached Lee corpus)."),
    leaves: Path | None = typer.Option(None, help="Leaves file to compare against."),
) -> None:
    """Replay and print per-step state hashes (and the first mismatching step) as JSON."""
    from prover import merkle, profile
    from prover.spec import load_spec

    spec = load_spec(spec_file)
    profile.reexec_if_needed(spec)
    from prover.segment import replay

    teacher_dir, dataset_dir = _dirs(spec, teacher, dataset)
    expected = None
    if leaves is not None:
        doc = merkle.read_leaves_file(leaves)
        expected = {t: merkle.leaf(doc["taskId"], t, h)
                    for t, h in zip(doc["steps"], doc["stateHashes"], strict=True)}
    from prover.checkpoint import read_state

    start = int(read_state(checkpoint)["step"]) if checkpoint else 0
    prog = _Progress(upto - start, start, "replay")
    with prog.bar:
        r = replay(spec, task_id, checkpoint, upto, teacher_dir, dataset_dir, expected,
                   progress=prog)
    _echo_json({"taskId": task_id, "startStep": r.start_step, "steps": r.steps,
                "stateHashes": [merkle.hex32(h) for h in r.state_hashes],
                "leaves": [merkle.hex32(x) for x in r.leaves], "firstMismatch": r.first_mismatch})


@segment_app.command("run")
def segment_run(
    spec_file: Path = typer.Option(..., "--spec"),
    segment: int = typer.Option(..., "--segment", help="Segment index k."),
    out: Path = typer.Option(..., "--out", help="Writes OUT/checkpoint and OUT/leaves.json."),
    checkpoint: Path | None = typer.Option(None, "--checkpoint",
                                           help="Checkpoint of step k*segmentSteps."),
    task_id: int = typer.Option(0, "--task-id"),
    teacher: Path | None = typer.Option(None),
    dataset: Path | None = typer.Option(None),
) -> None:
    """Train segment k and print its trace root, end state hash and leaves."""
    from prover import merkle, profile
    from prover.spec import load_spec

    spec = load_spec(spec_file)
    profile.reexec_if_needed(spec)
    from prover.segment import run_segment

    teacher_dir, dataset_dir = _dirs(spec, teacher, dataset)
    start = segment * spec.segment_steps
    prog = _Progress(spec.segment_steps, start, f"segment {segment}")
    with prog.bar:
        r = run_segment(spec, task_id, segment, checkpoint, teacher_dir, dataset_dir, out,
                        progress=prog)
    _echo_json({"taskId": task_id, "segment": segment, "traceRoot": merkle.hex32(r.trace_root),
                "endStateHash": merkle.hex32(r.end_state_hash), "checkpoint": str(r.checkpoint_dir),
                "leavesFile": str(r.leaves_file), "losses": r.losses})


# ---- trace -----------------------------------------------------------------------------------
def _hashes(file: Path) -> list[str]:
    from prover.errors import MerkleError

    doc = json.loads(file.read_text())
    if isinstance(doc, dict) and "stateHashes" in doc:
        return list(doc["stateHashes"])
    if isinstance(doc, list):
        return list(doc)
    raise MerkleError(f"{file} is neither a JSON array of state hashes nor a leaves file")


@trace_app.command("root")
def trace_root_cmd(
    task_id: int = typer.Option(..., "--task-id"),
    segment_start: int = typer.Option(..., "--segment-start",
                                      help="State the segment starts from (k*S)."),
    hashes: Path = typer.Option(..., "--hashes",
                                help="JSON array of 0x state hashes, or a leaves file."),
) -> None:
    """Print the segment's leaves and trace root."""
    from prover import merkle

    lv = merkle.leaves_for(task_id, segment_start, _hashes(hashes))
    _echo_json({"taskId": task_id, "segmentStart": segment_start,
                "root": merkle.hex32(merkle.trace_root(lv)),
                "leaves": [merkle.hex32(x) for x in lv]})


@trace_app.command("prove")
def trace_prove_cmd(
    task_id: int = typer.Option(..., "--task-id"),
    segment_start: int = typer.Option(..., "--segment-start"),
    hashes: Path = typer.Option(..., "--hashes"),
    step: int = typer.Option(..., "--step", help="Step whose leaf to prove."),
) -> None:
    """Print the leaf of a step and its Merkle proof against the trace root."""
    from prover import merkle

    hs = _hashes(hashes)
    lv = merkle.leaves_for(task_id, segment_start, hs)
    idx = merkle.step_index(step, segment_start, len(lv))
    _echo_json({"taskId": task_id, "step": step, "index": idx, "stateHash": hs[idx],
                "leaf": merkle.hex32(lv[idx]), "root": merkle.hex32(merkle.trace_root(lv)),
                "proof": [merkle.hex32(x) for x in merkle.proof(lv, idx)]})


def register(app: typer.Typer) -> None:
    """Add this package's commands to the veritrain CLI."""
    app.add_typer(spec_app, name="spec")
    app.add_typer(dataset_app, name="dataset")
    app.add_typer(segment_app, name="segment")
    app.add_typer(trace_app, name="trace")
    from prover.trace.cli import register as register_step_trace  # spec graph, step trace/explain

    register_step_trace(app, spec_app)
    app.command("replay")(replay_cmd)
