"""Tensor commitments (docs/referee.md "Tensor commitment"): the reference definition.

A tensor's bytes are its float32 values, little-endian, row-major, cut into chunks of
CHUNK_ELEMS elements (1 KiB; the last chunk zero-padded). leaf_i = sha256(chunk_i). The leaves
are padded with zero hashes to a power of two and folded with node = sha256(left ++ right)
(positional; a one-chunk tensor's root is its leaf). The commitment binds the shape:
    commit = sha256(root ++ u32be(rank) ++ u32be(dim_0) ++ ... ++ u32be(dim_{rank-1}))
which is Solidity's sha256(abi.encodePacked(root, uint32(rank), uint32 dims...)).

The ``*_reference`` functions are the definition in plain Python (hashlib per chunk); the public
``chunk_leaves``, ``root_of`` and ``commit`` give the same bytes through the C library
(:mod:`prover.trace.fastcommit`, tests compare them), about as fast as SHA-256 itself runs.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from prover.errors import ProverError

if TYPE_CHECKING:
    import torch

CHUNK_ELEMS = 256
CHUNK_BYTES = CHUNK_ELEMS * 4
ZERO32 = b"\x00" * 32


class TraceError(ProverError):
    """A trace, commitment or proof is malformed."""


@dataclass(frozen=True)
class TensorCommitment:
    shape: tuple[int, ...]
    root: bytes
    commit: bytes


def chunk_leaves(values: np.ndarray) -> list[bytes]:
    """sha256 of each 1 KiB chunk of ``values`` (any shape, float32; a torch tensor too)."""
    from prover.trace import fastcommit

    return fastcommit.chunk_leaves(values)


def chunk_leaves_reference(values: np.ndarray) -> list[bytes]:
    """:func:`chunk_leaves` in plain Python: the definition."""
    if values.dtype != np.float32:
        raise TraceError(f"tensor commitments hash float32 values, got {values.dtype}")
    raw = np.ascontiguousarray(values).astype("<f4", copy=False).reshape(-1).tobytes()
    n = max(1, -(-len(raw) // CHUNK_BYTES))
    raw = raw.ljust(n * CHUNK_BYTES, b"\x00")
    return [hashlib.sha256(raw[i * CHUNK_BYTES:(i + 1) * CHUNK_BYTES]).digest() for i in range(n)]


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    size = 1
    while size < len(leaves):
        size *= 2
    level = list(leaves) + [ZERO32] * (size - len(leaves))
    levels = [level]
    while len(level) > 1:
        level = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
        levels.append(level)
    return levels


def root_of(leaves: Sequence[bytes]) -> bytes:
    from prover.trace import fastcommit

    return fastcommit.fold(leaves)


def root_of_reference(leaves: Sequence[bytes]) -> bytes:
    return _levels(leaves)[-1][0]


def bind_shape(root: bytes, shape: Sequence[int]) -> bytes:
    return hashlib.sha256(root + struct.pack(f">I{len(shape)}I", len(shape), *shape)).digest()


def commit(values: np.ndarray | torch.Tensor) -> TensorCommitment:
    """The commitment of a float32 tensor (numpy array or torch tensor): one C call."""
    from prover.trace import fastcommit

    root = fastcommit.tensor_root(values)
    shape = tuple(int(d) for d in values.shape)
    return TensorCommitment(shape, root, bind_shape(root, shape))


def commit_reference(values: np.ndarray) -> TensorCommitment:
    """:func:`commit` in plain Python: the definition."""
    root = root_of_reference(chunk_leaves_reference(values))
    shape = tuple(int(d) for d in values.shape)
    return TensorCommitment(shape, root, bind_shape(root, shape))


def chunk_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Siblings from leaf ``index`` up to the root (bit i of index: right child at level i)."""
    if not 0 <= index < len(leaves):
        raise TraceError(f"chunk {index} out of range (tensor has {len(leaves)} chunks)")
    proof = []
    for level in _levels(leaves)[:-1]:
        proof.append(level[index ^ 1])
        index //= 2
    return proof


def verify_chunk(root: bytes, index: int, chunk_leaf: bytes, proof: Sequence[bytes]) -> bool:
    h = chunk_leaf
    for sib in proof:
        h = hashlib.sha256(sib + h if index & 1 else h + sib).digest()
        index //= 2
    return h == root
