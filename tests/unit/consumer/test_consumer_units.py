"""consumer without a chain: what a pull refuses before it touches the chain or IPFS, and the
typed fields its errors carry."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumer.errors import CheckpointMismatchError, OutputExistsError, UnknownTaskError
from consumer.pull import hex32, pull


def test_pull_into_a_non_empty_directory_is_refused_first(tmp_path: Path) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    # no chain and no store: the refusal comes before either is used
    with pytest.raises(OutputExistsError) as info:
        pull(None, None, 1, out)  # type: ignore[arg-type]
    assert info.value.path == str(out) and info.value.exit_code == 2
    assert (out / "keep.txt").read_text() == "mine"


def test_pull_onto_a_file_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "model"
    out.write_text("a file")
    with pytest.raises(OutputExistsError):
        pull(None, None, 1, out)  # type: ignore[arg-type]


def test_consumer_errors_carry_typed_fields_and_exit_codes() -> None:
    unknown = UnknownTaskError("task 9 does not exist", task_id=9)
    assert (unknown.task_id, unknown.exit_code) == (9, 2) and "taskCount" in unknown.hint
    bad = CheckpointMismatchError("wrong", cid="bafyx", reason="state hash")
    assert (bad.cid, bad.reason, bad.exit_code) == ("bafyx", "state hash", 4)
    with pytest.raises(TypeError):
        CheckpointMismatchError("wrong", cid="bafyx")  # type: ignore[call-arg]


def test_hex32_is_lowercase_0x_hex() -> None:
    assert hex32(b"\xab" * 32) == "0x" + "ab" * 32
