"""Writes tests/vectors/trace/programs_synthetic.json: element programs of the row kinds on
synthetic ops that a traced tiny step does not have (log-softmax and its backward, a blocked sum
whose last block is short or has empty lanes, a softmax row with masked -inf entries, odd row
lengths), made by the same reference as make_program_vectors.py (prover/trace/programs.py run
by prover/trace/evaluate.py) and in its format, so ProgramVectors.t.sol reads both alike.
Programs of up to 64 steps are written whole (else 8 first, 8 last and 8 drawn). Seeded:
regenerating gives the same bytes.

    .venv/bin/python tests/vectors/trace/make_rows_vectors.py
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from prover.trace.evaluate import Tensors  # noqa: E402
from prover.trace.graph import Op, Ref, Slot  # noqa: E402
from prover.trace.kinds import OpKind, RefKind  # noqa: E402
from prover.trace.taps import FSUM_BLOCK  # noqa: E402


def _vectors_module() -> Any:
    spec = importlib.util.spec_from_file_location("make_program_vectors",
                                                  HERE / "make_program_vectors.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("make_program_vectors.py is missing")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _state(rng: np.random.Generator) -> list[np.ndarray]:
    """State tensors: 0 x [3, 37] (row 1 half -inf), 1 y = log-probs [3, 37], 2 dy [3, 37],
    3 a long row [2, 4133], 4 a short row [2, 7], 5 w [37], 6 b [37], 7 mean [3], 8 rstd [3]."""
    x = rng.uniform(-6, 6, (3, 37)).astype(np.float32)
    x[1, ::2] = -np.inf
    y = np.log(rng.dirichlet(np.ones(37), 3)).astype(np.float32)
    return [x.ravel(), y.ravel(), rng.normal(0, 1, 111).astype(np.float32),
            rng.uniform(-3, 3, 2 * 4133).astype(np.float32),
            rng.uniform(-3, 3, 14).astype(np.float32),
            rng.uniform(0.5, 1.5, 37).astype(np.float32), rng.normal(0, 0.1, 37).astype(np.float32),
            rng.uniform(-0.5, 0.5, 3).astype(np.float32), rng.uniform(0.5, 2, 3).astype(np.float32)]


def _ops() -> list[Op]:
    def s(j: int, *shape: int) -> Slot:
        return Slot(Ref(RefKind.STATE, j), shape)

    eps = int(np.float32(1e-5).view(np.uint32))
    long_blocks = -(-4133 // FSUM_BLOCK)
    return [
        Op(0, OpKind.LOGSOFTMAX, (3, 37), (s(0, 3, 37),), (3, 37)),
        Op(1, OpKind.LOGSOFTMAX_BWD, (3, 37), (s(1, 3, 37), s(2, 3, 37)), (3, 37)),
        Op(2, OpKind.SOFTMAX, (3, 37), (s(0, 3, 37),), (3, 37)),
        Op(3, OpKind.SOFTMAX_BWD, (3, 37), (s(1, 3, 37), s(2, 3, 37)), (3, 37)),
        Op(4, OpKind.FSUM, (2, long_blocks), (s(3, 2, 4133),),
           (2, 4133, FSUM_BLOCK, long_blocks)),
        Op(5, OpKind.FSUM_SQ, (2, long_blocks), (s(3, 2, 4133),),
           (2, 4133, FSUM_BLOCK, long_blocks)),
        Op(6, OpKind.FSUM_SQ, (2,), (s(4, 2, 7),), (2, 7, FSUM_BLOCK, 1)),
        Op(7, OpKind.SUM, (3,), (s(2, 3, 37),), (3, 37)),
        Op(8, OpKind.LN_MEAN, (3,), (s(2, 3, 37),), (3, 37)),
        Op(9, OpKind.LN_RSTD, (3,), (s(2, 3, 37), s(7, 3)), (3, 37, eps)),
        Op(10, OpKind.LN_OUT, (3, 37), (s(2, 3, 37), s(7, 3), s(8, 3), s(5, 37), s(6, 37)),
           (3, 37, 1)),
        Op(11, OpKind.LN_BWD_DX, (3, 37), (s(2, 3, 37), s(5, 37), s(7, 3), s(8, 3), s(1, 3, 37)),
           (3, 37, 1)),
        Op(12, OpKind.LN_BWD_DW, (37,), (s(2, 3, 37), s(7, 3), s(8, 3), s(1, 3, 37)), (3, 37)),
        Op(13, OpKind.LN_BWD_DB, (37,), (s(1, 3, 37),), (3, 37)),
    ]


def build() -> dict[str, Any]:
    """The JSON document (the same on every run)."""
    mpv = _vectors_module()
    mpv.FULL = 64
    rng = random.Random(20261202)
    tensors = Tensors(state=_state(np.random.default_rng(19)), batch=[], teacher=[], scalars=[],
                      ops=[])
    vectors = []
    for op in _ops():
        picks = {0, op.numel - 1, rng.randrange(op.numel), op.numel // 2}
        if op.kind in (OpKind.SOFTMAX, OpKind.LOGSOFTMAX):
            picks.add(37 + 5)  # a row with -inf entries
        for e in sorted(picks):
            vectors.append(mpv._vector(op, e, tensors, rng))
    kinds = sorted({v["kind"] for v in vectors})
    return {"profile": "synthetic", "preset": "none", "kinds": kinds, "count": len(vectors),
            "vectors": vectors}


def main() -> int:
    doc = build()
    out = HERE / "programs_synthetic.json"
    out.write_text(json.dumps(doc, indent=1) + "\n")
    kinds = ", ".join(doc["kinds"])
    print(f"{out}: {doc['count']} vectors over {len(doc['kinds'])} kinds: {kinds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
