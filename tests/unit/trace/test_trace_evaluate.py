"""The reference evaluator's binary32 operations against the committed Float32 vectors
(results from the x86 instructions, glibc's fmaf and the compiled kernels: see
tests/vectors/float32/float32_reference.py), NaN results bit for bit: the evaluator applies the
x86 SSE NaN rules (docs/referee.md "NaN payloads")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from prover.trace.evaluate import DEFAULT_NAN, apply, bits, fma, from_bits
from prover.trace.kinds import Opcode

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "float32" / "vectors.json"
OPS = {"add": Opcode.ADD, "sub": Opcode.SUB, "mul": Opcode.MUL, "div": Opcode.DIV,
       "sqrt": Opcode.SQRT, "max": Opcode.MAX, "min": Opcode.MIN, "exp": Opcode.EXP,
       "log": Opcode.LOG, "erf": Opcode.ERF, "gelu": Opcode.GELU, "fma": Opcode.FMA}


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    return json.loads(VECTORS.read_text())


def _is_nan(b: int) -> bool:
    return (b & 0x7F800000) == 0x7F800000 and (b & 0x007FFFFF) != 0


@pytest.mark.parametrize("name", list(OPS))
def test_apply_matches_float32_vectors(vectors: dict[str, Any], name: str) -> None:
    case = vectors[name]
    args = [k for k in ("a", "b", "c") if k in case]
    wrong, nans = [], 0
    for i, want in enumerate(case["r"]):
        got = bits(np.float32(apply(OPS[name], [from_bits(case[k][i]) for k in args])))
        nans += _is_nan(want)
        if got != want:
            wrong.append((i, [hex(case[k][i]) for k in args], hex(got), hex(want)))
    assert wrong == []  # NaN results too: payload, sign and quiet bit
    assert len(case["r"]) > 800 and nans >= 5  # NaN cases of every operation are among them


# (opcode, operand bits, result bits): the SSE NaN rules one at a time
SNAN1, QNAN2, NEG_QNAN = 0x7FA12345, 0x7FC54321, 0xFFD00042
NAN_CASES = [
    (Opcode.ADD, (SNAN1, QNAN2), SNAN1 | 0x400000),       # the first NaN operand, quieted
    (Opcode.ADD, (QNAN2, SNAN1), QNAN2),                  # order matters, not signalling-ness
    (Opcode.ADD, (0x3F800000, SNAN1), SNAN1 | 0x400000),  # a number first: the NaN, quieted
    (Opcode.SUB, (0x3F800000, NEG_QNAN), NEG_QNAN),       # subss keeps the NaN's own sign
    (Opcode.SUB, (0x7F800000, 0x7F800000), DEFAULT_NAN),  # inf - inf: the default NaN
    (Opcode.MUL, (0x00000000, 0xFF800000), DEFAULT_NAN),  # 0 * -inf
    (Opcode.MUL, (NEG_QNAN, SNAN1), NEG_QNAN),
    (Opcode.DIV, (0x00000000, 0x80000000), DEFAULT_NAN),  # 0 / -0
    (Opcode.DIV, (0x7F800000, 0xFF800000), DEFAULT_NAN),  # inf / -inf
    (Opcode.SQRT, (0xBF800000,), DEFAULT_NAN),            # sqrt(-1)
    (Opcode.SQRT, (SNAN1,), SNAN1 | 0x400000),
    (Opcode.FMA, (0x3F800000, SNAN1, QNAN2), SNAN1 | 0x400000),  # a, then b, then c
    (Opcode.FMA, (0x00000000, 0x7F800000, QNAN2), QNAN2),        # a NaN c beats 0 * inf
    (Opcode.FMA, (0x00000000, 0x7F800000, 0x3F800000), DEFAULT_NAN),
    (Opcode.FMA, (0x7F800000, 0x3F800000, 0xFF800000), DEFAULT_NAN),  # inf - inf
    (Opcode.MAX, (SNAN1, 0x3F800000), 0x3F800000),        # maxss: the second operand
    (Opcode.MAX, (0x3F800000, SNAN1), SNAN1),             # ... unquieted
    (Opcode.MIN, (NEG_QNAN, 0x00000000), 0x00000000),
    (Opcode.NEG, (SNAN1,), SNAN1 | 0x80000000),           # a bit move
    (Opcode.MOV, (SNAN1,), SNAN1),
    (Opcode.EXP, (SNAN1,), SNAN1),                        # the kernels select x itself
    (Opcode.LOG, (NEG_QNAN,), NEG_QNAN),
    (Opcode.LOG, (0xBF800000,), 0x7FC00000),              # log(-1): C's NAN
    (Opcode.LOG, (0xFF800000,), 0x7FC00000),
    (Opcode.ERF, (NEG_QNAN,), NEG_QNAN & 0x7FFFFFFF),     # |x|, quieted
    (Opcode.ERF, (SNAN1,), SNAN1 | 0x400000),
    (Opcode.GELU, (SNAN1,), SNAN1 | 0x400000),            # x, quieted
    (Opcode.GELU, (NEG_QNAN,), NEG_QNAN),
    (Opcode.GELU, (0xFF800000,), DEFAULT_NAN),            # (0.5 * -inf) * (1 + erf(-inf))
]


@pytest.mark.parametrize(("code", "args", "want"), NAN_CASES,
                         ids=[f"{c.name}-{i}" for i, (c, _, _) in enumerate(NAN_CASES)])
def test_apply_nan_operands_follow_sse_rules(code: Opcode, args: tuple[int, ...],
                                             want: int) -> None:
    got = bits(np.float32(apply(code, [from_bits(a) for a in args])))
    assert hex(got) == hex(want)


def test_fma_rounds_once_where_binary64_rounds_twice() -> None:
    """a*b + c whose binary64 sum is a binary32 tie, while the exact sum is just above it:
    rounding through binary64 gives the even neighbour, one rounding the odd one."""
    a = np.float32(1 + 2.0 ** -12)
    b = np.float32(1 + 2.0 ** -12)     # a*b = 1 + 2^-11 + 2^-24 exactly
    c = np.float32(2.0 ** -60)         # pushes the exact sum above the tie 1 + 2^-11 + 2^-24
    exact_above_tie = np.float32(1 + 2.0 ** -11 + 2.0 ** -23)
    twice = np.float32(float(a) * float(b) + float(c))  # binary64 drops c, then ties to even
    assert bits(twice) != bits(exact_above_tie)
    assert bits(fma(a, b, c)) == bits(exact_above_tie)
