"""Leaves, positional Merkle trees and proofs, exactly as PROTOCOL.md fixes them.

leaf(taskId, t, stateHash) = keccak256(keccak256(abi.encode(uint256 taskId, uint256 t,
                                                            bytes32 stateHash)))
node(left, right)          = keccak256(left ++ right)          (positional, not sorted pairs)
A segment has segmentSteps (a power of two) leaves, for steps start+1 .. start+segmentSteps;
a proof lists log2(n) siblings from the leaf up; bit i of the leaf index says whether the
node at level i is a right child.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak

from prover.errors import MerkleError

ZERO32 = b"\x00" * 32


def to_bytes32(value: bytes | str) -> bytes:
    """Accept 32 raw bytes or a 0x-hex string."""
    if isinstance(value, str):
        try:
            raw = bytes.fromhex(value.removeprefix("0x"))
        except ValueError:
            raise MerkleError(f"not a hex string: {value!r}") from None
    elif isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
    elif type(value) is int and value == 32:
        # Kept quirk (tests pin it): bytes(32), the all-zero hash. Any other int would be
        # bytes(n): n zero bytes allocated (4 EiB for 2**62) or a ValueError.
        raw = ZERO32
    else:
        raise MerkleError(f"expected a 0x-hex string or 32 bytes, got {type(value).__name__} "
                          f"{value!r:.40}", hint="hashes are 0x + 64 hex digits")
    if len(raw) != 32:
        raise MerkleError(f"expected 32 bytes, got {len(raw)}",
                          hint="hashes are 0x + 64 hex digits")
    return raw


def hex32(value: bytes) -> str:
    return "0x" + value.hex()


def _uint256(x: int) -> bytes:
    if not 0 <= x < 2**256:
        raise MerkleError(f"uint256 out of range: {x}")
    return x.to_bytes(32, "big")


def leaf(task_id: int, step: int, state_hash: bytes | str) -> bytes:
    """The double-hashed leaf of step ``step`` (OpenZeppelin 'standard' leaf)."""
    inner = keccak(_uint256(task_id) + _uint256(step) + to_bytes32(state_hash))
    return keccak(inner)


def leaves_for(task_id: int, segment_start: int,
               state_hashes: Sequence[bytes | str]) -> list[bytes]:
    """Leaves of steps segment_start+1 .. segment_start+len(state_hashes)."""
    return [leaf(task_id, segment_start + 1 + i, h) for i, h in enumerate(state_hashes)]


def _check_leaves(leaves: Sequence[bytes | str]) -> list[bytes]:
    n = len(leaves)
    if n == 0 or n & (n - 1):
        raise MerkleError(f"a trace needs a power-of-two number of leaves, got {n}",
                          hint="one leaf per step of a segment; segmentSteps is a power of two")
    return [to_bytes32(x) for x in leaves]


def levels(leaves: Sequence[bytes | str]) -> list[list[bytes]]:
    """All tree levels, leaves first, root last."""
    level = _check_leaves(leaves)
    out = [level]
    while len(level) > 1:
        level = [keccak(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        out.append(level)
    return out


def trace_root(leaves: Sequence[bytes | str]) -> bytes:
    """Positional Merkle root of a segment's leaves in step order."""
    return levels(leaves)[-1][0]


def proof(leaves: Sequence[bytes | str], index: int) -> list[bytes]:
    """Siblings from the leaf up to (not including) the root, for leaf ``index`` (0-based)."""
    tree = levels(leaves)
    if not 0 <= index < len(tree[0]):
        raise MerkleError(f"leaf index {index} out of range 0..{len(tree[0]) - 1}")
    out = []
    for level in tree[:-1]:
        out.append(level[index ^ 1])
        index >>= 1
    return out


def root_from_proof(leaf_value: bytes | str, index: int, siblings: Sequence[bytes | str]) -> bytes:
    node = to_bytes32(leaf_value)
    if not 0 <= index < 2 ** len(siblings):
        raise MerkleError(f"leaf index {index} out of range for a proof of {len(siblings)} "
                          "siblings")
    for sib in siblings:
        s = to_bytes32(sib)
        node = keccak(s + node) if index & 1 else keccak(node + s)
        index >>= 1
    return node


