"""One batch of Float64 cases for the forge ci profile (vm.ffi), ABI-encoded on stdout.

    python tests/vectors/float64/ffi_cases.py OP SEED N

OP is a key of vectors.json (add, div, min, sqrt, to_f32, to_f64). Prints 0x + abi.encode(
uint256[] a, uint256[] b, uint256[] r): N cases drawn from make_vectors.py's case families
(scaled up so that most are the random and edge families rather than the fixed specials) with
its references (Python's float, numpy, the x86 NaN rule checked against the CPU), seeded by
SEED, so every batch is different and reproducible.
"""

from __future__ import annotations

import random
import sys

import make_vectors as mv
from eth_abi import encode

BINARY = {"add": (mv.add_cases, mv.ref_add), "div": (mv.div_cases, mv.ref_div),
          "min": (mv.min_cases, mv.ref_min)}
UNARY = {"sqrt": (mv.sqrt_cases, mv.ref_sqrt), "to_f32": (mv.to_f32_cases, mv.ref_to_f32),
         "to_f64": (mv.to_f64_cases, mv.ref_to_f64)}


def batch(op: str, seed: int, n: int) -> list[list[int]]:
    rng = random.Random(seed)
    mv.RANDOM = max(n // 2, 16)  # the families' random draws grow with the batch
    if op in BINARY:
        cases, ref = BINARY[op]
        pairs = [(a & mv.M64, b & mv.M64) for a, b in cases(rng)]
        rng.shuffle(pairs)
        pairs = pairs[:n]
        return [[a for a, _ in pairs], [b for _, b in pairs], [ref(a, b) for a, b in pairs]]
    if op not in UNARY:
        raise SystemExit(f"unknown op {op!r}: one of {', '.join([*BINARY, *UNARY])}")
    cases1, ref1 = UNARY[op]
    mask = 0xFFFFFFFF if op == "to_f64" else mv.M64
    xs = [x & mask for x in cases1(rng)]
    rng.shuffle(xs)
    xs = xs[:n]
    return [xs, xs, [ref1(x) for x in xs]]


def main() -> None:
    if len(sys.argv) != 4:
        raise SystemExit("usage: ffi_cases.py OP SEED N")
    op, seed, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sys.stdout.write("0x" + encode(["uint256[]"] * 3, batch(op, seed, n)).hex())


if __name__ == "__main__":
    main()
