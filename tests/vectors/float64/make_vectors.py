"""Write tests/vectors/float64/vectors.json: binary64 cases for contracts/src/libraries/Float64.sol.

The operations are the clip coefficient's binary64 steps (prover/trace/kinds.py TO_F64,
SQRT_F64, ADD_F64, DIV_F64, MIN_F64, TO_F32). Values come from Python's float (IEEE binary64,
the arithmetic ``clip_grad_norm_`` and prover/trace/evaluate.py use) and numpy's casts between
float32 and float64 (``cvtss2sd`` / ``cvtsd2ss``); where Python raises (x / 0, sqrt of a
negative, a float32 overflow in ``struct``) numpy's IEEE result is the reference. NaN results
follow the x86 rule written out here (first NaN operand quieted, default NaN 0xFFF8... for an
invalid operation, payloads kept by the conversions), and the generator stops unless Python or
numpy gives the same bits there (the rule is the CPU's; with two NaN operands only a NaN is
required: which one Python's ``a + b`` returns depends on its compiled operand order). Every case
family the library must get right is present: every pair of 28 special patterns (zeros,
subnormal limits, normal limits, infinities, quiet and signalling NaNs with payloads, ties),
exact ties and near ties, carries into the exponent,
cancellation, far-apart terms (sticky), overflow, underflow to subnormals and zero, sqrt of
negatives, subnormals and squares, float32 rounding ties (normal and subnormal) and the
overflow boundary, plus seeded random operands. Reproducible: same seed, same bytes
(tests/unit/float64/test_float64_vectors.py checks it).

Each operation is ``{"count": n, "abi": abi.encode(uint256[] a, uint256[] b, uint256[] r)}``
(b = a for the unary operations); forge reads it in contracts/test/libraries/Float64Vectors.t.sol.

Run: .venv/bin/python tests/vectors/float64/make_vectors.py
"""

from __future__ import annotations

import json
import math
import random
import struct
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("vectors.json")
SEED = 20261202
RANDOM = 300

SIGN = 1 << 63
QUIET = 1 << 51
FRAC = (1 << 52) - 1
POS_INF = 0x7FF0000000000000
DEFAULT_NAN = 0xFFF8000000000000
M64 = (1 << 64) - 1

SPECIALS = [0, SIGN, 1, SIGN | 1, FRAC, SIGN | FRAC, 1 << 52, SIGN | 1 << 52,
            0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF, POS_INF, POS_INF | SIGN, 0x7FF8000000000000,
            DEFAULT_NAN, 0x7FF0000000000001, 0xFFF0000000000001, 0x7FF4000000000000,
            0x7FF8123456789ABC, 0x3FF0000000000000, 0xBFF0000000000000, 0x3FF8000000000000,
            0x4000000000000000, 0x3FEFFFFFFFFFFFFF, 0x4340000000000000, 0x3CA0000000000000,
            0x0008000000000000, 0x3EB0C6F7A0B5ED8D, 0x3FF0000000000001]
SPECIALS32 = [0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF,
              0x00800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000,
              0xFFC00000, 0x7F800001, 0xFF800001, 0x7FBFFFFF, 0x7FC12345, 0xFFA5A5A5,
              0x3F800000, 0xBF800000, 0x00400000, 0x3F7FFFFF]


def fl(x: int) -> float:
    return float(struct.unpack("<d", struct.pack("<Q", x))[0])


def bits(v: float) -> int:
    return int(struct.unpack("<Q", struct.pack("<d", v))[0])


def is_nan(x: int) -> bool:
    return x & ~SIGN & M64 > POS_INF


def is_inf(x: int) -> bool:
    return x & ~SIGN & M64 == POS_INF


def is_zero(x: int) -> bool:
    return x & ~SIGN & M64 == 0


def _np64(op: Callable[..., np.ndarray], *xs: int) -> int:
    with np.errstate(all="ignore"):
        args = [np.array([x], dtype=np.uint64).view(np.float64) for x in xs]
        return int(op(*args).view(np.uint64)[0])


