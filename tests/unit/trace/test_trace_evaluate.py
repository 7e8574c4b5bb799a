"""The reference evaluator's binary32 operations against the committed Float32 vectors
(results from the x86 instructions, glibc's fmaf and the compiled kernels: see
tests/vectors/float32/float32_reference.py). NaN results are compared as NaN only: the
evaluator does not model NaN payloads (docs/referee.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from prover.trace.evaluate import apply, bits, fma, from_bits
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
    wrong = []
    for i, want in enumerate(case["r"]):
        got = bits(np.float32(apply(OPS[name], [from_bits(case[k][i]) for k in args])))
        if _is_nan(want) and _is_nan(got):
            continue
        if got != want:
            wrong.append((i, [hex(case[k][i]) for k in args], hex(got), hex(want)))
    assert wrong == []
    assert len(case["r"]) > 800


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
