"""Fuzzing the leaves file reader: a well-formed doc or a clear MerkleError, never a crash.

A leaves file is fetched from IPFS by challengers and jurors, so it is attacker-chosen bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prover import merkle
from prover.errors import MerkleError

LIGHT = settings(max_examples=80, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
HEAVY = settings(max_examples=3000, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

GOOD = {"taskId": 7, "segment": 1, "steps": list(range(9, 17)),
        "stateHashes": ["0x" + bytes([i]).hex() * 32 for i in range(8)]}

# Small ints only: bytes(n) of a huge int allocates n bytes (KNOWN_BUGS below).
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-300, 300),
    st.floats(allow_nan=False),
    st.text(max_size=70),
    st.sampled_from(["0x" + "ab" * 32, "ab" * 32, "0x" + "g" * 64, "0x" + "ab" * 31, "0x"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=9),
                      st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=20)


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    doc: dict[str, Any] = json.loads(json.dumps(GOOD))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(GOOD)))
        action = draw(st.sampled_from(["replace", "drop", "item"]))
        if action == "replace":
            doc[key] = draw(values)
        elif action == "drop":
            doc.pop(key, None)
        elif isinstance(doc.get(key), list) and doc[key]:
            i = draw(st.integers(0, len(doc[key]) - 1))
            doc[key][i] = draw(values)
    return doc


#: Exception types that leak from read_leaves_file today on wrongly typed fields (KNOWN_BUGS
#: pins one case of each). The fuzz tests tolerate them and fail on anything else (a MemoryError,
#: an AttributeError, a hang); set to () once the reader checks types.
LEAKS: tuple[type[BaseException], ...] = ()


def _check(path: Path, tolerate: tuple[type[BaseException], ...] = ()) -> None:
    try:
        doc = merkle.read_leaves_file(path)
    except MerkleError as exc:
        assert str(exc).strip()
        return
    except tolerate:
        return
    assert len(doc["steps"]) == len(doc["stateHashes"])
    for h in doc["stateHashes"]:
        assert isinstance(h, str) and len(h) == 66 and h.startswith("0x")
    try:  # the reader does not range-check taskId/steps (negative ones pass); use then refuses them
        merkle.leaves_for(
            doc["taskId"], doc["steps"][0] - 1 if doc["steps"] else 0, doc["stateHashes"]
        )
    except MerkleError as exc:
        assert "out of range" in str(exc)


def test_good_leaves_file_reads(tmp_path: Path) -> None:
    p = tmp_path / "leaves.json"
    p.write_text(json.dumps(GOOD))
    assert merkle.read_leaves_file(p)["stateHashes"] == GOOD["stateHashes"]


@LIGHT
@given(doc=mutated())
def test_fuzz_leaves_mutated(tmp_path: Path, doc: Any) -> None:
    p = tmp_path / "leaves.json"
    p.write_text(json.dumps(doc))
    _check(p, LEAKS)


@LIGHT
@given(
    data=st.one_of(
        st.text(max_size=200).map(str.encode), values.map(lambda v: json.dumps(v).encode())
    )
)
def test_fuzz_leaves_arbitrary(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "leaves.json"
    p.write_bytes(data)
    _check(p, LEAKS)


def test_leaves_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(MerkleError):
        merkle.read_leaves_file(tmp_path / "absent.json")
    with pytest.raises(MerkleError):
        merkle.read_leaves_file(tmp_path)


def _bug(doc: Any, ident: str, raises: type[BaseException], reason: str) -> Any:
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return pytest.param(data, id=ident)  # raises/reason: what it raised before the fix


#: These once ended in a non-MerkleError exception (fixed; kept as regressions).
KNOWN_BUGS = [
    _bug(b"\x80\x81", "not-utf8", UnicodeDecodeError, "read_text decode error is not caught"),
    _bug(5, "top-level-int", TypeError, "`key in doc` on a non-dict"),
    _bug({**GOOD, "taskId": "seven"}, "taskId-text", ValueError, "int() of a string"),
    _bug({**GOOD, "segment": None}, "segment-null", TypeError, "int(None)"),
    _bug({**GOOD, "steps": 8}, "steps-int", TypeError, "iterating an int"),
    _bug({**GOOD, "stateHashes": [None] * 8}, "hash-null", TypeError, "bytes(None)"),
    _bug({**GOOD, "stateHashes": [-1] * 8}, "hash-negative-int", ValueError, "bytes(-1)"),
    _bug({**GOOD, "segment": float("inf")}, "segment-infinity", OverflowError, "int(inf)"),
    _bug({**GOOD, "stateHashes": [2**62] * 8}, "hash-huge-int", (MemoryError, OverflowError),
         "bytes(n) allocates n bytes: a 19-byte file asks for 4 EiB"),
]


@pytest.mark.parametrize("data", KNOWN_BUGS)
def test_leaves_known_bugs(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "leaves.json"
    p.write_bytes(data)
    _check(p)


def test_leaves_int_32_is_read_as_zero_hash(tmp_path: Path) -> None:
    """Quirk: an integer 32 in stateHashes reads as the all-zero hash (bytes(32))."""
    p = tmp_path / "leaves.json"
    p.write_text(json.dumps({**GOOD, "stateHashes": [32] * 8}))
    assert merkle.read_leaves_file(p)["stateHashes"][0] == "0x" + "00" * 32


@pytest.mark.heavy
@HEAVY
@given(doc=mutated())
def test_fuzz_leaves_mutated_heavy(tmp_path: Path, doc: Any) -> None:
    p = tmp_path / "leaves.json"
    p.write_text(json.dumps(doc))
    _check(p, LEAKS)
