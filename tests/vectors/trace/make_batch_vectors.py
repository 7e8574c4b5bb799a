"""Writes tests/vectors/trace/batch_bindings.json: the referee's input bindings on a real traced
step (tiny preset, repfma-1, stateHash tree-v2, schedule keccak-v2, task 0): elements of the ops
that read the batch (the embedding lookups: GATHER levels whose ids are ``Batch(0)``) and of
the embedding gradients (EMBED_BWD: positions from the ids), each with the openings the
challenger hands ``StepEvaluator.evaluate`` (batch rows opened against the real dataset's
sampleRoot at the keccak-v2 schedule's sample, state tensors against the state hash v2 before
the step, op outputs against opRoot), in the order the contract consumes them. The forge test
(``contracts/test/unit/RefereeBatchVectors.t.sol``) checks that binary32 on the bound operands
gives the traced bits, and that another sample's row does not prove.

Each vector's ``abi`` is ``abi.encode(Ctx, StepOp, bytes results, Opening[] openings)`` with
``StepEvaluator.Ctx``'s fields; EMBED_BWD results are r_0..r_{n-1} then the positions
(``ProgramsEmbed``), and its membership checks are steps n + q.

    .venv/bin/python tests/vectors/trace/make_batch_vectors.py [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

TASK_ID = 0
STEP = 2
CTX = ("(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,bytes32,bytes32,"
       "bytes32,bytes32,uint256,bytes32,uint64,uint64,uint32,uint32)")
OP = "(uint32,uint16,uint8[],uint32[],uint32[],int64[])"
OPENING = "(bytes32,uint32[],bytes32[],bytes,bytes32[])"


def _opener(rec: Any, spec: Any, rows: np.ndarray, state_leaves: list[bytes],
            state_shapes: list[tuple[int, ...]]) -> Any:
    """The openings the challenger's bot hands StepEvaluator (prover/trace/openings.py), with
    op outputs proven under the traced step's own opRoot."""
    from prover import schedule
    from prover.trace import commit
    from prover.trace.openings import BatchRows, Opener
    from prover.trace.roots import scalar_leaf, scalar_table

    op_commits = rec.op_commitments()
    # teacherRoot (roots.teacher_root) commits each teacher tensor flat: rank 1, [numel]
    teacher = [commit.commit(np.ascontiguousarray(t)).commit for t in rec.tensors.teacher]
    scalars = [scalar_leaf(scalar_table(spec, t)) for t in range(1, spec.total_steps + 1)]
    batch = BatchRows(rows, schedule.batch_indices(spec, TASK_ID, rec.step), spec.seq_len)
    return Opener(rec.tensors, rec.graph.ops, rec.step, state_shapes, state_leaves, teacher,
                  scalars, batch, lambda j: commit.chunk_proof(op_commits, j))


def _ops_reading_batch(rec: Any) -> list[Any]:
    """Ops with a slot that reads Batch(0) (directly or as a GATHER's ids), and EMBED_BWD ops."""
    from prover.trace.kinds import OpKind, RefKind

    return [op for op in rec.graph.ops
            if op.kind is OpKind.EMBED_BWD
            or any(s.ref.kind is RefKind.BATCH and s.ref.index == 0 for s in op.slots)]


def _vector(op: Any, e: int, s: int, ctx: list[Any], results: bytes, opener: Any,
            steps: list[Any]) -> dict[str, Any]:
    from eth_abi import encode

    from prover.trace.kinds import OpKind
    from prover.trace.openings import embed_openings

    if op.kind is OpKind.EMBED_BWD:
        opened = embed_openings(opener, op, e, s, results)
    else:
        opened = opener.step_openings(op, steps[s][1])
    openings = [(o.root, list(o.dims), o.commit_proof, o.chunk, o.chunk_proof) for o in opened]
    step_op = (op.index, int(op.kind), [int(r.kind) for r in op.inputs],
               [r.index & 0xFFFFFFFF for r in op.inputs], list(op.shape), list(op.attrs))
    c = list(ctx)
    c[2], c[3], c[4] = e, s, op.index
    raw = encode([CTX, OP, "bytes", f"{OPENING}[]"], [tuple(c), step_op, results, openings])
    return {"kind": op.kind.name, "op": op.index, "e": e, "s": s, "abi": "0x" + raw.hex()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("batch_bindings.json"))
    opts = ap.parse_args(argv)
    from prover import profile, statehash
    from prover.dataset import load_manifest
    from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec

    spec = preset_spec("tiny", state_hash="tree-v2", schedule="keccak-v2")
    profile.reexec_if_needed(spec)
    from prover.trace import commit
    from prover.trace.kinds import OpKind
    from prover.trace.openings import embed_terms, program_results
    from prover.trace.programs import program
    from prover.trace.roots import scalar_root, teacher_root
    from prover.trace.tracer import record_trainer_step
    from prover.train import Trainer, rng_state

    dataset_dir = default_dataset_dir(spec.seq_len)
    rows = load_manifest(dataset_dir).input_ids.numpy()
    trainer = Trainer(spec, TASK_ID, default_teacher_dir(), dataset_dir)
    record_trainer_step(trainer)  # step 1; the vectors come from step 2 (state moments)
    state = statehash.param_tensors(trainer.student) + \
        statehash.optimizer_tensors(trainer.student, trainer.optimizer)
    shapes = [tuple(t.shape) for _, t in state]
    leaves = [commit.commit(t.detach()).commit for _, t in state] + [statehash.scalar_leaf(
        STEP - 1, rng_state(spec, TASK_ID), (STEP - 1) * spec.batch_size)]
    rec = record_trainer_step(trainer)
    if commit.root_of(leaves) != rec.state_hash_before or rec.step != STEP:
        raise SystemExit("the state tree rebuilt here is not the traced step's state before")
    opener = _opener(rec, spec, rows, leaves, shapes)
    ctx = [0, STEP, 0, 0, 0, len(shapes), len(rec.graph.ops), len(rec.tensors.teacher),
           spec.total_steps,
           rec.state_hash_before, commit.root_of(rec.op_commitments()),
           teacher_root(rec.tensors.teacher), scalar_root(spec), TASK_ID,
           bytes.fromhex(spec.dataset.sample_root[2:]), spec.seed, spec.dataset.num_samples,
           spec.batch_size, spec.seq_len]
    rng = random.Random(20261202)
    vectors: list[dict[str, Any]] = []
    for op in _ops_reading_batch(rec):
        for e in sorted({0, op.numel - 1, *rng.sample(range(op.numel), 2)}):
            steps = program(op, e, rec.tensors.read)
            bits = program_results(op, e, rec.tensors)  # EMBED_BWD: then its positions
            if op.kind is OpKind.EMBED_BWD:
                positions = embed_terms(op, e, rec.tensors)
                n = len(steps)
                picks = [0, n - 1, n + rng.randrange(op.kattrs[2])]
                if positions:
                    picks.append(n + positions[0])
            else:
                picks = [0, len(steps) - 1]
            for s in sorted(set(picks)):
                vectors.append(_vector(op, e, s, ctx, bits, opener, steps))
    out = opts.out
    out.write_text(json.dumps({"preset": "tiny", "profile": spec.profile.name, "step": STEP,
                               "taskId": TASK_ID, "sampleRoot": spec.dataset.sample_root,
                               "count": len(vectors), "vectors": vectors}, indent=1) + "\n")
    print(f"{out}: {len(vectors)} vectors over ops "
          f"{sorted({v['op'] for v in vectors})} ({sorted({v['kind'] for v in vectors})})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
