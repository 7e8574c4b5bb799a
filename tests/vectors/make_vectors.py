"""Write tests/vectors/merkle.json: leaves, trace roots and proofs per PROTOCOL.md.

Independent of the Solidity implementation (eth_hash + eth_abi only). Forge
(contracts/test/unit/TraceMerkle.t.sol) and the Python prover check the same file.

    leaf(t) = keccak256(keccak256(abi.encode(uint256 taskId, uint256 t, bytes32 stateHash)))
    node    = keccak256(left || right), positional; leaf index = t - segmentStart - 1
    proof   = siblings bottom-up, log2(segmentSteps) of them

Run: .venv/bin/python tests/vectors/make_vectors.py
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from eth_abi import encode
from eth_hash.auto import keccak

OUT = Path(__file__).with_name("merkle.json")

# (taskId, segment index k, segmentSteps)
CASES = [(1, 0, 1), (7, 3, 2), (42, 1, 8), (2**40 + 5, 2, 128)]


def state_hash(task_id: int, t: int) -> bytes:
    """A stand-in state hash (sha256), fixed so the file is reproducible."""
    return hashlib.sha256(f"veritrain-vector:{task_id}:{t}".encode()).digest()


def leaf(task_id: int, t: int, sh: bytes) -> bytes:
    return keccak(keccak(encode(["uint256", "uint256", "bytes32"], [task_id, t, sh])))


def levels(leaves: list[bytes]) -> list[list[bytes]]:
    out = [leaves]
    while len(out[-1]) > 1:
        cur = out[-1]
        out.append([keccak(cur[i] + cur[i + 1]) for i in range(0, len(cur), 2)])
    return out


def proof(tree: list[list[bytes]], index: int) -> list[bytes]:
    sib = []
    for level in tree[:-1]:
        sib.append(level[index ^ 1])
        index >>= 1
    return sib


def hx(b: bytes) -> str:
    return "0x" + b.hex()


def build() -> dict:
    cases = []
    for task_id, k, s in CASES:
        start = k * s
        steps = [start + i + 1 for i in range(s)]
        shs = [state_hash(task_id, t) for t in steps]
        lvs = [leaf(task_id, t, h) for t, h in zip(steps, shs, strict=True)]
        tree = levels(lvs)
        cases.append(
            {
                "taskId": task_id,
                "segment": k,
                "segmentStart": start,
                "segmentSteps": s,
                "steps": steps,
                "stateHashes": [hx(h) for h in shs],
                "leaves": [hx(x) for x in lvs],
                "root": hx(tree[-1][0]),
                "proofs": [[hx(p) for p in proof(tree, i)] for i in range(s)],
            }
        )
    return {
        "description": "veritrain trace-root vectors (PROTOCOL.md Leaf / Trace root); regenerate "
        "with make_vectors.py",
        "cases": cases,
    }


def main() -> None:
    OUT.write_text(json.dumps(build(), indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
