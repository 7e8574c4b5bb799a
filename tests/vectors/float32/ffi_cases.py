"""One batch of Float32 cases for the forge ci profile (vm.ffi), ABI-encoded on stdout.

    python tests/vectors/float32/ffi_cases.py OP SEED N

OP is a key of vectors.json (add, sub, mul, div, sqrt, fma, cvtsi2ss, cvttss2si, exp, log, erf,
gelu). Prints 0x + abi.encode(uint256[] a, uint256[] b, uint256[] c, uint256[] r): N cases
(edge classes first, then random) from the same generators and references as make_vectors.py,
seeded by SEED, so every batch is different and reproducible.
"""

from __future__ import annotations

import sys

import float32_reference as ref
import make_vectors as mv
import numpy as np
from eth_abi import encode


def batch(op: str, seed: int, n: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    per = max(n // 2, 16)
    if op in ("add", "sub", "mul", "div"):
        a, b = mv.binary_cases(op, rng, per)
        a, b = a[:n], b[:n]
        return a, b, a, ref.sse(op, a, b)
    if op == "fma":
        a, b, c = (x[:n] for x in mv.fma_cases(rng, per))
        return a, b, c, ref.fma(a, b, c)
    x = mv.unary_cases(op, rng, per)[:n]
    r = ref.sse(op, x) if op in ref.SSE_OPS else ref.kernel(op, x)
    return x, x, x, r


def main() -> None:
    if len(sys.argv) != 4:
        raise SystemExit("usage: ffi_cases.py OP SEED N")
    op, seed, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    cols = [[int(v) for v in col] for col in batch(op, seed, n)]
    sys.stdout.write("0x" + encode(["uint256[]"] * 4, cols).hex())


if __name__ == "__main__":
    main()
