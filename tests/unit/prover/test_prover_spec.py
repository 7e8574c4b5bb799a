"""Task spec: canonical JSON, specHash, and validation messages that name the field and rule."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from eth_hash.auto import keccak

from prover.errors import SpecValidationError
from prover.spec import canonical_json, load_spec, loads_spec, parse_spec, save_spec


def doc() -> dict[str, Any]:
    """A valid spec document (spec_sample.json next to this file)."""
    return json.loads((Path(__file__).with_name("spec_sample.json")).read_text())


def test_canonical_bytes_are_sorted_compact_and_hash_is_keccak() -> None:
    spec = parse_spec(doc())
    raw = spec.canonical_bytes()
    assert raw == json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    assert b" " not in raw and b"\n" not in raw
    assert spec.spec_hash() == keccak(raw)
    assert spec.spec_hash_hex() == "0x" + keccak(raw).hex()


def test_key_order_and_whitespace_do_not_change_the_hash() -> None:
    d = doc()
    shuffled = json.dumps(dict(reversed(list(d.items()))), indent=4)
    assert loads_spec(shuffled).spec_hash() == parse_spec(d).spec_hash()


def test_any_field_change_changes_the_hash() -> None:
    d = doc()
    d["optimizer"]["lr"] = 0.0011
    assert parse_spec(d).spec_hash() != parse_spec(doc()).spec_hash()


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    spec = parse_spec(doc())
    p = save_spec(spec, tmp_path / "spec.json")
    assert p.read_bytes() == spec.canonical_bytes()
    assert load_spec(p) == spec


@pytest.mark.parametrize(("path", "value", "message"), [
    (("segmentSteps",), 48, "segmentSteps must be a power of two, got 48"),
    (("totalSteps",), 60, "totalSteps must be a multiple of segmentSteps (8), got 60"),
    (("student", "config", "hidden_dropout_prob"), 0.1,
     "student.config.hidden_dropout_prob must be 0"),
    (("student", "config", "num_attention_heads"), 3,
     "student.config.hidden_size must be a multiple of num_attention_heads, got 64 and 3"),
    (("seqLen",), 128, "seqLen must be <= student.config.max_position_embeddings (64), got 128"),
    (("dataset", "sampleRoot"), "0x12", "dataset.sampleRoot must be 0x + 64 lowercase hex digits"),
    (("stateHash",), "md5", "stateHash: Input should be 'sha256', 'blake3' or 'tree-v2'"),
    (("batchSize",), 0, "batchSize: Input should be greater than 0"),
])
def test_validation_errors_name_field_and_rule(
    path: tuple[str, ...], value: Any, message: str
) -> None:
    d = copy.deepcopy(doc())
    target = d
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(SpecValidationError) as exc:
        parse_spec(d)
    assert message in str(exc.value)
    assert exc.value.hint


def test_unknown_field_is_refused() -> None:
    d = doc()
    d["learningRate"] = 1
    with pytest.raises(SpecValidationError, match="learningRate"):
        parse_spec(d)


def test_not_json_is_a_spec_error() -> None:
    with pytest.raises(SpecValidationError, match="not valid JSON"):
        loads_spec("{nope")


def test_canonical_json_refuses_nan() -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