def _nan_first(*xs: int) -> int | None:
    for x in xs:
        if is_nan(x):
            return x | QUIET
    return None


def _checked(rule: int, other: int, what: str, two_nans: bool = False) -> int:
    """The rule's result; the CPU's (Python's or numpy's) must be the same bits, NaNs too, but
    for two NaN operands: which one ``a + b`` returns then depends on the order in which the
    compiled code hands them to ``addsd`` (CPython's specialising interpreter adds them the
    other way round), so there the CPU must only give a NaN."""
    if two_nans and is_nan(rule) and is_nan(other):
        return rule
    if rule != other:
        raise SystemExit(f"{what}: rule gives {rule:016x}, the CPU {other:016x}")
    return rule


def ref_add(a: int, b: int) -> int:
    cpu = bits(fl(a) + fl(b))
    n = _nan_first(a, b)
    if n is None and is_inf(a) and is_inf(b) and a != b:
        n = DEFAULT_NAN
    return _checked(cpu if n is None else n, cpu, f"add {a:016x} {b:016x}",
                    is_nan(a) and is_nan(b))


def ref_div(a: int, b: int) -> int:
    cpu = _np64(np.divide, a, b)
    if not is_zero(b) and not is_nan(a) and not is_nan(b):
        cpu = _checked(bits(fl(a) / fl(b)), cpu, f"div python/numpy {a:016x} {b:016x}")
    n = _nan_first(a, b)
    if n is None and ((is_inf(a) and is_inf(b)) or (is_zero(a) and is_zero(b))):
        n = DEFAULT_NAN
    return _checked(cpu if n is None else n, cpu, f"div {a:016x} {b:016x}",
                    is_nan(a) and is_nan(b))


def ref_sqrt(a: int) -> int:
    cpu = _np64(np.sqrt, a)
    if a & SIGN == 0 or is_zero(a):
        cpu = _checked(bits(math.sqrt(fl(a))) if not is_nan(a) else cpu, cpu, f"sqrt {a:016x}")
    n = _nan_first(a)
    if n is None and a & SIGN and not is_zero(a):
        n = DEFAULT_NAN
    return _checked(cpu if n is None else n, cpu, f"sqrt {a:016x}")


def ref_min(a: int, b: int) -> int:
    # Python's min keeps the first argument unless the second is smaller: the objects
    # themselves, so NaN payloads pass through untouched.
    return bits(min(fl(a), fl(b)))


def ref_to_f32(a: int) -> int:
    with np.errstate(all="ignore"):
        cpu = int(np.array([a], dtype=np.uint64).view(np.float64).astype(np.float32)
                  .view(np.uint32)[0])
    if is_nan(a):
        rule = (a >> 32 & 0x80000000) | 0x7FC00000 | (a & FRAC) >> 29
        if rule != cpu:
            raise SystemExit(f"to_f32 {a:016x}: the rule gives {rule:08x}, numpy {cpu:08x}")
        return rule
    try:
        py = int(struct.unpack("<I", struct.pack("<f", fl(a)))[0])
    except OverflowError:  # struct refuses a float32 overflow: numpy's IEEE result is it
        py = cpu
    if py != cpu:
        raise SystemExit(f"to_f32 {a:016x}: struct {py:08x}, numpy {cpu:08x}")
    return cpu


def ref_to_f64(a: int) -> int:
    with np.errstate(all="ignore"):
        cpu = int(np.array([a], dtype=np.uint32).view(np.float32).astype(np.float64)
                  .view(np.uint64)[0])
    if (a >> 23) & 0xFF == 0xFF and a & 0x7FFFFF:
        return _checked((a & 0x80000000) << 32 | POS_INF | QUIET | (a & 0x7FFFFF) << 29, cpu,
                        f"to_f64 {a:08x}")
    return _checked(bits(struct.unpack("<f", struct.pack("<I", a))[0]), cpu, f"to_f64 {a:08x}")


def _f(s: int, e: int, m: int) -> int:
    return (s << 63) | (e << 52) | (m & FRAC)


