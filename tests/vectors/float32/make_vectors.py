"""Write tests/vectors/float32/vectors.json: Float32 cases with results from the real x86 CPU.

Every operation gets every class of edge case the library must get right (exact ties, carries
into the exponent, overflow to infinity, underflow to subnormal, subnormal x normal, 0 x inf,
inf - inf, sqrt of negatives and of subnormals, NaN payloads, quiet and signalling) plus seeded
random operands. Results come from ``float32_reference.py`` (SSE instructions with a fixed
operand order, the compiled kernels for exp/log/erf/GELU, glibc fmaf for fma); forge reads the
file in contracts/test/libraries/Float32Vectors.t.sol. The file is reproducible: same seed, same
bytes (tests/unit/float32/test_float32_vectors.py checks that).

Run: .venv/bin/python tests/vectors/float32/make_vectors.py [--random N]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import float32_reference as ref
import numpy as np

OUT = Path(__file__).with_name("vectors.json")
SEED = 20261201
RANDOM_CASES = 400

#: Special and boundary bit patterns: zeros, subnormals, normal limits, infinities, NaN
#: payloads (quiet and signalling, both signs), and a few ordinary numbers.
SPECIALS = [0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00800000,
            0x80800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000,
            0x7F800001, 0xFF800001, 0x7FBFFFFF, 0x7FC12345, 0xFFA5A5A5, 0x3F800000, 0xBF800000,
            0x3FC00000, 0x40000000, 0x4B800000, 0x33800000, 0x00400000, 0x3F7FFFFF]


def _bits(sign: np.ndarray, exp: np.ndarray, man: np.ndarray) -> np.ndarray:
    return ((sign.astype(np.uint64) << 31) | (exp.astype(np.uint64) << 23)
            | man.astype(np.uint64)).astype(np.uint32)


def _finite(rng: np.random.Generator, n: int, lo: int = 1, hi: int = 254) -> np.ndarray:
    return _bits(rng.integers(0, 2, n), rng.integers(lo, hi + 1, n), rng.integers(0, 1 << 23, n))


def _pairs(values: list[int]) -> tuple[np.ndarray, np.ndarray]:
    a = np.array([x for x in values for _ in values], dtype=np.uint32)
    b = np.array([y for _ in values for y in values], dtype=np.uint32)
    return a, b


def binary_cases(op: str, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Operands for add/sub/mul/div/max/min: specials x specials, edge classes, random."""
    a0, b0 = _pairs(SPECIALS)
    k = max(n // 8, 16)
    ea = rng.integers(30, 220, k)
    ma = rng.integers(0, 1 << 23, k)
    sa = rng.integers(0, 2, k)
    a = _bits(sa, ea, ma)
    # exact ties and near ties of a sum: b is half an ulp of a (or just off it)
    half = _bits(rng.integers(0, 2, k), ea - 24, rng.choice([0, 1, 0x7FFFFF], k))
    # carries into the exponent: all-ones significand plus an ulp or half an ulp
    ones = _bits(sa, ea, np.full(k, 0x7FFFFF))
    ulp = _bits(sa, ea - rng.integers(23, 25, k), np.zeros(k, dtype=np.int64))
    # cancellation: a - (a +- a few ulps), and exact a - a
    near = (a.astype(np.int64) + rng.integers(-3, 4, k)).astype(np.uint32) ^ np.uint32(0x80000000)
    # products that tie: (1 + 2^-j)(1 + 2^-(24-j)) = 1 + 2^-j + 2^-(24-j) + 2^-24
    j = rng.integers(1, 23, k)
    t1 = _bits(sa, rng.integers(60, 190, k), (np.ones(k, dtype=np.int64) << (23 - j)))
    t2 = _bits(rng.integers(0, 2, k), rng.integers(60, 190, k), np.left_shift(1, j - 1))
    # underflow: results in or below the subnormal range; overflow: results past the largest
    tiny_a = _finite(rng, k, 1, 80)
    tiny_b = _finite(rng, k, 1, 80) if op == "mul" else _finite(rng, k, 150, 254)
    huge_a = _finite(rng, k, 200, 254)
    huge_b = _finite(rng, k, 200, 254) if op != "div" else _finite(rng, k, 1, 60)
    # subnormal (x) normal, subnormal halves (ties in the subnormal range)
    sub = _bits(rng.integers(0, 2, k), np.zeros(k, dtype=np.int64), rng.integers(1, 1 << 23, k))
    norm = _finite(rng, k, 100, 160)
    two = np.full(k, 0x40000000, dtype=np.uint32)
    # random bit patterns (all classes) and random finite pairs with close exponents
    ra = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32)
    rb = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32)
    ca = _finite(rng, n, 100, 150)
    cb = _bits(rng.integers(0, 2, n), ((ca >> 23) & 0xFF).astype(np.int64)
               + rng.integers(-26, 27, n), rng.integers(0, 1 << 23, n))
    aa = np.concatenate([a0, a, ones, a, t1, tiny_a, huge_a, sub, norm, sub, ra, ca])
    bb = np.concatenate([b0, half, ulp, near, t2, tiny_b, huge_b, norm, sub, two, rb, cb])
    return aa, bb


