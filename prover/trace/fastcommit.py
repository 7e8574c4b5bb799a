"""ctypes binding of ``vtcommit.c``: tensor commitments at SHA-256 speed.

The same definitions as the reference in :mod:`prover.trace.commit` (tests check every function
bit for bit against it), without a Python call per 1 KiB chunk: a whole tensor's leaves and
root are one C call, which releases the GIL (the state hash runs on a background thread while
the next step trains). The library is built on first use if ``scripts/bootstrap`` has not.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from prover.trace.commit import CHUNK_BYTES, ZERO32, TraceError

_lock = threading.Lock()
_lib: list[ctypes.CDLL] = []


def lib() -> ctypes.CDLL:
    """The loaded library (built first if missing or stale)."""
    if _lib:
        return _lib[0]
    with _lock:
        if not _lib:
            from prover.kernels.errors import KernelBuildError
            from prover.trace import build

            try:
                path = build.build(quiet=True)
            except KernelBuildError:  # no compiler here: a library built before still serves
                if not build.LIBRARY.exists():
                    raise
                path = build.LIBRARY
            c = ctypes.CDLL(str(path))
            p, n = ctypes.c_void_p, ctypes.c_size_t
            for name, args, res in (("vt_sha256", [p, n, p], None),
                                    ("vt_chunk_leaves", [p, n, p], None),
                                    ("vt_fold", [p, n, p], ctypes.c_int),
                                    ("vt_tensor_root", [p, n, p], ctypes.c_int),
                                    ("vt_write_root", [ctypes.c_int, p, n, ctypes.c_int64, p],
                                     ctypes.c_int),
                                    ("vt_num_chunks", [n], n),
                                    ("vt_has_shani", [], ctypes.c_int),
                                    ("vt_has_avx512", [], ctypes.c_int)):
                fn = getattr(c, name)
                fn.argtypes, fn.restype = args, res
            _lib.append(c)
    return _lib[0]


def has_shani() -> bool:
    """Whether the SHA-NI path runs (``VT_COMMIT_PLAIN=1`` in the environment forces C)."""
    return bool(lib().vt_has_shani())


def has_avx512() -> bool:
    """Whether chunk leaves go 16 at a time through AVX-512: by default only on a CPU without
    SHA-NI; ``VT_COMMIT_AVX512=1`` forces it (where the CPU has AVX-512), ``=0`` turns it off."""
    return bool(lib().vt_has_avx512())


def as_bytes(values: Any) -> np.ndarray:
    """The little-endian float32 bytes of ``values`` (numpy array or torch tensor), row-major,
    as a flat uint8 view (a copy only when the input is not contiguous)."""
    if hasattr(values, "detach"):  # a torch tensor: same memory, no copy
        t = values.detach()
        if str(t.dtype) != "torch.float32":
            raise TraceError(f"tensor commitments hash float32 values, got {t.dtype}")
        values = t.cpu().contiguous().reshape(-1).numpy()
    elif values.dtype != np.float32:
        raise TraceError(f"tensor commitments hash float32 values, got {values.dtype}")
    arr = np.ascontiguousarray(values).reshape(-1)
    if sys.byteorder != "little":
        arr = arr.byteswap()
    return arr.view(np.uint8)


def _ptr(a: np.ndarray | bytes) -> Any:
    if isinstance(a, bytes):
        return ctypes.c_char_p(a)
    return a.ctypes.data_as(ctypes.c_void_p)


def sha256(data: bytes | np.ndarray) -> bytes:
    out = ctypes.create_string_buffer(32)
    lib().vt_sha256(_ptr(data), len(data) if isinstance(data, bytes) else data.nbytes, out)
    return out.raw


def chunk_leaves(values: Any) -> list[bytes]:
    """sha256 of each 1 KiB chunk (as :func:`prover.trace.commit.chunk_leaves`)."""
    raw = leaves_array(values)
    return [raw[i:i + 32] for i in range(0, len(raw), 32)]


def leaves_array(values: Any) -> bytes:
    """The chunk leaves concatenated (32 bytes each)."""
    buf = as_bytes(values)
    n = max(1, -(-buf.nbytes // CHUNK_BYTES))
    out = ctypes.create_string_buffer(32 * n)
    lib().vt_chunk_leaves(_ptr(buf), buf.nbytes, out)
    return out.raw


def fold(leaves: Sequence[bytes] | bytes) -> bytes:
    """Root of the positional sha256 tree over ``leaves`` (zero-padded to a power of two)."""
    parts = [leaves] if isinstance(leaves, bytes) else list(leaves)
    raw = b"".join(parts)
    if len(raw) % 32 or (not isinstance(leaves, bytes) and any(len(x) != 32 for x in parts)):
        raise TraceError(f"tree leaves are 32 bytes each, got {len(raw)} bytes in all")
    if not raw:  # as the reference: no leaves pad to one zero leaf
        return ZERO32
    out = ctypes.create_string_buffer(32)
    if lib().vt_fold(raw, len(raw) // 32, out) != 0:
        raise TraceError("out of memory folding a tree")
    return out.raw


def tensor_root(values: Any) -> bytes:
    """The chunk-tree root of a float32 tensor (no shape binding)."""
    buf = as_bytes(values)
    out = ctypes.create_string_buffer(32)
    if lib().vt_tensor_root(_ptr(buf), buf.nbytes, out) != 0:
        raise TraceError("out of memory committing a tensor")
    return out.raw


def write_root(fd: int, values: Any, offset: int) -> bytes:
    """The chunk-tree root of a float32 tensor (as :func:`tensor_root`), its bytes written to
    ``fd`` at byte ``offset`` on the way: one C call, without the GIL, that reads the tensor's
    memory once (a trace's op outputs are written and committed so)."""
    buf = as_bytes(values)
    out = ctypes.create_string_buffer(32)
    rc = lib().vt_write_root(fd, _ptr(buf), buf.nbytes, offset, out)
    if rc == -2:
        raise TraceError("out of memory committing a tensor")
    if rc < 0:
        raise OSError(-rc, f"writing a trace's values failed: {os.strerror(-rc)}")
    return out.raw
