"""The reference evaluator: runs an element program over binary32 and must give the kernels'
bits. Values are numpy float32 scalars (each numpy float32 operation is the IEEE operation with
one rounding); ``FMA`` is an integer model (the exact ``a * b + c`` rounded once, no double
rounding through binary64); EXP/LOG/ERF/GELU follow ``repkern_math.h`` operation by operation.

NaN bits follow x86 SSE under the default MXCSR, as the kernels' NaN selects and
``Float32.sol`` do, never numpy's (which may swap a commutative operation's operands): an
arithmetic step with a NaN operand returns its first NaN operand in program order, quieted
(bit 22 set, sign and payload kept); an invalid operation on non-NaN operands (``inf - inf``,
``0 * inf``, ``0 / 0``, ``inf / inf``, ``sqrt`` of a negative) returns the default NaN
``0xFFC00000``. ``MAX``/``MIN`` are ``maxss``/``minss`` (``a > b ? a : b``: the second operand
when either is a NaN, unquieted); ``NEG`` and ``MOV`` move bits; ``EXP``/``LOG`` return a NaN
input unchanged, ``ERF`` returns ``|x|`` quieted and ``GELU`` ``x`` quieted (the kernels'
selects); ``LOG`` of a negative number is ``0x7FC00000`` (C's ``NAN``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from prover.trace.commit import TraceError
from prover.trace.graph import Op, Ref
from prover.trace.kinds import MapLevel, Opcode, RefKind
from prover.trace.programs import IN, PREV, Step, program

F32 = np.float32
Value = np.float32 | float


def from_bits(b: int) -> np.float32:
    return np.array([b & 0xFFFFFFFF], dtype=np.uint32).view(np.float32)[0]


def bits(x: np.float32) -> int:
    return int(np.array([x], dtype=np.float32).view(np.uint32)[0])


# ---- NaN rules (x86 SSE) ------------------------------------------------------------------
#: The default NaN of an invalid operation (sign set, quiet, no payload).
DEFAULT_NAN = 0xFFC00000
_QUIET = 0x00400000


def quiet(x: np.float32) -> np.float32:
    """A NaN with its quiet bit set (sign and payload kept)."""
    return from_bits(bits(x) | _QUIET)


def first_nan(*operands: np.float32) -> np.float32:
    """An arithmetic instruction's NaN result: its first NaN operand quieted, else (an invalid
    operation on numbers) the default NaN."""
    for x in operands:
        if x != x:
            return quiet(x)
    return from_bits(DEFAULT_NAN)


# A NaN result is replaced by the SSE rule's NaN (numpy may swap a commutative operation's
# operands); a number is numpy's IEEE result, one rounding.
def add(a: np.float32, b: np.float32) -> np.float32:
    r = a + b
    return first_nan(a, b) if r != r else r


def sub(a: np.float32, b: np.float32) -> np.float32:
    r = a - b
    return first_nan(a, b) if r != r else r


def mul(a: np.float32, b: np.float32) -> np.float32:
    r = a * b
    return first_nan(a, b) if r != r else r


def div(a: np.float32, b: np.float32) -> np.float32:
    r = a / b
    return first_nan(a, b) if r != r else r


def sqrt(a: np.float32) -> np.float32:
    r = np.sqrt(a)
    return first_nan(a) if r != r else r


# ---- binary32 -----------------------------------------------------------------------------
def _round_f32(num: int, exp: int) -> np.float32:
    """num * 2^exp (num an integer, may be negative) rounded to binary32, nearest even."""
    if num == 0:
        return F32(0.0)
    sign = -1 if num < 0 else 1
    n = abs(num)
    top = n.bit_length() + exp  # value in [2^(top-1), 2^top)
    # keep 24 bits for normals; the unit of the last place is never below 2^-149
    lsb = max(top - 24, -149)
    shift = lsb - exp
    if shift > 0:
        q, r = divmod(n, 1 << shift)
        half = 1 << (shift - 1)
        if r > half or (r == half and q & 1):
            q += 1
    else:
        q = n << -shift
    if q.bit_length() + lsb > 128:
        return F32(sign * np.inf)
    return F32(sign * math.ldexp(q, lsb))  # exact: q fits binary32 at this scale


def _exact(x: np.float32) -> tuple[int, int]:
    m, e = math.frexp(float(x))
    return int(m * (1 << 53)), e - 53


def fma(a: np.float32, b: np.float32, c: np.float32) -> np.float32:
    """IEEE fusedMultiplyAdd over binary32, one rounding."""
    fa, fb, fc = float(a), float(b), float(c)
    if not (math.isfinite(fa) and math.isfinite(fb) and math.isfinite(fc)):
        # the first NaN of a, b, c (vfmadd's operand order as Float32.fma takes it), else the
        # infinities' value or the default NaN of 0 * inf or inf - inf: no rounding question
        r = F32(fa * fb + fc)
        return first_nan(a, b, c) if r != r else r
    (ma, ea), (mb, eb), (mc, ec) = _exact(a), _exact(b), _exact(c)
    pm, pe = ma * mb, ea + eb
    if pm == 0 and mc == 0:  # signed zeros: the sum of a zero product and zero
        return F32(fa * fb) + F32(fc)
    e = min(pe, ec) if mc else pe
    total = (pm << (pe - e)) + ((mc << (ec - e)) if mc else 0)
    if total == 0:
        return F32(0.0)  # exact cancellation gives +0 under round to nearest
    return _round_f32(total, e)


def _c(v: float) -> np.float32:
    return F32(v)


def rk_exp(x: np.float32) -> np.float32:
    """``rk_exp`` of repkern_math.h, step by step."""
    if x != x:  # the C computes the rest too and then selects x; int() of NaN is an error here
        return x
    lo, hi = _c(-87.33654), _c(88.72283)
    xc = lo if x < lo else x
    xc = hi if xc > hi else xc
    magic = _c(12582912.0)
    t = xc * _c(1.44269504088896341) + magic
    n = t - magic
    r = xc - n * _c(0.693359375)
    r = r - n * _c(-2.12194440e-4)
    p = _c(1.9875691500e-4)
    for k in (1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1,
              5.0000001201e-1):
        p = p * r + _c(k)
    y = p * (r * r) + r + _c(1.0)
    ni = int(n)
    n1 = int(ni / 2)
    n2 = ni - n1
    y = y * from_bits((n1 + 127) << 23)
    y = y * from_bits((n2 + 127) << 23)
    y = F32(0.0) if x < lo else y
    y = F32(np.inf) if x > hi else y
    return x if x != x else y


def rk_erf(x: np.float32) -> np.float32:
    if x != x:  # the kernel's select (rk_nan_erf): |x| meets the polynomials first, quieted
        return from_bits((bits(x) & 0x7FFFFFFF) | _QUIET)
    ax = F32(abs(x))
    z = x * x
    p = _c(1.64621144e-06)
    for k in (-1.49256504e-05, 1.20553330e-04, -8.54832702e-04, 5.22397763e-03,
              -2.68661706e-02, 1.12837917e-01, -3.76126389e-01, 1.12837917e+00):
        p = p * z + _c(k)
    small = x * p
    t = _c(1.0) / (_c(1.0) + _c(0.3275911) * ax)
    q = _c(1.061405429)
    for k in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        q = q * t + _c(k)
    big = _c(1.0) - (q * t) * rk_exp(-z)
    big = _c(1.0) if ax >= _c(4.0) else big
    big = -big if x < _c(0.0) else big
    return small if ax < _c(0.84375) else big


def rk_log(x: np.float32) -> np.float32:
    sub = x < _c(1.17549435e-38)
    xs = x * _c(8388608.0) if sub else x
    u = bits(xs)
    e = ((u >> 23) & 0xFF) - 127 - (23 if sub else 0)
    m = from_bits((u & 0x007FFFFF) | 0x3F800000)
    big = m > _c(1.41421356)
    m = m * _c(0.5) if big else m
    e = e + 1 if big else e
    f = m - _c(1.0)
    z = f * f
    y = _c(7.0376836292e-2)
    for k in (-1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
              -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1):
        y = y * f + _c(k)
    y = (y * f) * z
    fe = F32(e)
    y = y + fe * _c(-2.12194440e-4)
    y = y - _c(0.5) * z
    r = f + y
    r = r + fe * _c(0.693359375)
    r = F32(-np.inf) if x == 0 else r
    r = F32(np.nan) if x < 0 else r
    r = x if x == F32(np.inf) else r
    return x if x != x else r


def rk_gelu(v: np.float32) -> np.float32:
    if v != v:  # the kernel's select (rk_nan_quiet): v is the first NaN operand
        return quiet(v)
    # GELU(-inf) = (-inf) * (1 + (-1)): 0 * inf, the default NaN
    return mul(_c(0.5) * v, _c(1.0) + rk_erf(v * _c(0.70710678118654752)))


def _f64_to_f32(x: float) -> np.float32:
    return F32(x)  # numpy converts binary64 to binary32 with one rounding (nearest even)


def apply(code: Opcode, a: Sequence[Value]) -> Value:
    """One step over its operand values."""
    with np.errstate(all="ignore"):
        if code is Opcode.ADD:
            return add(F32(a[0]), F32(a[1]))
        if code is Opcode.SUB:
            return sub(F32(a[0]), F32(a[1]))
        if code is Opcode.MUL:
            return mul(F32(a[0]), F32(a[1]))
        if code is Opcode.DIV:
            return div(F32(a[0]), F32(a[1]))
        if code is Opcode.SQRT:
            return sqrt(F32(a[0]))
        if code is Opcode.FMA:
            return fma(F32(a[0]), F32(a[1]), F32(a[2]))
        if code is Opcode.MAX:
            return a[0] if a[0] > a[1] else a[1]
        if code is Opcode.MIN:
            return a[0] if a[0] < a[1] else a[1]
        if code is Opcode.NEG:
            return from_bits(bits(F32(a[0])) ^ 0x80000000)
        if code is Opcode.EXP:
            return rk_exp(F32(a[0]))
        if code is Opcode.LOG:
            return rk_log(F32(a[0]))
        if code is Opcode.ERF:
            return rk_erf(F32(a[0]))
        if code is Opcode.GELU:
            return rk_gelu(F32(a[0]))
        if code is Opcode.NINF_TO_ZERO:
            return F32(0.0) if a[0] == -np.inf else a[0]
        if code is Opcode.SEL_GE:
            return a[2] if a[0] >= a[1] else F32(0.0)
        if code is Opcode.MOV:
            return a[0]
        if code is Opcode.TO_F64:
            return float(a[0])
        if code is Opcode.SQRT_F64:
            return math.sqrt(float(a[0]))
        if code is Opcode.ADD_F64:
            return float(a[0]) + float(a[1])
        if code is Opcode.DIV_F64:
            return float(a[0]) / float(a[1])
        if code is Opcode.MIN_F64:
            return a[1] if a[1] < a[0] else a[0]
        if code is Opcode.TO_F32:
            return _f64_to_f32(float(a[0]))
    raise TraceError(f"unknown opcode {code}")


_F64_CONST = {Opcode.ADD_F64, Opcode.DIV_F64, Opcode.MIN_F64}


# ---- reading inputs -----------------------------------------------------------------------
@dataclass
class Tensors:
    """The values a trace's refs name (flat float32 arrays)."""

    state: list[np.ndarray]
    batch: list[np.ndarray]
    teacher: list[np.ndarray]
    scalars: list[np.float32]
    ops: list[np.ndarray]

    def base(self, ref: Ref) -> np.ndarray:
        k = ref.kind
        if k is RefKind.STATE:
            return self.state[ref.index]
        if k is RefKind.BATCH:
            return self.batch[ref.index]
        if k is RefKind.TEACHER:
            return self.teacher[ref.index]
        if k is RefKind.SCALAR:
            return np.array([self.scalars[ref.index]], dtype=np.float32)
        if k is RefKind.OP:
            return self.ops[ref.index]
        raise TraceError(f"no tensor behind {ref}")

    def locate(self, op: Op, slot: int, pos: int,
               on_ids: Callable[[int, int], None] | None = None) -> tuple[Ref, int]:
        """The referenced tensor and flat position of slot ``slot``'s element ``pos``;
        ``on_ids(ids_slot, p)`` is told of each GATHER level's id before it is read (in the
        order the referee's evaluator reads them: the openings of a gathered element)."""
        s = op.slots[slot]
        for lv in s.levels:
            if lv.kind is MapLevel.GATHER:
                p, c = divmod(pos, lv.row_len)
                if on_ids is not None:
                    on_ids(lv.ids_slot, p)
                pos = int(self.read(op, lv.ids_slot, p)) * lv.row_len + c
                continue
            q, off = pos, lv.offset
            for size, stride in zip(reversed(lv.sizes), reversed(lv.strides), strict=True):
                q, i = divmod(q, size)
                off += i * stride
            pos = off
        return s.ref, pos

    def read(self, op: Op, slot: int, pos: int) -> np.float32:
        ref, at = self.locate(op, slot, pos)
        if ref.kind is RefKind.CONST:
            return from_bits(ref.index)
        return self.base(ref)[at]


