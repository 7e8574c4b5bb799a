"""Canonical training-state serialization and its digest (PROTOCOL.md "Canonical training state").

Byte layout (all integers little-endian; str = u32 byte length + UTF-8):
    b"veritrain/state/v1\\n"
    u32 number of parameter tensors, then per tensor in sorted name order:
        str name, str dtype ("float32"), u32 ndim, u64 per dim, u64 nbytes, raw contiguous LE bytes
    u32 number of optimizer tensors, then the same per tensor, named "<param name>/<state key>"
        (exp_avg, exp_avg_sq, step), sorted
    u64 step
    str canonical JSON of the RNG state
    u64 data cursor (samples consumed)
The digest is sha256 or BLAKE3 (32 bytes), as the spec's ``stateHash`` names.

``stateHash: "tree-v2"`` (docs/referee.md "State hash v2") hashes no byte stream: it is the root
of a sha256 tree over one tensor commitment (prover.trace.commit) per state tensor, in the same
canonical order, and a scalar leaf for step, RNG and cursor (:func:`tree_v2`), so one element
of one tensor opens with two Merkle proofs (prover.trace.stateopen).

Hashing reads the live tensors, so it can run on a background thread while the next step's
forward and backward run (they never write parameters or optimizer state); the training loop
joins it before the next optimizer update.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from prover.errors import ProverError
from prover.spec import canonical_json

if TYPE_CHECKING:
    import torch

MAGIC = b"veritrain/state/v1\n"


def _str(s: str) -> bytes:
    raw = s.encode("utf-8")
    return struct.pack("<I", len(raw)) + raw


def dtype_name(t: torch.Tensor) -> str:
    return str(t.dtype).removeprefix("torch.")


def _tensor_chunks(name: str, t: torch.Tensor) -> Iterator[bytes | memoryview]:
    t = t.detach()
    if not t.is_contiguous():
        t = t.contiguous()
    arr = t.cpu().numpy() if t.dim() else t.cpu().reshape(1).numpy()
    if sys.byteorder != "little":
        arr = arr.byteswap()
    head = _str(name) + _str(dtype_name(t)) + struct.pack("<I", t.dim())
    head += b"".join(struct.pack("<Q", d) for d in t.shape) + struct.pack("<Q", arr.nbytes)
    yield head
    yield memoryview(arr).cast("B")  # type: ignore[arg-type]


def param_tensors(model: Any) -> list[tuple[str, torch.Tensor]]:
    return sorted(model.state_dict(keep_vars=False).items())


def optimizer_tensors(model: Any, optimizer: Any) -> list[tuple[str, torch.Tensor]]:
    """Optimizer state tensors keyed '<param name>/<key>' (sorted)."""
    import torch

    names = {id(p): n for n, p in model.named_parameters()}
    out = []
    for p, st in optimizer.state.items():
        for key, value in st.items():
            if isinstance(value, torch.Tensor):
                out.append((f"{names[id(p)]}/{key}", value))
    return sorted(out)


def serialize_chunks(params: list[tuple[str, torch.Tensor]], optim: list[tuple[str, torch.Tensor]],
                     step: int, rng: dict[str, Any], cursor: int) -> Iterator[bytes | memoryview]:
    yield MAGIC
    for section in (params, optim):
        yield struct.pack("<I", len(section))
        for name, t in section:
            yield from _tensor_chunks(name, t)
    yield struct.pack("<Q", step)
    yield _str(canonical_json(rng).decode("utf-8"))
    yield struct.pack("<Q", cursor)


#: Every ``stateHash`` scheme; "tree-v2" is not a byte-stream digest (see :func:`tree_v2`).
SCHEMES = ("sha256", "blake3", "tree-v2")
TREE_V2 = "tree-v2"
_V2_TAG = b"veritrain/state/v2"


def scalar_leaf(step: int, rng: dict[str, Any], cursor: int) -> bytes:
    """The last leaf of a v2 state:
    sha256("veritrain/state/v2" ++ u64be(step) ++ sha256(canonical RNG JSON) ++ u64be(cursor))."""
    rng_digest = hashlib.sha256(canonical_json(rng)).digest()
    return hashlib.sha256(_V2_TAG + struct.pack(">Q", step) + rng_digest
                          + struct.pack(">Q", cursor)).digest()


def v2_leaves(params: list[tuple[str, torch.Tensor]], optim: list[tuple[str, torch.Tensor]],
              step: int, rng: dict[str, Any], cursor: int) -> list[bytes]:
    """The v2 state tree's leaves: each tensor's commitment in canonical order, then the
    scalar leaf."""
    from prover.trace.commit import commit

    return [commit(t).commit for _, t in (*params, *optim)] + [scalar_leaf(step, rng, cursor)]


def tree_v2(params: list[tuple[str, torch.Tensor]], optim: list[tuple[str, torch.Tensor]],
            step: int, rng: dict[str, Any], cursor: int) -> bytes:
    """The v2 state hash: the root of the sha256 tree over :func:`v2_leaves`."""
    from prover.trace.commit import root_of

    return root_of(v2_leaves(params, optim, step, rng, cursor))


def digest_state(algo: str, params: list[tuple[str, torch.Tensor]],
                 optim: list[tuple[str, torch.Tensor]], step: int, rng: dict[str, Any],
                 cursor: int, threads: int = 1) -> bytes:
    """The state hash of these tensors and scalars under scheme ``algo`` (any of SCHEMES)."""
    if algo == TREE_V2:
        return tree_v2(params, optim, step, rng, cursor)
    return digest_chunks(algo, serialize_chunks(params, optim, step, rng, cursor), threads)


def new_hasher(algo: str, threads: int = 1) -> Any:
    if algo == "sha256":
        return hashlib.sha256()
    if algo == "blake3":
        import blake3

        return blake3.blake3(max_threads=threads if threads > 0 else blake3.blake3.AUTO)
    raise ProverError(f"unknown stateHash algorithm {algo!r}",
                      hint="use 'sha256', 'blake3' or 'tree-v2'")


def digest_chunks(algo: str, chunks: Iterator[bytes | memoryview], threads: int = 1) -> bytes:
    h = new_hasher(algo, threads)
    for c in chunks:
        h.update(c)
    return h.digest()


def state_hash(algo: str, model: Any, optimizer: Any, step: int, rng: dict[str, Any],
               cursor: int, threads: int = 1) -> bytes:
    """The 32-byte state hash of (student params, optimizer state, step, RNG, cursor)."""
    return digest_state(algo, param_tensors(model), optimizer_tensors(model, optimizer),
                        step, rng, cursor, threads)


def state_bytes(model: Any, optimizer: Any, step: int, rng: dict[str, Any], cursor: int) -> bytes:
    """The full canonical serialization (for tests and audits; hashing streams it instead)."""
    return b"".join(bytes(c) for c in serialize_chunks(
        param_tensors(model), optimizer_tensors(model, optimizer), step, rng, cursor))


class BackgroundHasher:
    """Hashes the live state on one worker thread; callers must join before mutating it."""

    def __init__(self, algo: str, threads: int = 1) -> None:
        self.algo, self.threads = algo, threads
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="statehash")

    def submit(self, model: Any, optimizer: Any, step: int, rng: dict[str, Any],
               cursor: int) -> Future[bytes]:
        # Collect the tensor lists now (cheap references); bytes are read on the worker.
        params, optim = param_tensors(model), optimizer_tensors(model, optimizer)
        return self._pool.submit(digest_state, self.algo, params, optim, step, dict(rng),
                                 cursor, self.threads)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
