"""Loading the kernel library with ctypes and calling it on raw tensor buffers.

The build is picked once per process from ``VERITRAIN_KERNELS_ISA`` (``auto`` by default:
the widest build this CPU runs, asked through cpuid so an emulated CPU model is honoured).
Every build gives the same bits; the switch exists so tests can force each one.
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
}


def _open(isa: str) -> ctypes.CDLL:
    path = library_path(isa)
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
    lib.rk_cpu_level.restype = ctypes.c_int
    lib.rk_vector_width.restype = ctypes.c_int
    return lib


@cache
def cpu_level() -> str:
    """The widest of our builds this CPU can run (``sse``, ``avx2`` or ``avx512``)."""
    level = _open("sse").rk_cpu_level()
    return {v: k for k, v in _LEVELS.items()}[level]


def load(isa: str | None = None) -> ctypes.CDLL:
    """The library for ``isa`` (default: from ``VERITRAIN_KERNELS_ISA``, ``auto`` if unset)."""
    want = (isa or os.environ.get(ENV_ISA, "auto")).strip().lower()
    if want == "auto":
        want = cpu_level()
    return _load_resolved(want)


@cache
def _load_resolved(want: str) -> ctypes.CDLL:
    if want not in ISAS:
        raise KernelLoadError(f"{ENV_ISA}={want!r} is not one of auto, {', '.join(ISAS)}", isa=want)
    if _LEVELS[want] > _LEVELS[cpu_level()]:
        raise KernelLoadError(f"this CPU cannot run the {want} kernels (it supports {cpu_level()})",
                              isa=want)
    return _open(want)


def active_isa() -> str:
    """Name of the build in use (after resolving ``auto``)."""
    width = load().rk_vector_width()
    return {4: "sse", 8: "avx2", 16: "avx512"}[width]


def threads() -> int:
    """Threads the kernels use: ``VERITRAIN_KERNELS_THREADS`` or torch's intra-op count."""
    env = os.environ.get(ENV_THREADS)
    if env:
        return max(1, int(env))
    return max(1, torch.get_num_threads())


def ptr(t: torch.Tensor | None) -> int | None:
    """Address of ``t``'s first element (None for None)."""
    return None if t is None else t.data_ptr()


def check(t: torch.Tensor, name: str) -> None:
    """Raise unless ``t`` is a float32 CPU tensor."""
    if t.dtype != torch.float32 or t.device.type != "cpu":
        raise KernelInputError(f"{name} must be a float32 CPU tensor, got {t.dtype} on {t.device}",
                               name=name)
