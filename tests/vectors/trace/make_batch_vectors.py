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


class Opener:
    """The openings of one operand, in the order StepEvaluator._read consumes them."""

    def __init__(self, rec: Any, spec: Any, rows: np.ndarray, state_leaves: list[bytes],
                 state_shapes: list[tuple[int, ...]]):
        from prover import schedule
        from prover.trace import commit
        from prover.trace.roots import scalar_table

        self.rec, self.spec, self.rows = rec, spec, rows
        self.state_leaves, self.state_shapes = state_leaves, state_shapes
        self.op_commits = rec.op_commitments()
        # teacherRoot (roots.teacher_root) commits each teacher tensor flat: rank 1, [numel]
        self.teacher_commits = [commit.commit(np.ascontiguousarray(t)).commit
                                for t in rec.tensors.teacher]
        self.samples = schedule.batch_indices(spec, TASK_ID, rec.step)
        self.scalar_rows = [scalar_table(spec, t) for t in range(1, spec.total_steps + 1)]

    def _tensor(self, vals: np.ndarray, shape: tuple[int, ...], proof: list[bytes],
                idx: int) -> tuple[Any, ...]:
        from prover.trace import commit

        leaves = commit.chunk_leaves(np.ascontiguousarray(vals, dtype=np.float32))
        c = idx >> 8
        chunk = np.zeros(256, dtype="<f4")
        part = vals[c * 256:(c + 1) * 256]
        chunk[:len(part)] = part
        return (commit.root_of(leaves), list(shape), proof, chunk.tobytes(),
                commit.chunk_proof(leaves, c))

    def read(self, op: Any, slot: int, q: int, out: list[Any]) -> None:
        from prover import dataset
        from prover.trace import commit
        from prover.trace.kinds import MapLevel, RefKind
        from prover.trace.roots import scalar_leaf

        s = op.slots[slot]
        pos = q
        for lv in s.levels:
            if lv.kind is MapLevel.GATHER:
                p, c = divmod(pos, lv.row_len)
                self.read(op, lv.ids_slot, p, out)
                pos = int(self.rec.tensors.read(op, lv.ids_slot, p)) * lv.row_len + c
                continue
            off, rest = lv.offset, pos
            for size, stride in zip(reversed(lv.sizes), reversed(lv.strides), strict=True):
                rest, i = divmod(rest, size)
                off += i * stride
            pos = off
        ref = s.ref
        k, j = ref.kind, ref.index
        if k is RefKind.CONST or (k is RefKind.BATCH and j != 0):
            return
        if k is RefKind.BATCH:
            sample = self.samples[pos // self.spec.seq_len]
            _, proof = dataset.sample_proof(self.rows, sample)
            out.append((b"\0" * 32, [], [], self.rows[sample].astype("<i4").tobytes(), proof))
        elif k is RefKind.STATE:
            out.append(self._tensor(self.rec.tensors.state[j], self.state_shapes[j],
                                    commit.chunk_proof(self.state_leaves, j), pos))
        elif k is RefKind.OP:
            o = self.rec.graph.ops[j]
            out.append(self._tensor(self.rec.tensors.ops[j], o.shape,
                                    commit.chunk_proof(self.op_commits, j), pos))
        elif k is RefKind.TEACHER:
            vals = self.rec.tensors.teacher[j]
            out.append(self._tensor(vals, (vals.size,),
                                    commit.chunk_proof(self.teacher_commits, j), pos))
        else:
            t = self.rec.step
            row = self.scalar_rows[t - 1]
            leaves = [scalar_leaf(r) for r in self.scalar_rows]
            out.append((b"\0" * 32, [], [], row.astype("<f4").tobytes(),
                        commit.chunk_proof(leaves, t - 1)))


def _ops_reading_batch(rec: Any) -> list[Any]:
    """Ops with a slot that reads Batch(0) (directly or as a GATHER's ids), and EMBED_BWD ops."""
    from prover.trace.kinds import OpKind, RefKind

    return [op for op in rec.graph.ops
            if op.kind is OpKind.EMBED_BWD
            or any(s.ref.kind is RefKind.BATCH and s.ref.index == 0 for s in op.slots)]


def _vector(op: Any, e: int, s: int, ctx: list[Any], results: bytes, opener: Opener,
            steps: list[Any]) -> dict[str, Any]:
    from eth_abi import encode

    from prover.trace.programs import IN

    openings: list[Any] = []
    n = len(steps)
    if s < n:
        for o in steps[s][1]:
            if o[0] == IN:
                opener.read(op, o[1], o[2], openings)
    else:
        opener.read(op, 0, s - n, openings)
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
    from prover.trace.evaluate import run
    from prover.trace.kinds import OpKind
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
    opener = Opener(rec, spec, rows, leaves, shapes)
    ctx = [0, STEP, 0, 0, 0, len(shapes), len(rec.graph.ops), len(rec.tensors.teacher),
           spec.total_steps,
           rec.state_hash_before, commit.root_of(opener.op_commits),
           teacher_root(rec.tensors.teacher), scalar_root(spec), TASK_ID,
           bytes.fromhex(spec.dataset.sample_root[2:]), spec.seed, spec.dataset.num_samples,
           spec.batch_size, spec.seq_len]
    rng = random.Random(20261202)
    vectors: list[dict[str, Any]] = []
    for op in _ops_reading_batch(rec):
        for e in sorted({0, op.numel - 1, *rng.sample(range(op.numel), 2)}):
            steps = program(op, e, rec.tensors.read)
            res = run(op, steps, rec.tensors)
            bits = np.array(res, dtype=np.float32).view(np.uint32).astype(">u4").tobytes()
            positions: list[int] = []
            if op.kind is OpKind.EMBED_BWD:
                h = op.kattrs[1]
                positions = [o[2] // h for _, ops in steps for o in ops[1:2] if o[0] == 1]
                bits += b"".join(p.to_bytes(4, "big") for p in positions)
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