def _rand_finite(rng: random.Random, lo: int = 1, hi: int = 2046) -> int:
    return _f(rng.getrandbits(1), rng.randint(lo, hi), rng.getrandbits(52))


def _pairs() -> list[tuple[int, int]]:
    return [(a, b) for a in SPECIALS for b in SPECIALS]


def add_cases(rng: random.Random) -> list[tuple[int, int]]:
    out = _pairs()
    for _ in range(RANDOM // 3):
        s, e, m = rng.getrandbits(1), rng.randint(60, 1980), rng.getrandbits(52)
        a = _f(s, e, m)
        # half an ulp of a (a tie), just off it, an ulp; carries from an all-ones significand
        out.append((a, _f(rng.getrandbits(1), e - 53, rng.choice([0, 1, FRAC]))))
        out.append((_f(s, e, FRAC), _f(s, e - rng.randint(52, 53), 0)))
        # cancellation: a - (a +- a few ulps), and a - a
        out.append((a, (a + rng.randint(-3, 3)) ^ SIGN))
        # far apart: the smaller term is a sticky bit (either sign)
        far = max(1, e - rng.randint(54, 200))
        out.append((a, _f(rng.getrandbits(1), far, rng.getrandbits(52))))
        # overflow; subnormals with subnormals and with the smallest normals
        out.append((_rand_finite(rng, 2040, 2046), _f(s, 2046, rng.getrandbits(52))))
        out.append((_f(rng.getrandbits(1), 0, rng.getrandbits(52)),
                    _f(rng.getrandbits(1), rng.randint(0, 2), rng.getrandbits(52))))
    for _ in range(RANDOM):
        out.append((rng.getrandbits(64), rng.getrandbits(64)))
        e = rng.randint(1, 2046)
        out.append((_f(rng.getrandbits(1), e, rng.getrandbits(52)),
                    _f(rng.getrandbits(1), min(2046, max(1, e + rng.randint(-60, 60))),
                       rng.getrandbits(52))))
    return out


def div_cases(rng: random.Random) -> list[tuple[int, int]]:
    out = _pairs()
    for _ in range(RANDOM // 2):
        # underflow (subnormal and zero results), overflow, subnormal operands
        out.append((_rand_finite(rng, 1, 80), _rand_finite(rng, 1000, 2046)))
        out.append((_rand_finite(rng, 1900, 2046), _rand_finite(rng, 1, 200)))
        out.append((_f(rng.getrandbits(1), 0, rng.getrandbits(52)), _rand_finite(rng, 900, 1100)))
        out.append((_rand_finite(rng, 900, 1100), _f(rng.getrandbits(1), 0, rng.getrandbits(52))))
        # exact quotients: (p * q) / q for small integers
        p, q = rng.randint(1, 1 << 26), rng.randint(1, 1 << 26)
        out.append((bits(float(p * q)), bits(float(q))))
    for _ in range(RANDOM):
        out.append((rng.getrandbits(64), rng.getrandbits(64)))
        out.append((_rand_finite(rng), _rand_finite(rng)))
    return out


def sqrt_cases(rng: random.Random) -> list[int]:
    out = list(SPECIALS)
    for _ in range(RANDOM // 2):
        out.append(_f(1, rng.randint(0, 2046), rng.getrandbits(52)))  # negatives
        out.append(_f(0, 0, rng.getrandbits(52) | 1))  # subnormals
        k = rng.randint(1, 1 << 26)
        out.append(bits(float(k * k)))  # perfect squares
        # squares of random doubles (rounded) and the next double up
        sq = fl(_rand_finite(rng, 600, 1400)) ** 2
        out.append(bits(sq) if math.isfinite(sq) else 0)
        out.append(bits(sq) + 1 if math.isfinite(sq) else 1)
    for _ in range(RANDOM):
        out.append(rng.getrandbits(64))
        out.append(_rand_finite(rng) & ~SIGN)
    return out


def to_f32_cases(rng: random.Random) -> list[int]:
    out = list(SPECIALS)
    # the overflow boundary: FLT_MAX, just under the tie, the tie (to even: inf), 2^128
    out += [0x47EFFFFFE0000000, 0x47EFFFFFEFFFFFFF, 0x47EFFFFFF0000000, 0x47F0000000000000,
            0xC7EFFFFFF0000000, 0x47EFFFFFF0000001]
    # the subnormal boundary: 2^-149, 2^-150 (a tie: 0), just over it, 2^-151, 2^-126 - tiny
    out += [0x36A0000000000000, 0x3690000000000000, 0x3690000000000001, 0x3680000000000000,
            0x380FFFFFFFFFFFFF, 0x3810000000000000, 0xB690000000000000, 1 << 52, 1]
    # NaN payloads that the conversion truncates
    out += [0x7FF0000000000001 | (1 << 30), 0xFFF00000DEADBEEF, 0x7FF7FFFFFFFFFFFF]
    for _ in range(RANDOM // 2):
        e = rng.randint(1023 - 126, 1023 + 127)
        top = rng.getrandbits(23) << 29
        s = rng.getrandbits(1)
        # ties (bit 28 alone: to even), just under and over a tie, exact float32 values
        for low in (1 << 28, (1 << 28) - 1, (1 << 28) + 1, 0):
            out.append(_f(s, e, top | low))
        # results in the float32 subnormal range, and far below it
        out.append(_f(s, rng.randint(1023 - 152, 1023 - 127), rng.getrandbits(52)))
        out.append(_f(s, rng.randint(1023 - 152, 1023 - 127), rng.getrandbits(23) << 29 | 1 << 28))
        out.append(_rand_finite(rng, 1, 1023 - 153))
        out.append(_rand_finite(rng, 1023 + 128, 2046))
    for _ in range(RANDOM):
        out.append(rng.getrandbits(64))
    return out


def to_f64_cases(rng: random.Random) -> list[int]:
    out = list(SPECIALS32) + [1 << t for t in range(23)] + [(1 << t) | 1 for t in range(1, 23)]
    for _ in range(RANDOM):
        out.append(rng.getrandbits(32))
        out.append(rng.getrandbits(1) << 31 | rng.getrandbits(23))  # subnormals
    return out


def min_cases(rng: random.Random) -> list[tuple[int, int]]:
    out = _pairs()
    for _ in range(RANDOM):
        out.append((rng.getrandbits(64), rng.getrandbits(64)))
        a = _rand_finite(rng)
        out.append((a, a ^ rng.choice([SIGN, 1, 0])))
    return out


def build() -> dict[str, dict[str, object]]:
    from eth_abi import encode

    rng = random.Random(SEED)
    binary: dict[str, tuple[Callable[[random.Random], list[tuple[int, int]]],
                            Callable[[int, int], int]]] = {
        "add": (add_cases, ref_add), "div": (div_cases, ref_div), "min": (min_cases, ref_min)}
    unary: dict[str, tuple[Callable[[random.Random], list[int]], Callable[[int], int]]] = {
        "sqrt": (sqrt_cases, ref_sqrt), "to_f32": (to_f32_cases, ref_to_f32),
        "to_f64": (to_f64_cases, ref_to_f64)}
    out: dict[str, dict[str, object]] = {}
    for name, (cases2, ref2) in binary.items():
        pairs = [(a & M64, b & M64) for a, b in cases2(rng)]
        cols = [[a for a, _ in pairs], [b for _, b in pairs], [ref2(a, b) for a, b in pairs]]
        out[name] = {"count": len(pairs), "abi": "0x" + encode(["uint256[]"] * 3, cols).hex()}
    for name, (cases1, ref1) in unary.items():
        xs = [x & (M64 if name != "to_f64" else 0xFFFFFFFF) for x in cases1(rng)]
        cols = [xs, xs, [ref1(x) for x in xs]]
        out[name] = {"count": len(xs), "abi": "0x" + encode(["uint256[]"] * 3, cols).hex()}
    return out


def main() -> int:
    ops = build()
    OUT.write_text(json.dumps({"seed": SEED, "ops": ops}, indent=1) + "\n")
    print(f"{OUT}: " + ", ".join(f"{k} {v['count']}" for k, v in ops.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