def operand(op: Op, code: Opcode, o: tuple[int, ...], results: Sequence[Value],
            tensors: Tensors) -> Value:
    """The value of operand ``o`` of a step with opcode ``code``."""
    if o[0] == PREV:
        return results[o[1]]
    if o[0] == IN:
        return tensors.read(op, o[1], o[2])
    if code in _F64_CONST:
        return float(np.array([o[1]], dtype=np.uint64).view(np.float64)[0])
    return from_bits(o[1])


def run(op: Op, steps: list[Step], tensors: Tensors) -> list[Value]:
    """Every step's result, in order (the last is the element)."""
    out: list[Value] = []
    for code, operands in steps:
        out.append(apply(code, [operand(op, code, o, out, tensors) for o in operands]))
    return out


def evaluate(op: Op, e: int, tensors: Tensors) -> np.float32:
    """Element ``e`` of ``op`` by its program."""
    res = run(op, program(op, e, tensors.read), tensors)
    return F32(res[-1])


def value_bits(v: Value) -> str:
    if isinstance(v, float):
        return f"{np.array([v]).view(np.uint64)[0]:016x}"
    return f"{bits(F32(v)):08x}"


Formatter = Callable[[Value], str]


#: Opcodes whose results are binary64: 8 bytes in a posted program (docs/referee.md "Float64").
WIDE_RESULTS = frozenset({Opcode.TO_F64, Opcode.SQRT_F64, Opcode.ADD_F64, Opcode.DIV_F64,
                          Opcode.MIN_F64})


def results_bytes(steps: Sequence[Step], results: Sequence[Value]) -> bytes:
    """A program's results as the node posts them (``postProgram``): in step order, big-endian,
    8 bytes (binary64 bits) for a ``WIDE_RESULTS`` step, 4 (binary32 bits) for any other. The
    binary64 steps lead their program (``CLIP_COEF``'s first five), so on-chain result s starts
    at byte ``4 * (s + min(s, wide))`` (``Programs.resultAt``)."""
    if len(steps) != len(results):
        raise TraceError(f"{len(results)} results for a program of {len(steps)} steps")
    out = bytearray()
    narrow_seen = False
    for (code, _), v in zip(steps, results, strict=True):
        if code in WIDE_RESULTS:
            if narrow_seen:
                raise TraceError("a binary64 step after a binary32 one: no on-chain layout for it")
            out += int(np.array([float(v)], dtype=np.float64).view(np.uint64)[0]).to_bytes(8, "big")
        else:
            narrow_seen = True
            out += bits(F32(v)).to_bytes(4, "big")
    return bytes(out)
