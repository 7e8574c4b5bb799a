"""The kernel workload without torch or numpy: ctypes and the standard library only.

For CPUs where numpy's wheels no longer run (numpy 2.4 stops at Nehalem under qemu), this
still checks our own code on them: ``python -m prover.kernels.rawcheck [--family repfma]``
prints ``{"isa": ..., "digest": ...}`` for GEMM (several shapes and strides), softmax, layer
norm and GELU, forward and backward, and the blocked sums, on inputs from a fixed integer
generator.
"""

from __future__ import annotations

import argparse
import array
import ctypes
import hashlib
import json
import os

from prover.kernels.build import library_path
from prover.kernels.family import Family

_LEVEL_NAMES = ["sse", "avx2", "avx512"]


def _lib(family: Family) -> tuple[str, ctypes.CDLL]:
    isa = os.environ.get("VERITRAIN_KERNELS_ISA", "auto")
    if isa == "auto":
        probe = ctypes.CDLL(str(library_path("sse", family)))
        isa = _LEVEL_NAMES[probe.rk_cpu_level()]
    return isa, ctypes.CDLL(str(library_path(isa, family)))


def _values(n: int, state: list[int], scale: float = 1.0) -> array.array:
    """n floats in [-scale, scale) from a 32-bit LCG (exact: integer / 2^24)."""
    out = array.array("f", bytes(4 * n))
    for i in range(n):
        state[0] = (state[0] * 1664525 + 1013904223) % (1 << 32)
        out[i] = ((state[0] >> 8) / float(1 << 24) * 2.0 - 1.0) * scale
    return out


def _p(a: array.array) -> ctypes.c_void_p:
    return ctypes.c_void_p(a.buffer_info()[0])


def workload(family: Family = Family.REPCPU) -> tuple[str, str]:
    """(isa, sha256 hex digest of every output) for ``family``'s library."""
    isa, lib = _lib(family)
    i64, thr = ctypes.c_int64, ctypes.c_int(int(os.environ.get("VERITRAIN_KERNELS_THREADS", "2")))
    state = [12345]
    h = hashlib.sha256()
    for m, k, n in [(1, 7, 33), (13, 17, 19), (70, 129, 45), (9, 300, 70)]:
        a, b, bias = _values(m * k, state), _values(k * n, state), _values(n, state)
        c = array.array("f", bytes(4 * m * n))
        # A row-major [m, k]; B read transposed from a [n, k] buffer, as linear layers do
        lib.rk_gemm(i64(1), i64(1), i64(m), i64(n), i64(k), _p(a), i64(0), i64(0), i64(k), i64(1),
                    _p(b), i64(0), i64(0), i64(1), i64(k), _p(bias), _p(c), thr)
        h.update(c.tobytes())
    rows, n = 11, 37
    x, w, bb, dy = (_values(rows * n, state, 5.0), _values(n, state), _values(n, state),
                    _values(rows * n, state))
    y, dx = array.array("f", bytes(4 * rows * n)), array.array("f", bytes(4 * rows * n))
    mean, rstd = array.array("f", bytes(4 * rows)), array.array("f", bytes(4 * rows))
    dw, db = array.array("f", bytes(4 * n)), array.array("f", bytes(4 * n))
    lib.rk_softmax(i64(rows), i64(n), _p(x), _p(y), thr)
    lib.rk_softmax_backward(i64(rows), i64(n), _p(y), _p(dy), _p(dx), thr)
    h.update(y.tobytes() + dx.tobytes())
    lib.rk_layernorm(i64(rows), i64(n), _p(x), _p(w), _p(bb), ctypes.c_float(1e-12), _p(y),
                     _p(mean), _p(rstd), thr)
    lib.rk_layernorm_backward(i64(rows), i64(n), _p(x), _p(w), _p(mean), _p(rstd), _p(dy), _p(dx),
                              _p(dw), _p(db), thr)
    h.update(y.tobytes() + dx.tobytes() + dw.tobytes() + db.tobytes())
    lib.rk_gelu(i64(rows * n), _p(x), _p(y), thr)
    lib.rk_gelu_backward(i64(rows * n), _p(x), _p(dy), _p(dx), thr)
    h.update(y.tobytes() + dx.tobytes())
    big = _values(3 * 5000, state, 3.0)
    sums = array.array("f", bytes(4 * 3))
    for square in (0, 1):
        lib.rk_fsum(i64(3), i64(5000), _p(big), _p(sums), ctypes.c_int(square), thr)
        h.update(sums.tobytes())
    return isa, h.hexdigest()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--family", type=Family, default=Family.REPCPU,
                        choices=list(Family), help="kernel family (default repkern)")
    isa, digest = workload(parser.parse_args().family)
    print(json.dumps({"digest": digest, "isa": isa}, sort_keys=True))
