"""The committed Float64 vectors are current, and the program-results encoding the node posts
for the clip coefficient's binary64 steps (prover/trace/evaluate.py ``results_bytes``).

- Regenerating tests/vectors/float64/vectors.json (same seed) must give the committed bytes, so
  a stale file (an edited generator, another CPU's NaN rule) fails here.
- ``results_bytes`` of a real CLIP_COEF program: five 8-byte binary64 results, then the 4-byte
  binary32 coefficient (the layout ``Programs.resultAt`` reads on-chain).
"""

from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from prover.trace.commit import TraceError
from prover.trace.evaluate import Tensors, results_bytes, run
from prover.trace.graph import Op, Ref, Slot
from prover.trace.kinds import Opcode, OpKind, RefKind
from prover.trace.programs import program

ROOT = Path(__file__).resolve().parents[3]
VECTORS = ROOT / "tests" / "vectors" / "float64"


def _make_vectors() -> ModuleType:
    spec = importlib.util.spec_from_file_location("float64_make_vectors",
                                                  VECTORS / "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vectors_regenerate_identically() -> None:
    committed = json.loads((VECTORS / "vectors.json").read_text())
    ops = _make_vectors().build()
    assert committed == {"seed": committed["seed"], "ops": ops}
    assert set(ops) == {"add", "div", "min", "sqrt", "to_f32", "to_f64"}


def _clip_op(clip: float) -> Op:
    bits64 = int(np.array([clip]).view(np.int64)[0])
    return Op(index=1, kind=OpKind.CLIP_COEF, shape=(1,),
              slots=(Slot(ref=Ref(RefKind.OP, 0), shape=(1,)),), kattrs=(bits64,))


def test_results_bytes_clip_coef_widths() -> None:
    op = _clip_op(0.5)
    tensors = Tensors(state=[], batch=[], teacher=[], scalars=[],
                      ops=[np.array([3.375], dtype=np.float32)])
    steps = program(op, 0)
    results = run(op, steps, tensors)
    raw = results_bytes(steps, results)
    assert len(raw) == 5 * 8 + 4
    assert struct.unpack(">d", raw[:8])[0] == 3.375  # TO_F64, exact
    assert struct.unpack(">d", raw[8:16])[0] == np.sqrt(3.375)
    coef = min(0.5 / (np.sqrt(3.375) + 1e-6), 1.0)
    assert struct.unpack(">d", raw[32:40])[0] == coef  # MIN_F64
    assert raw[40:] == np.array([coef], dtype=">f4").tobytes()
    assert [code for code, _ in steps][-1] is Opcode.TO_F32


def test_results_bytes_binary32_program_is_four_bytes_a_step() -> None:
    steps = [(Opcode.MUL, ()), (Opcode.ADD, ())]
    raw = results_bytes(steps, [np.float32(1.5), np.float32(-2.0)])
    assert raw == bytes.fromhex("3fc00000c0000000")


def test_results_bytes_refuses_a_binary64_step_after_a_binary32_one() -> None:
    steps = [(Opcode.MUL, ()), (Opcode.TO_F64, ())]
    with pytest.raises(TraceError, match="binary64 step after"):
        results_bytes(steps, [np.float32(1.0), 1.0])
