"""``veritrain step explain``: one element's program, operand by operand, with every
intermediate value and where each input element comes from."""

from __future__ import annotations

import numpy as np

from prover.trace.commit import TraceError
from prover.trace.evaluate import Tensors, bits, from_bits, run, value_bits
from prover.trace.graph import StepGraph
from prover.trace.kinds import RefKind, program_doc
from prover.trace.programs import IN, PREV, Operand, program


def _operand(g: StepGraph, t: Tensors, op_index: int, o: Operand) -> str:
    op = g.ops[op_index]
    if o[0] == PREV:
        return f"s{o[1]}"
    if o[0] == IN:
        ref, at = t.locate(op, o[1], o[2])
        if ref.kind is RefKind.CONST:
            return f"Const({float(from_bits(ref.index)):.9g})"
        name = {RefKind.STATE: g.state_names, RefKind.TEACHER: g.teacher_names,
                RefKind.SCALAR: g.scalar_names}.get(ref.kind)
        label = f"{name[ref.index]}" if name else str(ref)
        v = t.base(ref)[at]
        return f"{label}[{at}]={float(v):.9g}"
    return f"0x{o[1]:08x}"


def explain(g: StepGraph, t: Tensors, op_index: int, e: int, limit: int = 64) -> str:
    """The text ``step explain`` prints."""
    if not 0 <= op_index < len(g.ops):
        raise TraceError(f"op {op_index} is out of range (the graph has {len(g.ops)} ops)")
    op = g.ops[op_index]
    steps = program(op, e, t.read)
    results = run(op, steps, t)
    want = t.ops[op_index][e]
    got = np.float32(results[-1])
    lines = [f"op {op_index}: {op.kind.name} ({op.label}) shape {list(op.shape)} "
             f"inputs {', '.join(str(r) for r in op.inputs)}",
             "program: " + " ".join(program_doc(op.kind).split()),
             f"element {e}: {len(steps)} steps"]
    shown = range(len(steps)) if len(steps) <= limit else \
        [*list(range(limit // 2)), -1, *list(range(len(steps) - limit // 2, len(steps)))]
    for s in shown:
        if s < 0:
            lines.append(f"  ... {len(steps) - limit} steps not shown (--limit) ...")
            continue
        code, ops = steps[s]
        args = ", ".join(_operand(g, t, op_index, o) for o in ops)
        r = results[s]
        lines.append(f"  s{s:<5} {code.name:<12} {args:<72} = {float(r):.9g} "
                     f"[0x{value_bits(r)}]")
    same = bits(got) == bits(np.float32(want))
    lines.append(f"result 0x{bits(got):08x} ({float(got):.9g}); the trace holds "
                 f"0x{bits(np.float32(want)):08x}: {'equal' if same else 'DIFFERENT'}")
    return "\n".join(lines)
