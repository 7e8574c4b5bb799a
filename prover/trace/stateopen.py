"""Open one element of one tensor of a v2 state (docs/referee.md "State hash v2").

A ``tree-v2`` state hash is the root of a sha256 tree over the state tensors' commitments (in
canonical order) and a scalar leaf. One element opens with two proofs, which is what the
referee checks on-chain:

1. state proof: the tensor's commitment is leaf ``tensor_index`` of the state tree;
2. chunk proof: the 1 KiB chunk holding the element is leaf ``element >> 8`` of the tensor's
   chunk tree, whose root bound with the shape is that commitment.

The element is bytes ``4 * (element & 255)`` .. ``+3`` of the chunk, little-endian float32.
:func:`verify` recomputes everything with hashlib only (no shared code path with the opener's C).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prover import statehash
from prover.trace import commit as tc
from prover.trace import fastcommit

if TYPE_CHECKING:
    from prover.spec import TaskSpec


@dataclass(frozen=True)
class ElementOpening:
    """One element of one state tensor with the proofs that bind it to a v2 state hash."""

    state_hash: bytes
    #: Position of the tensor in the canonical order (parameters, then optimizer tensors).
    tensor_index: int
    #: Its canonical name ("<param>" or "<param>/<key>"), for people; not bound by the hash.
    name: str
    shape: tuple[int, ...]
    #: Row-major element index within the tensor.
    element: int
    #: The element's float32 bits.
    bits: int
    #: The 1 KiB chunk ``element >> 8`` (zero-padded past the tensor's end).
    chunk: bytes
    #: Siblings from the chunk leaf up to the tensor's chunk-tree root.
    chunk_proof: list[bytes]
    #: The tensor's chunk-tree root and its commitment (root bound with the shape).
    tensor_root: bytes
    commit: bytes
    #: Siblings from the commitment up to the state hash (state tree leaf ``tensor_index``).
    state_proof: list[bytes]

    @property
    def value(self) -> float:
        return float(struct.unpack("<f", struct.pack("<I", self.bits))[0])


def _find(names: Sequence[str], tensor: int | str) -> int:
    if isinstance(tensor, str):
        if tensor not in names:
            raise tc.TraceError(f"the state has no tensor named {tensor!r}",
                                hint=f"names run from {names[0]!r} to {names[-1]!r}")
        return names.index(tensor)
    if not 0 <= tensor < len(names):
        raise tc.TraceError(f"tensor index {tensor} out of range (the state has {len(names)})")
    return tensor


def open_element(params: list[tuple[str, Any]], optim: list[tuple[str, Any]], step: int,
                 rng: dict[str, Any], cursor: int, tensor: int | str,
                 element: int) -> ElementOpening:
    """Open ``element`` of ``tensor`` (canonical index or name) of this state."""
    named = [*params, *optim]
    names = [n for n, _ in named]
    idx = _find(names, tensor)
    values = named[idx][1]
    shape = tuple(int(d) for d in values.shape)
    count = 1
    for d in shape:
        count *= d
    if not 0 <= element < count:
        raise tc.TraceError(f"element {element} out of range: {names[idx]} {list(shape)} has "
                            f"{count} elements")
    raw = fastcommit.as_bytes(values)
    leaves = fastcommit.chunk_leaves(values)
    ci = element // tc.CHUNK_ELEMS
    chunk = bytes(raw[ci * tc.CHUNK_BYTES:(ci + 1) * tc.CHUNK_BYTES]).ljust(tc.CHUNK_BYTES, b"\0")
    lane = element % tc.CHUNK_ELEMS
    state_leaves = statehash.v2_leaves(params, optim, step, rng, cursor)
    root = tc.root_of(leaves)
    return ElementOpening(
        state_hash=tc.root_of(state_leaves), tensor_index=idx, name=names[idx], shape=shape,
        element=element, bits=struct.unpack_from("<I", chunk, 4 * lane)[0], chunk=chunk,
        chunk_proof=tc.chunk_proof(leaves, ci), tensor_root=root,
        commit=tc.bind_shape(root, shape), state_proof=tc.chunk_proof(state_leaves, idx))


def verify(o: ElementOpening) -> bool:
    """Whether ``o``'s element, chunk, proofs and shape hash up to ``o.state_hash`` (hashlib)."""
    if len(o.chunk) != tc.CHUNK_BYTES:
        return False
    lane = o.element % tc.CHUNK_ELEMS
    if struct.unpack_from("<I", o.chunk, 4 * lane)[0] != o.bits:
        return False
    leaf = hashlib.sha256(o.chunk).digest()
    if not tc.verify_chunk(o.tensor_root, o.element // tc.CHUNK_ELEMS, leaf, o.chunk_proof):
        return False
    if tc.bind_shape(o.tensor_root, o.shape) != o.commit:
        return False
    return tc.verify_chunk(o.state_hash, o.tensor_index, o.commit, o.state_proof)


def open_checkpoint_element(ckpt_dir: str | Path, spec: TaskSpec, task_id: int,
                            tensor: int | str, element: int) -> ElementOpening:
    """Open an element of the state a checkpoint directory holds (as
    :func:`prover.checkpoint.held_state` judges it); the spec must use ``tree-v2``."""
    from prover import checkpoint, schedule
    from prover.train import rng_state

    if spec.state_hash != statehash.TREE_V2:
        raise tc.TraceError(f"the spec's stateHash is {spec.state_hash!r}: only a tree-v2 state "
                            "opens element by element", hint="open states of tree-v2 tasks")
    held = checkpoint.held_state(ckpt_dir, spec, task_id)
    o = open_element(held.params, held.optim, held.step, rng_state(spec, task_id),
                     schedule.cursor_after(spec, held.step), tensor, element)
    if o.state_hash != held.state_hash:  # both from the same tensors: a bug if it ever differs
        raise tc.TraceError(f"opening of {ckpt_dir} hashes to {o.state_hash.hex()}, "
                            f"the checkpoint holds {held.state_hash.hex()}")
    return o
