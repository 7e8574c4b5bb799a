"""Writes tests/vectors/trace/rows_game.json: the honest trace of the synthetic step that
contracts/test/shared/RowsFixture.sol plays referee games on (softmax and layer-norm ops at the
default preset's row lengths), computed by the Python reference (prover/trace/programs.py run by
prover/trace/evaluate.py, element by element). The JSON holds each op's leaf (the Solidity
fixture checks that its graph is this one), the state tensors before the step and every op
output, as float32 bits. Seeded: regenerating gives the same bytes.

State: Y [1, 384], S [1, 128] (softmax rows), X [1, 384] (layer-norm rows). Ops:
0 SOFTMAX(S); 1 LN_MEAN(X); 2 LN_RSTD(X, op1); 3 LN_OUT(X, op1, op2, Const w, Const b);
4 LN_BWD_DW over 1,024 rows of 1 (x, dy read op3 and X through stride-0 maps, mean and rstd
broadcast): a 4,096-step program; 5 SOFTMAX_BWD(op0, S); 6 LN_BWD_DX(X, Const w, op1, op2,
dy = op3): 2,313 steps; 7 FSUM_SQ(op3);
8 ADD(op3, Y), the state's new Y.

    .venv/bin/python tests/vectors/trace/make_rows_game.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from prover.trace.evaluate import Tensors, bits, evaluate  # noqa: E402
from prover.trace.graph import Level, Op, Ref, Slot  # noqa: E402
from prover.trace.kinds import MapLevel, OpKind, RefKind  # noqa: E402

W_BITS, B_BITS = 0x3FA00000, 0xBE000000  # 1.25, -0.125
EPS_BITS = int(np.float32(1e-12).view(np.uint32))


def _ops() -> list[Op]:
    def st(j: int, *shape: int) -> Slot:
        return Slot(Ref(RefKind.STATE, j), shape)

    def op(i: int, *shape: int, levels: tuple[Level, ...] = ()) -> Slot:
        return Slot(Ref(RefKind.OP, i), shape, levels)

    def const(b: int) -> Slot:
        return Slot(Ref(RefKind.CONST, b), (384,))

    # 1,024 rows of 1: row k of 8 x 128 reads element 3 * (k % 128) (stride 0 over the 8).
    rows = (Level(MapLevel.STRIDED, 0, (8, 128, 1), (0, 3, 0)),)
    bcast = (Level(MapLevel.STRIDED, 0, (1024,), (0,)),)
    return [
        Op(0, OpKind.SOFTMAX, (1, 128), (st(1, 1, 128),), (1, 128)),
        Op(1, OpKind.LN_MEAN, (1,), (st(2, 1, 384),), (1, 384)),
        Op(2, OpKind.LN_RSTD, (1,), (st(2, 1, 384), op(1, 1)), (1, 384, EPS_BITS)),
        Op(3, OpKind.LN_OUT, (1, 384),
           (st(2, 1, 384), op(1, 1), op(2, 1), const(W_BITS), const(B_BITS)), (1, 384, 1)),
        Op(4, OpKind.LN_BWD_DW, (1,),
           (Slot(Ref(RefKind.STATE, 2), (1024, 1), rows), op(1, 1024, levels=bcast),
            op(2, 1024, levels=bcast), op(3, 1024, 1, levels=rows)), (1024, 1)),
        Op(5, OpKind.SOFTMAX_BWD, (1, 128), (op(0, 1, 128), st(1, 1, 128)), (1, 128)),
        Op(6, OpKind.LN_BWD_DX, (1, 384),
           (st(2, 1, 384), const(W_BITS), op(1, 1), op(2, 1), op(3, 1, 384)), (1, 384, 1)),
        Op(7, OpKind.FSUM_SQ, (1,), (op(3, 1, 384),), (1, 384, 4096, 1)),
        Op(8, OpKind.ADD, (1, 384), (op(3, 1, 384), st(0, 1, 384)), ()),
    ]


def build() -> dict[str, Any]:
    """The JSON document (the same on every run)."""
    rng = np.random.default_rng(2026_12_02)
    state = [rng.uniform(-1, 1, 384).astype(np.float32),
             rng.uniform(-4, 4, 128).astype(np.float32),
             rng.normal(0.3, 1.2, 384).astype(np.float32)]
    tensors = Tensors(state=state, batch=[], teacher=[], scalars=[], ops=[])
    ops = _ops()
    for op in ops:
        out = np.array([evaluate(op, e, tensors) for e in range(op.numel)], dtype=np.float32)
        tensors.ops.append(out)
    return {
        "leaves": ["0x" + op.leaf().hex() for op in ops],
        "state": [[bits(v) for v in t] for t in state],
        "outputs": [[bits(v) for v in t] for t in tensors.ops],
    }


def main() -> int:
    doc = build()
    out_path = HERE / "rows_game.json"
    out_path.write_text(json.dumps(doc) + "\n")
    print(f"{out_path}: {len(doc['leaves'])} ops, outputs of "
          f"{[len(t) for t in doc['outputs']]} elements")
    return 0


if __name__ == "__main__":
    sys.exit(main())
