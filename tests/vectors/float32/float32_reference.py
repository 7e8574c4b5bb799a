"""References for the Float32 vectors: the CPU's SSE instructions and the compiled C kernels.

- Scalar instructions (addss, subss, mulss, divss, sqrtss, maxss, minss, cvtsi2ss, cvttss2si)
  run through ``sse_ops.c``, a tiny C harness whose inline assembly fixes the operand order.
- exp, log, erf and GELU run through the kernels the prover trains with
  (``build/kernels/librepkern_<isa>.so``, built from ``prover/kernels/repkern.c`` and its
  headers), called via ctypes on whole buffers as the training code does; every ISA build this
  CPU runs is called and they must agree (the SSE build is the reference when they do not, see
  ``kernel``).
- fma has no scalar instruction in the kernels' build: its values come from glibc's ``fmaf``
  (correctly rounded) and its NaN rule (first NaN of a, b, c, quieted) is written out here.
- numpy's float32 arithmetic is a second opinion on every non-NaN result of add, sub, mul, div
  and sqrt: the generator stops if numpy and the harness disagree.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
BUILD = ROOT / "build" / "float32"
SSE_OPS = {"add": 2, "sub": 2, "mul": 2, "div": 2, "maxss": 2, "minss": 2, "sqrt": 1,
           "cvtsi2ss": 1, "cvttss2si": 1}
KERNELS = ("exp", "log", "erf", "gelu")
ISA_ORDER = ("sse", "avx2", "avx512")
DEFAULT_NAN = 0xFFC00000


def sse_ops_binary() -> Path:
    """Compile sse_ops.c into build/float32/ when the source is newer than the binary."""
    src = HERE / "sse_ops.c"
    exe = BUILD / "sse_ops"
    if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
        cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
        if cc is None:
            raise RuntimeError("no C compiler (cc, gcc or clang) on PATH to build sse_ops.c")
        BUILD.mkdir(parents=True, exist_ok=True)
        subprocess.run([cc, "-O2", "-o", str(exe), str(src)], check=True)
    return exe


def sse(op: str, *operands: np.ndarray) -> np.ndarray:
    """Results (uint32 bits) of the SSE instruction ``op`` on equal-length uint32 operand arrays."""
    if op not in SSE_OPS or len(operands) != SSE_OPS[op]:
        raise ValueError(f"sse op {op!r} takes {SSE_OPS.get(op)} operands")
    data = np.stack([np.asarray(o, dtype="<u4") for o in operands], axis=1).tobytes()
    out = subprocess.run([str(sse_ops_binary()), op], input=data, capture_output=True, check=True)
    return np.frombuffer(out.stdout, dtype="<u4").copy()


def _libraries() -> dict[str, ctypes.CDLL]:
    sys.path.insert(0, str(ROOT))
    from prover.kernels.build import build, library_path

    build(quiet=True)
    level = ctypes.CDLL(str(library_path("sse"))).rk_cpu_level()
    return {isa: ctypes.CDLL(str(library_path(isa))) for isa in ISA_ORDER[: level + 1]}


_LIBS: dict[str, ctypes.CDLL] | None = None


def kernel_all_isas(name: str, x: np.ndarray) -> dict[str, np.ndarray]:
    """rk_<name> over the buffer ``x`` (uint32 bits) in every ISA build this CPU can run."""
    global _LIBS
    if _LIBS is None:
        _LIBS = _libraries()
    xf = np.ascontiguousarray(np.asarray(x, dtype="<u4")).view(np.float32)
    out: dict[str, np.ndarray] = {}
    for isa, lib in _LIBS.items():
        y = np.empty_like(xf)
        px = xf.ctypes.data_as(ctypes.c_void_p)
        py = y.ctypes.data_as(ctypes.c_void_p)
        n = ctypes.c_int64(xf.size)
        if name == "gelu":
            lib.rk_gelu(n, px, py, ctypes.c_int(1))
        else:
            getattr(lib, f"rk_{name}_buf")(n, px, py)
        out[isa] = y.view("<u4").copy()
    return out


def kernel(name: str, x: np.ndarray) -> np.ndarray:
    """rk_<name> from the SSE build (the others must agree except on NaN inputs)."""
    results = kernel_all_isas(name, x)
    ref = results["sse"]
    xa = np.asarray(x, dtype="<u4")
    not_nan = (xa & 0x7FFFFFFF) <= 0x7F800000
    for isa, got in results.items():
        bad = np.nonzero((got != ref) & not_nan)[0]
        if bad.size:
            i = int(bad[0])
            raise RuntimeError(f"{name}: {isa} build gives {got[i]:#010x}, sse {ref[i]:#010x} "
                               f"for input {xa[i]:#010x}")
    return ref


def is_nan(u: np.ndarray) -> np.ndarray:
    return (np.asarray(u, dtype=np.uint64) & 0x7FFFFFFF) > 0x7F800000


def fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """a * b + c, one rounding (glibc fmaf); NaNs: first NaN of a, b, c quieted, then invalid."""
    libm = ctypes.CDLL("libm.so.6")
    libm.fmaf.restype = ctypes.c_float
    libm.fmaf.argtypes = [ctypes.c_float] * 3
    out = np.empty(len(a), dtype="<u4")
    fa, fb, fc = (np.asarray(v, dtype="<u4").view(np.float32) for v in (a, b, c))
    for i in range(len(a)):
        ops = (int(a[i]), int(b[i]), int(c[i]))
        nan = next((u for u in ops if (u & 0x7FFFFFFF) > 0x7F800000), None)
        if nan is not None:
            out[i] = nan | 0x400000
            continue
        r = np.float32(libm.fmaf(float(fa[i]), float(fb[i]), float(fc[i])))
        bits = int(np.array([r], dtype=np.float32).view("<u4")[0])
        out[i] = DEFAULT_NAN if (bits & 0x7FFFFFFF) > 0x7F800000 else bits
    return out


def numpy_check(op: str, a: np.ndarray, b: np.ndarray | None, r: np.ndarray) -> None:
    """Stop if numpy's float32 result differs from the harness's on a non-NaN result."""
    fa = np.asarray(a, dtype="<u4").view(np.float32)
    with np.errstate(all="ignore"):
        if op == "sqrt":
            got = np.sqrt(fa)
        else:
            fb = np.asarray(b, dtype="<u4").view(np.float32)
            got = {"add": np.add, "sub": np.subtract, "mul": np.multiply,
                   "div": np.divide}[op](fa, fb)
    gu = got.astype(np.float32).view("<u4")
    keep = ~is_nan(r)
    bad = np.nonzero((gu != r) & keep)[0]
    if bad.size:
        i = int(bad[0])
        raise RuntimeError(f"numpy and sse_ops disagree on {op}: case {i}: {gu[i]:#010x} vs "
                           f"{r[i]:#010x}")
