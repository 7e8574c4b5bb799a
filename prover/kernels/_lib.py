"""Loading the kernel library with ctypes and calling it on raw tensor buffers.

The family (``repkern``: no FMA, profiles repcpu-1/2; ``repfma``: GEMM by fused multiply-add,
profile repfma-1) is set by :func:`use_family` (``prover.profile.select_kernels`` does it from
the spec); the build is picked from ``VERITRAIN_KERNELS_ISA`` (``auto`` by default: the widest
build this CPU runs, asked through cpuid so an emulated CPU model is honoured).
Every build of a family gives the same bits; the switch exists so tests can force each one.
The thread count is ``VERITRAIN_KERNELS_THREADS`` if set, else ``torch.get_num_threads()``;
it changes speed only, never results.
"""

from __future__ import annotations

import ctypes
import os
from functools import cache

import torch

from prover.kernels.build import ISAS, library_path
from prover.kernels.errors import KernelInputError, KernelLoadError
from prover.kernels.family import Family

ENV_ISA = "VERITRAIN_KERNELS_ISA"
ENV_THREADS = "VERITRAIN_KERNELS_THREADS"
_LEVELS = {"sse": 0, "avx2": 1, "avx512": 2}

_i64, _i32, _f32, _p = ctypes.c_int64, ctypes.c_int, ctypes.c_float, ctypes.c_void_p
_SIGNATURES: dict[str, list[type]] = {
    "rk_gemm": [_i64] * 5 + [_p] + [_i64] * 4 + [_p] + [_i64] * 4 + [_p, _p, _i32],
    "rk_softmax": [_i64, _i64, _p, _p, _i32],
    "rk_softmax_backward": [_i64, _i64, _p, _p, _p, _i32],
    "rk_layernorm": [_i64, _i64, _p, _p, _p, _f32, _p, _p, _p, _i32],
    "rk_layernorm_backward": [_i64, _i64, _p, _p, _p, _p, _p, _p, _p, _p, _i32],
    "rk_gelu": [_i64, _p, _p, _i32],
    "rk_gelu_backward": [_i64, _p, _p, _p, _i32],
    "rk_exp_buf": [_i64, _p, _p],
    "rk_erf_buf": [_i64, _p, _p],
    "rk_log_buf": [_i64, _p, _p],
    "rk_logsoftmax": [_i64, _i64, _p, _p, _i32],
    "rk_logsoftmax_backward": [_i64, _i64, _p, _p, _p, _i32],
    "rk_adamw": [_i64, _p, _p, _p, _p, _f32, _f32, _f32, _f32, _f32, _f32, _f32, _f32, _i32],
    "rk_fsum": [_i64, _i64, _p, _p, _i32, _i32],
    "rk_fma_buf": [_i64, _p, _p, _p, _p, _i32],
}
_family = [Family.REPCPU]


def use_family(family: Family) -> None:
    """Route every following kernel call of this process to ``family``'s libraries."""
    _family[0] = Family(family)


def family() -> Family:
    """The family kernel calls go to (``Family.REPCPU`` until :func:`use_family`)."""
    return _family[0]


def _open(isa: str, fam: Family) -> ctypes.CDLL:
    path = library_path(isa, fam)
    if not path.exists():
        from prover.kernels.build import build

        build(quiet=True)
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as exc:
        raise KernelLoadError(f"cannot load {path}: {exc}", isa=isa) from exc
    for name, argtypes in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.argtypes = argtypes
        fn.restype = None
    for name in ("rk_cpu_level", "rk_vector_width", "rk_has_fma_ops"):
        getattr(lib, name).restype = ctypes.c_int
    return lib


@cache
def _cpu_level(fam: Family) -> str:
    level = _open("sse", fam).rk_cpu_level()
    return {v: k for k, v in _LEVELS.items()}[level]


def cpu_level(fam: Family | None = None) -> str:
    """The widest of ``fam``'s builds this CPU can run (``sse``, ``avx2`` or ``avx512``)."""
    return _cpu_level(fam or family())


#: os.environ's own bytes mapping (CPython on POSIX): a lookup there costs ~0.05 us where
#: ``os.environ.get`` costs ~3 us (key encoding); every kernel call reads two variables.
_ENV_DATA = getattr(os.environ, "_data", None)


def _env(name: str) -> str | None:
    if isinstance(_ENV_DATA, dict):
        raw = _ENV_DATA.get(name.encode())
        return None if raw is None else os.fsdecode(raw)
    return os.environ.get(name)


def load(isa: str | None = None, fam: Family | None = None) -> ctypes.CDLL:
    """The library for ``isa`` (default: from ``VERITRAIN_KERNELS_ISA``, ``auto`` if unset)
    of ``fam`` (default: :func:`family`)."""
    return _load_resolved(isa or _env(ENV_ISA) or "auto", fam or _family[0])


@cache
def _load_resolved(want: str, fam: Family) -> ctypes.CDLL:
    want = want.strip().lower()
    if want == "auto":
        want = cpu_level(fam)
    if want not in ISAS:
        raise KernelLoadError(f"{ENV_ISA}={want!r} is not one of auto, {', '.join(ISAS)}", isa=want)
    if _LEVELS[want] > _LEVELS[cpu_level(fam)]:
        raise KernelLoadError(f"this CPU cannot run the {fam.value} {want} kernels (it supports "
                              f"{cpu_level(fam)})", isa=want)
    return _open(want, fam)


def active_isa() -> str:
    """Name of the build in use (after resolving ``auto``)."""
    width = load().rk_vector_width()
    return {4: "sse", 8: "avx2", 16: "avx512"}[width]


def threads() -> int:
    """Threads the kernels use: ``VERITRAIN_KERNELS_THREADS`` or torch's intra-op count."""
    env = _env(ENV_THREADS)
    if env:
        return max(1, int(env))
    return max(1, torch.get_num_threads())


def ptr(t: torch.Tensor | None) -> int | None:
    """Address of ``t``'s first element (None for None)."""
    return None if t is None else t.data_ptr()


def check(t: torch.Tensor, name: str) -> None:
    """Raise unless ``t`` is a float32 CPU tensor."""
    if t.dtype is not torch.float32 or not t.is_cpu:
        raise KernelInputError(f"{name} must be a float32 CPU tensor, got {t.dtype} on {t.device}",
                               name=name)
