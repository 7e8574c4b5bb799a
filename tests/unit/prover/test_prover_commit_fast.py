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

import numpy as np
import pytest
import torch

from prover.trace import commit as tc
from prover.trace import fastcommit

#: element counts around chunk (256) and power-of-two tree boundaries
SIZES = [0, 1, 7, 255, 256, 257, 511, 512, 513, 1024 * 3 + 1, 256 * 17, 256 * 64 + 255]


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


def test_portable_path_gives_the_same_bytes() -> None:
    """VT_COMMIT_PLAIN=1 forces the plain C compression (the path of a CPU without SHA-NI)."""
    code = ("import numpy as np, sys; from prover.trace import commit as tc, fastcommit as f; "
            "a = np.random.default_rng(5).standard_normal(256 * 9 + 3).astype(np.float32); "
            "assert not f.has_shani(); "
            "assert tc.commit(a) == tc.commit_reference(a); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "VT_COMMIT_PLAIN": "1"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_commit_refuses_other_dtypes() -> None:
    with pytest.raises(tc.TraceError, match="float32"):
        tc.commit(np.zeros(3, dtype=np.float64))
    with pytest.raises(tc.TraceError, match="float32"):
        tc.commit(torch.zeros(3, dtype=torch.float16))
    with pytest.raises(tc.TraceError, match="32-byte leaf"):
        tc.root_of([])