def verify(root: bytes | str, leaf_value: bytes | str, index: int,
           siblings: Sequence[bytes | str]) -> bool:
    """True iff ``siblings`` prove ``leaf_value`` at ``index`` under ``root``."""
    try:
        return root_from_proof(leaf_value, index, siblings) == to_bytes32(root)
    except MerkleError:
        return False


def step_index(step: int, segment_start: int, segment_steps: int) -> int:
    """Leaf index of ``step`` in the segment starting at state ``segment_start``."""
    idx = step - segment_start - 1
    if not 0 <= idx < segment_steps:
        raise MerkleError(f"step {step} is not in the segment of steps "
                          f"{segment_start + 1}..{segment_start + segment_steps}")
    return idx


# ---- leaves file (PROTOCOL.md: {taskId, segment, steps, stateHashes[, losses]}) ----------------
def leaves_doc(task_id: int, segment: int, steps: Sequence[int],
               state_hashes: Sequence[bytes | str],
               losses: Sequence[float] | None = None) -> dict[str, Any]:
    """The leaves file's document. ``losses`` (optional, the training loss of each step, as the
    node reports it: not part of any leaf) lets viewers plot the curve; older files lack it."""
    if len(steps) != len(state_hashes):
        raise MerkleError(f"{len(steps)} steps but {len(state_hashes)} state hashes")
    doc: dict[str, Any] = {"taskId": task_id, "segment": segment, "steps": list(steps),
                           "stateHashes": [hex32(to_bytes32(h)) for h in state_hashes]}
    if losses is not None:
        if len(losses) != len(steps):
            raise MerkleError(f"{len(steps)} steps but {len(losses)} losses")
        doc["losses"] = [float(v) for v in losses]
    return doc


def write_leaves_file(path: str | Path, task_id: int, segment: int, steps: Sequence[int],
                      state_hashes: Sequence[bytes | str],
                      losses: Sequence[float] | None = None) -> Path:
    p = Path(path)
    doc = leaves_doc(task_id, segment, steps, state_hashes, losses)
    p.write_text(json.dumps(doc, sort_keys=True, separators=(",", ":")))
    return p


def _int(p: Path, key: str, value: Any) -> int:
    if type(value) is not int:  # not bool, not 8.0, not "8"
        raise MerkleError(f"leaves file {p}: {key} must be an integer, got {value!r:.40}",
                          hint=_NOT_OURS)
    return value


def _list(p: Path, key: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise MerkleError(f"leaves file {p}: {key} must be a list, got {type(value).__name__}",
                          hint=_NOT_OURS)
    return value


def _float(p: Path, key: str, value: Any) -> float:
    if type(value) not in (int, float):  # not bool, not "0.5"
        raise MerkleError(f"leaves file {p}: {key} must be a number, got {value!r:.40}",
                          hint=_NOT_OURS)
    return float(value)


_NOT_OURS = ("a leaves file is {taskId, segment, steps, stateHashes[, losses]} as written by "
             "write_leaves_file")


def read_leaves_file(path: str | Path) -> dict[str, Any]:
    """Parse and check a leaves file; returns the doc with stateHashes as 0x-hex strings."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise MerkleError(f"cannot read leaves file {p}: {exc}") from None
    return loads_leaves(data, str(p))


def loads_leaves(data: bytes, where: str = "(bytes)") -> dict[str, Any]:
    """Parse and check a leaves file's bytes (``where`` names it in errors: a path or a CID)."""
    from prover.spec import load_json

    p = Path(where)
    doc = load_json(data, f"leaves file {where}", MerkleError)
    if not isinstance(doc, dict):
        raise MerkleError(f"leaves file {where} must hold a JSON object, got {type(doc).__name__}",
                          hint=_NOT_OURS)
    for key in ("taskId", "segment", "steps", "stateHashes"):
        if key not in doc:
            raise MerkleError(f"leaves file {where} lacks {key!r}", hint=_NOT_OURS)
    steps = [_int(p, "steps[]", s) for s in _list(p, "steps", doc["steps"])]
    losses = None
    if doc.get("losses") is not None:
        losses = [_float(p, "losses[]", v) for v in _list(p, "losses", doc["losses"])]
    return leaves_doc(_int(p, "taskId", doc["taskId"]), _int(p, "segment", doc["segment"]), steps,
                      _list(p, "stateHashes", doc["stateHashes"]), losses)
