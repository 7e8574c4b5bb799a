"""Writes tests/vectors/trace/programs_<profile>.json: element programs of every op of a real
traced step (tiny preset under the v1 schemes, steps 1 and 2, under one profile) made by the
reference (prover/trace/programs.py, evaluated by prover/trace/evaluate.py), which the Solidity twin
(contracts/src/referee/Programs*.sol) is checked against step by step.

Each vector is one (op, element e) with ``abi.encode``d fields, so a forge test decodes it with
one ``abi.decode`` (``vm.parseJsonBytes(json, ".vectors[i].abi")``):

    (StepOp op, uint256 e, uint256 length, uint256[] steps, uint256[] codes, uint256[] values)

``op`` is ``(uint32 index, uint16 kind, uint8[] refKinds, uint32[] refIndices, uint32[] dims,
int64[] attrs)`` as ``contracts/src/referee/StepOp.sol``; ``steps`` the sampled step numbers
(every step of a program of at most 24 steps, else the first 8, the last 8 and 8 drawn). Per
sampled step, one word of ``codes``: the opcode (kinds.py numbering) in bits 248..255, and
operand i (0..2) in bits ``80 * i`` .. ``80 * i + 73``: ``src << 72 | slot << 64 | value``
with Programs.sol's ``Src`` numbering (None 0, Prev 1, In 2, Const 3; an unused operand is
all zero; value = the step for Prev, the position in the slot's logical shape for In, the bits
for Const); and one word of ``values``: the three operand values' bits at bits ``64 * i`` and the
step's result bits at bits 192..255 (binary32 in the low 32 bits of its field, binary64 for the
``*_F64`` steps). The JSON also carries the kind's name, the op, e, the program length and
``dataDependent`` (EMBED_BWD: the program depends on the ids). Seeded: regenerating gives the
same bytes.

    .venv/bin/python tests/vectors/trace/make_program_vectors.py [--profile repfma-1] [--out FILE]
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

FULL = 24
SAMPLE = 8
PER_OP = 3
#: ops per kind (over both steps): the first two of the kind and two drawn at random
OPS_PER_KIND = 4


def _bits(v: Any) -> int:
    if isinstance(v, float):
        return int(np.array([v], dtype=np.float64).view(np.uint64)[0])
    return int(np.array([v], dtype=np.float32).view(np.uint32)[0])


def _vector(op: Any, e: int, tensors: Any, rng: random.Random) -> dict[str, Any]:
    from eth_abi import encode

    from prover.trace.evaluate import operand, run
    from prover.trace.kinds import OpKind
    from prover.trace.programs import program

    steps = program(op, e, tensors.read)
    results = run(op, steps, tensors)
    n = len(steps)
    if n <= FULL:
        picked = list(range(n))
    else:
        middle = rng.sample(range(SAMPLE, n - SAMPLE), min(SAMPLE, n - 2 * SAMPLE))
        picked = sorted({*range(SAMPLE), *middle, *range(n - SAMPLE, n)})
    codes, vals = [], []
    for s in picked:
        code, ops = steps[s]
        word, bits = int(code) << 248, _bits(results[s]) << 192
        for i, o in enumerate(ops):
            src, slot, value = (o[0] + 1, o[1], o[2]) if o[0] == 1 else (o[0] + 1, 0, o[1])
            word |= (src << 72 | slot << 64 | value) << (80 * i)
            bits |= _bits(operand(op, code, o, results, tensors)) << (64 * i)
        codes.append(word)
        vals.append(bits)
    step_op = (op.index, int(op.kind), [int(r.kind) for r in op.inputs],
               [r.index & 0xFFFFFFFF for r in op.inputs], list(op.shape), list(op.attrs))
    raw = encode(
        ["(uint32,uint16,uint8[],uint32[],uint32[],int64[])", "uint256", "uint256", "uint256[]",
         "uint256[]", "uint256[]"],
        [step_op, e, n, picked, codes, vals])
    return {"kind": op.kind.name, "op": op.index, "e": e, "length": n,
            "dataDependent": op.kind is OpKind.EMBED_BWD, "abi": "0x" + raw.hex()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--profile", default="repfma-1")
    ap.add_argument("--out", type=Path, default=None,
                    help="write here (default: programs_<profile>.json next to this script)")
    opts = ap.parse_args(argv)
    from prover import profile
    from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec

    # the v1 schemes these vectors were made with (the batch's rows depend on the schedule), so
    # new specs defaulting to v2 leave the committed vectors as they are
    spec = preset_spec("tiny", profile_name=opts.profile, state_hash="blake3",
                       schedule="keccak-v1")
    profile.reexec_if_needed(spec)
    from prover.trace.tracer import record_trainer_step
    from prover.train import Trainer

    trainer = Trainer(spec, 0, default_teacher_dir(), default_dataset_dir(spec.seq_len))
    rng = random.Random(20261202)
    vectors: list[dict[str, Any]] = []
    recs = [record_trainer_step(trainer) for _ in range(2)]  # step 1 (zero moments), step 2
    by_kind: dict[Any, list[tuple[Any, Any]]] = {}
    for rec in recs:
        for op in rec.graph.ops:
            by_kind.setdefault(op.kind, []).append((rec, op))
    for kind in sorted(by_kind):
        ops = by_kind[kind]
        rest = ops[2:]
        chosen = ops[:2] + rng.sample(rest, min(len(rest), OPS_PER_KIND - 2))
        for rec, op in chosen:
            picks = {0, op.numel - 1, rng.randrange(op.numel)}
            for e in sorted(picks)[:PER_OP]:
                vectors.append(_vector(op, e, rec.tensors, rng))
    out = opts.out or Path(__file__).with_name(f"programs_{opts.profile}.json")
    kinds = sorted({v["kind"] for v in vectors})
    out.write_text(json.dumps({"profile": opts.profile, "preset": "tiny", "kinds": kinds,
                               "count": len(vectors), "vectors": vectors}, indent=1) + "\n")
    print(f"{out}: {len(vectors)} vectors over {len(kinds)} kinds: {', '.join(kinds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
