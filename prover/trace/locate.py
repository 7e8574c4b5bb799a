"""Where a claimed trace goes wrong: the honest challenger's search (docs/referee.md "The game").

Given the honest trace and a claimed one of the same step (same graph), :func:`locate` finds
what the game's bisections reach: the first op whose output commitment differs, the first
element of it that differs, and the first step of that element's program whose claimed result
is not what binary32 gives for its operands, the operands being the claimed earlier results and
the agreed inputs (the state of leaf t-1, the batch, the teacher, the per-step scalars and the
earlier ops' outputs, which agree with the honest trace up to that op).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prover.trace import commit
from prover.trace.commit import TraceError
from prover.trace.evaluate import Tensors, Value, apply, bits, operand, run
from prover.trace.programs import program
from prover.trace.tracer import Recorded


@dataclass(frozen=True)
class Divergence:
    """The op, element and program step a challenger points at."""

    op: int
    element: int
    step: int
    claimed: Value
    correct: Value


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def locate(honest: Recorded, claimed: Recorded) -> Divergence | None:
    """The first wrong op, element and step of ``claimed`` (None: it agrees everywhere)."""
    if honest.graph.root() != claimed.graph.root():
        raise TraceError("the two traces have different graphs")
    ops = honest.graph.ops
    first = None
    for op in ops:
        hv, cv = honest.tensors.ops[op.index], claimed.tensors.ops[op.index]
        if commit.commit(hv.reshape(op.shape)).commit != commit.commit(
                cv.reshape(op.shape)).commit:
            first = op
            break
    if first is None:
        return None
    hv, cv = honest.tensors.ops[first.index], claimed.tensors.ops[first.index]
    e = int(np.flatnonzero(hv.view(np.uint32) != cv.view(np.uint32))[0])
    # what the node posts: its program results, from the inputs it used
    steps = program(first, e, claimed.tensors.read)
    posted = run(first, steps, claimed.tensors)
    if bits(np.float32(posted[-1])) != bits(cv[e]):
        raise TraceError(f"the claimed trace's op {first.index} element {e} is not its own "
                         "program's result")
    agreed = Tensors(honest.tensors.state, honest.tensors.batch, honest.tensors.teacher,
                     honest.tensors.scalars, claimed.tensors.ops)
    for s, (code, operands) in enumerate(steps):
        want = apply(code, [operand(first, code, o, posted, agreed) for o in operands])
        if _bits_any(want) != _bits_any(posted[s]):
            return Divergence(first.index, e, s, posted[s], want)
    raise TraceError(f"op {first.index} element {e} differs, yet every step checks out")


def _bits_any(v: Value) -> int:
    if isinstance(v, float):
        return int(np.array([v]).view(np.uint64)[0])
    return bits(np.float32(v))
