"""The committed Float32 vectors are current, and the sweep's integer model agrees with them.

- Regenerating tests/vectors/float32/vectors.json (same seed) must give the committed bytes, so
  a stale file (an edited generator, a changed kernel) fails here.
- bench/float32_model.h (the model the 2^32 sweep runs) must give every expected result of the
  unary operations and of add/sub/mul/div, the same results forge checks the Solidity against.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
VECTORS = ROOT / "tests" / "vectors" / "float32"
#: vectors.json key -> the sweep model's operation name
MODEL_OPS = {"sqrt": "sqrt", "cvtsi2ss": "fromint", "cvttss2si": "toint", "exp": "exp",
             "log": "log", "erf": "erf", "gelu": "gelu", "add": "add", "sub": "sub", "mul": "mul",
             "div": "div", "fma": "fma"}


@pytest.fixture(scope="module")
def make_vectors():
    # loaded from its file under a name of its own (tests/vectors/ has another make_vectors.py)
    sys.path.insert(0, str(VECTORS))
    try:
        spec = importlib.util.spec_from_file_location("float32_make_vectors",
                                                      VECTORS / "make_vectors.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(VECTORS))


@pytest.fixture(scope="module")
def sweep_exe() -> Path:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        return importlib.import_module("float32_sweep").build()
    finally:
        sys.path.remove(str(ROOT / "bench"))


def test_vectors_regenerate_identically(make_vectors) -> None:
    committed = (VECTORS / "vectors.json").read_text()
    assert make_vectors.render(make_vectors.build()) == committed, (
        "tests/vectors/float32/vectors.json is stale: run "
        ".venv/bin/python tests/vectors/float32/make_vectors.py and commit the result")


@pytest.mark.parametrize("key", sorted(MODEL_OPS))
def test_sweep_model_matches_vectors(key: str, sweep_exe: Path, make_vectors) -> None:
    case = json.loads((VECTORS / "vectors.json").read_text())[key]
    x = np.array(case["a"], dtype="<u4")
    cols = [x] + [np.array(case[k], dtype="<u4") for k in ("b", "c") if k in case]
    operands = np.stack(cols, axis=1) if len(cols) > 1 else x
    out = subprocess.run([str(sweep_exe), "model", MODEL_OPS[key]], input=operands.tobytes(),
                         capture_output=True, check=True).stdout
    got = np.frombuffer(out, dtype="<u4")
    want = np.array(case["r"], dtype="<u4")
    bad = np.nonzero(got != want)[0]
    assert bad.size == 0, (f"{key}: model gives {got[bad[0]]:#010x}, x86 {want[bad[0]]:#010x} "
                           f"for {x[bad[0]]:#010x}")


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "fma"])
def test_model_random_cases_match_x86(op: str, sweep_exe: Path) -> None:
    """200,000 random cases of each binary operation through the model against the x86
    instruction (glibc's fmaf for fma), drawn to hit the slow paths: close exponents,
    cancellation, subnormals, the fma frame's edges, products next to a rounding boundary."""
    out = subprocess.run([str(sweep_exe), "random", op, "200000", "17"], capture_output=True,
                         text=True)
    result = json.loads(out.stdout)
    assert result["random_cases"] == 200000
    assert result["mismatches"] == 0, out.stderr


@pytest.mark.heavy
@pytest.mark.parametrize("op", ["sqrt", "fromint", "toint", "exp", "log", "erf", "gelu"])
def test_sweep_slice_has_no_mismatch(op: str, sweep_exe: Path) -> None:
    """2^22 consecutive inputs around 1.0 and around -1.0 through the sweep binary (the
    full 2^32 run is bench/float32_sweep.py; this is a quick check of the same binary)."""
    for start in (0x3F800000 - (1 << 21), 0xBF800000 - (1 << 21)):
        out = subprocess.run([str(sweep_exe), op, "2", str(ROOT / "build" / "kernels"),
                              f"{start:x}", f"{start + (1 << 22):x}"],
                             capture_output=True, text=True, check=True).stdout
        seg = json.loads(out)
        assert seg["inputs"] == 1 << 22
        assert seg["mismatches"] == 0, seg["first"]