def unary_cases(name: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """Inputs for sqrt, exp, log, erf, gelu and the conversions."""
    base = np.array(SPECIALS, dtype=np.uint32)
    bounds = {  # each function's own switch points, with their neighbours below
        "exp": [0xC2AEAC4F, 0x42B17217, 0xC2AEAC50, 0x42B17218, 0xC2B00000, 0x42B00000],
        "log": [0x00800000, 0x007FFFFF, 0x3FB504F3, 0x3FB504F4, 0x3F800001, 0x3F7FFFFF],
        "erf": [0x3F580000, 0xBF580000, 0x40800000, 0xC0800000, 0x3F57FFFF, 0x407FFFFF],
        "gelu": [0x3F580000, 0x40800000, 0xC0B504F3, 0x40B504F3, 0xC1200000, 0x41200000],
        "sqrt": [0x3F800001, 0x40800000, 0x00000004, 0x00000002, 0x7F7FFFFF, 0x80000002],
        "cvttss2si": [0x4F000000, 0xCF000000, 0x4EFFFFFF, 0xCF000001, 0x3F000000, 0xBF7FFFFF],
        "cvtsi2ss": [0x01000001, 0x01000003, 0x7FFFFFFF, 0x80000000, 0xFEFFFFFF, 0x02000006],
    }[name]
    edges = np.array(bounds, dtype=np.uint32)
    near = np.concatenate([edges + d for d in (np.uint32(1), np.uint32(2))])
    ranges = {"exp": (96, 136), "log": (0, 254), "erf": (100, 132), "gelu": (100, 134),
              "sqrt": (0, 254), "cvttss2si": (110, 160), "cvtsi2ss": (0, 254)}[name]
    focused = _finite(rng, n, *ranges)
    if name == "sqrt":  # exact squares, their neighbours, subnormals
        roots = rng.integers(1, 1 << 12, n // 4).astype(np.float32)
        sq = (roots * roots).view(np.uint32)
        focused = np.concatenate([focused, sq, sq + np.uint32(1),
                                  rng.integers(1, 1 << 23, n // 4).astype(np.uint32)])
    if name == "cvtsi2ss":  # ties above 2^24 and random magnitudes
        mags = rng.integers(0, 31, n)
        focused = (rng.integers(0, 1 << 31, n) >> (30 - mags)).astype(np.int64)
        focused = np.where(rng.integers(0, 2, n) == 1, -focused, focused).astype(np.uint32)
    rand = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32)
    return np.concatenate([base, edges, near, focused, rand]).astype(np.uint32)


def fma_cases(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """a * b + c: specials, cancellation of the product against c, tiny c, random."""
    spec = np.array(SPECIALS, dtype=np.uint32)
    sa, sb, sc = (rng.choice(spec, 3 * n) for _ in range(3))
    a = _finite(rng, n, 90, 160)
    b = _finite(rng, n, 90, 160)
    prod = (a.view(np.float32) * b.view(np.float32)).view(np.uint32)
    cancel = prod ^ np.uint32(0x80000000)
    c_tiny = _finite(rng, n, 1, 60)
    ra, rb, rc = (rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32)
                  for _ in range(3))
    return (np.concatenate([sa, a, a, ra]), np.concatenate([sb, b, b, rb]),
            np.concatenate([sc, cancel, c_tiny, rc]))


def compare_cases(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    a0, b0 = _pairs(SPECIALS)
    ra = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32)
    rb = np.where(rng.integers(0, 2, n) == 1, ra ^ np.uint32(1), rng.integers(
        0, 1 << 32, n, dtype=np.uint64).astype(np.uint32))
    return np.concatenate([a0, ra]), np.concatenate([b0, rb])


def build(n: int = RANDOM_CASES, seed: int = SEED) -> dict[str, dict[str, list[int]]]:
    """All vectors, keyed by operation, each {"a": [...], ("b", "c",) "r": [...]}."""
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, list[int]]] = {}
    for op in ("add", "sub", "mul", "div"):
        a, b = binary_cases(op, rng, n)
        r = ref.sse(op, a, b)
        ref.numpy_check(op, a, b, r)
        out[op] = {"a": a.tolist(), "b": b.tolist(), "r": r.tolist()}
    a, b = compare_cases(rng, n)
    fa, fb = a.view(np.float32), b.view(np.float32)
    with np.errstate(invalid="ignore"):
        flags = (np.less(fa, fb).astype(np.uint32) | (np.less_equal(fa, fb).astype(np.uint32) << 1)
                 | (np.equal(fa, fb).astype(np.uint32) << 2))
    out["compare"] = {"a": a.tolist(), "b": b.tolist(), "r": flags.tolist()}
    out["max"] = {"a": a.tolist(), "b": b.tolist(), "r": ref.sse("maxss", a, b).tolist()}
    out["min"] = {"a": a.tolist(), "b": b.tolist(), "r": ref.sse("minss", a, b).tolist()}
    for name in ("sqrt", "cvtsi2ss", "cvttss2si"):
        x = unary_cases(name, rng, n)
        r = ref.sse(name, x)
        if name == "sqrt":
            ref.numpy_check("sqrt", x, None, r)
        out[name] = {"a": x.tolist(), "r": r.tolist()}
    for name in ref.KERNELS:
        x = unary_cases(name, rng, n)
        out[name] = {"a": x.tolist(), "r": ref.kernel(name, x).tolist()}
    a, b, c = fma_cases(rng, n)
    out["fma"] = {"a": a.tolist(), "b": b.tolist(), "c": c.tolist(), "r": ref.fma(a, b, c).tolist()}
    return out


def render(vectors: dict[str, dict[str, list[int]]]) -> str:
    """The file's exact text (one operation per line keeps diffs readable)."""
    lines = [f'  "{op}": {json.dumps(v, separators=(",", ":"))}' for op, v in vectors.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=RANDOM_CASES, help="random cases per class")
    args = parser.parse_args()
    text = render(build(args.random))
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(text)} bytes)")


if __name__ == "__main__":
    main()
