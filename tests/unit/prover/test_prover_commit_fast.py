"""The C tensor commitment (prover/trace/vtcommit.c) gives the reference's bytes.

The reference (prover.trace.commit's ``*_reference`` functions: hashlib per chunk) is the
definition; the C library must give the same leaves, roots and commitments on every size around
the chunk and tree boundaries, on torch tensors and non-contiguous arrays, on both its SHA-NI
and its portable path.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from prover.trace import commit as tc
from prover.trace import fastcommit

#: element counts around chunk (256), 16-chunk group and power-of-two tree boundaries
SIZES = [0, 1, 7, 255, 256, 257, 511, 512, 513, 1024 * 3 + 1, 256 * 16, 256 * 17,
         256 * 64 + 255]


@pytest.mark.parametrize("n", SIZES)
def test_commit_matches_reference(n: int) -> None:
    rng = np.random.default_rng(n)
    a = rng.standard_normal(n).astype(np.float32)
    assert fastcommit.leaves_array(a) == b"".join(tc.chunk_leaves_reference(a))
    assert tc.chunk_leaves(a) == tc.chunk_leaves_reference(a)
    assert tc.commit(a) == tc.commit_reference(a)


def test_commit_binds_shape_and_accepts_tensors_and_views() -> None:
    a = np.arange(6 * 300, dtype=np.float32).reshape(6, 300)
    assert tc.commit(a).root == tc.commit(a.reshape(-1)).root
    assert tc.commit(a).commit != tc.commit(a.reshape(-1)).commit  # the shape is bound
    assert tc.commit(torch.from_numpy(a)) == tc.commit_reference(a)
    t = a.T  # not contiguous: hashed in its own row-major order
    assert tc.commit(t) == tc.commit_reference(np.ascontiguousarray(t))
    assert tc.commit(torch.from_numpy(a).t()) == tc.commit_reference(np.ascontiguousarray(t))
    scalar = torch.tensor(3.5)
    assert tc.commit(scalar) == tc.commit_reference(np.float32(3.5).reshape(()))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 9, 33, 100])
def test_root_of_matches_reference(n: int) -> None:
    leaves = [hashlib.sha256(bytes([i, n])).digest() for i in range(n)]
    assert tc.root_of(leaves) == tc.root_of_reference(leaves)


def test_sha256_matches_hashlib() -> None:
    rng = np.random.default_rng(1)
    for n in [*range(130), 1023, 1024, 1025, 100_000]:
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert fastcommit.sha256(data) == hashlib.sha256(data).digest(), n


_CPU = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
_AVX512 = " avx512f" in _CPU and " avx512bw" in _CPU


@pytest.mark.parametrize(("env", "probe"), [
    ({"VT_COMMIT_PLAIN": "1"}, "not f.has_shani() and not f.has_avx512()"),
    ({"VT_COMMIT_AVX512": "0"}, "not f.has_avx512()"),
    ({"VT_COMMIT_AVX512": "1"}, f"f.has_avx512() == {_AVX512}"),
    ({}, "f.has_avx512() == (not f.has_shani() and " + str(_AVX512) + ")"),
])
def test_every_path_gives_the_same_bytes(env: dict[str, str], probe: str) -> None:
    """Each C path in a process of its own (the dispatch is per process): portable C (a CPU
    with neither extension), SHA-NI two chunks at a time, AVX-512 sixteen at a time (forced: by
    default only a CPU without SHA-NI takes it), and the default; sizes cover whole 16-chunk
    groups and every remainder path."""
    code = ("import numpy as np; from prover.trace import commit as tc, fastcommit as f; "
            f"assert {probe}; rng = np.random.default_rng(5)\n"
            "for n in (256 * 9 + 3, 256 * 16, 256 * 35 + 1, 256 * 48):\n"
            "    a = rng.standard_normal(n).astype(np.float32)\n"
            "    assert tc.commit(a) == tc.commit_reference(a), n\n"
            "print('ok')")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VT_COMMIT")}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_commit_refuses_other_dtypes() -> None:
    with pytest.raises(tc.TraceError, match="float32"):
        tc.commit(np.zeros(3, dtype=np.float64))
    with pytest.raises(tc.TraceError, match="float32"):
        tc.commit(torch.zeros(3, dtype=torch.float16))
    with pytest.raises(tc.TraceError, match="32 bytes each"):
        tc.root_of([b"\x01" * 31, b"\x02" * 33])
    assert tc.root_of([]) == tc.root_of_reference([]) == tc.ZERO32


@pytest.mark.parametrize("n", [0, 1, 255, 256, 257, 256 * 256, 256 * 256 + 1, 256 * 513 + 7])
def test_write_root_writes_the_bytes_it_commits_succeeds(n: int, tmp_path: Path) -> None:
    """One pass writes a tensor at an offset of a file and gives its reference root, on sizes
    around the chunk and the 256-chunk write block; what was in the file before stays."""
    a = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    path = tmp_path / "ops.f32"
    path.write_bytes(b"\xab" * 12)
    fd = os.open(path, os.O_WRONLY)
    try:
        root = fastcommit.write_root(fd, a, 12)
    finally:
        os.close(fd)
    assert root == tc.root_of_reference(tc.chunk_leaves_reference(a))
    raw = path.read_bytes()
    assert raw[:12] == b"\xab" * 12 and raw[12:] == a.astype("<f4").tobytes()


def test_write_root_on_a_read_only_file_fails(tmp_path: Path) -> None:
    """A failed write is an OSError with the system's reason, not a root."""
    path = tmp_path / "ro.f32"
    path.write_bytes(b"")
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(OSError, match="writing a trace's values failed"):
            fastcommit.write_root(fd, np.ones(300, dtype=np.float32), 0)
    finally:
        os.close(fd)
