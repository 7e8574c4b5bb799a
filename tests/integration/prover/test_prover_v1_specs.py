"""New specs default to the v2 schemes (``stateHash: "tree-v2"``, ``schedule: "keccak-v2"``);
specs of the v1 schemes (blake3 or sha256, keccak-v1) keep their bytes, their hash and their
replay: a tiny task under each trains to the state hashes recorded at commit 3f1db45, before
the default changed, and replays to the same leaves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover import merkle, schedule, segment
from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec
from prover.spec import TaskSpec, loads_spec

TASK = 9
SAMPLE = Path(__file__).resolve().parents[2] / "unit" / "prover" / "spec_sample.json"
#: ``preset_spec("tiny", seed=3, state_hash=H, totalSteps=8, segmentSteps=4)`` trained as task 9
#: (segment 0, repfma-1) by the code of 3f1db45 (whose presets wrote v1 specs):
#: its specHash and the state hashes of steps 1..4.
GOLDEN: dict[str, tuple[str, list[str]]] = {
    "blake3": ("0x0d8d62fd44f0dee93439e78bd3255edf2d0873bdd85dc3197e61ce922031ff8f", [
        "0xb38f8a0ca009292e00daa6962e5cd08329a7a7be9e328d01d12131e63bdd0ea6",
        "0x00d34120c5ec19716319a79c1f0d8c61d41582cc018f4ba9d777ee798a7e8e97",
        "0x9f885bf26c63bb4f2c3be85762e1e326282d0e54b8e0e6c04516a5ddd0c362a0",
        "0x8d665476aea0017327a7435a65be042a85217dc84bed871229c1ae5e17752a51"]),
    "sha256": ("0xccc81fd92db2cab1ea545c8b6c2e9c61037a803295097883948149472fcdedf1", [
        "0xd11a21131b9efdc619dcbd47550ec553f0382e04ba975c54d0d843e187990efe",
        "0x3d4bec09b2ec531e8bb6d9cb9b69328767b6e65dc0a0c05c06b2d349b414a0de",
        "0x98981c97bcb84ddd4fdac7795d7189beb2fa18ae25d7b8be4bb28544745d676d",
        "0xf7e3d9b645c4b1b804eaf634c41f320b32ed378f3145e77187e8203262b0c855"]),
}


def _v1(state_hash: str) -> TaskSpec:
    return preset_spec("tiny", seed=3, state_hash=state_hash, schedule="keccak-v1",
                       totalSteps=8, segmentSteps=4)


def test_new_specs_use_the_v2_schemes() -> None:
    spec = preset_spec("tiny", seed=3)
    assert spec.state_hash == "tree-v2" and spec.schedule == "keccak-v2"
    assert b'"schedule":"keccak-v2"' in spec.canonical_bytes()
    assert b'"stateHash":"tree-v2"' in spec.canonical_bytes()


def test_v1_spec_document_keeps_its_bytes_and_schemes() -> None:
    """A spec written before the default changed (blake3, no schedule field) reads as v1 and
    writes back the same canonical bytes."""
    doc = json.loads(SAMPLE.read_text())
    assert "schedule" not in doc
    spec = loads_spec(SAMPLE.read_text())
    assert spec.state_hash == "blake3" and spec.schedule == "keccak-v1"
    assert spec.canonical_bytes() == json.dumps(doc, sort_keys=True,
                                                separators=(",", ":")).encode()
    del doc["stateHash"]  # a spec without the field at all is a blake3 one, as before
    assert loads_spec(json.dumps(doc)).state_hash == "blake3"


@pytest.mark.parametrize("state_hash", list(GOLDEN))
def test_v1_task_trains_and_replays_unchanged(tmp_path: Path, state_hash: str) -> None:
    spec = _v1(state_hash)
    want_hash, want_states = GOLDEN[state_hash]
    assert b"schedule" not in spec.canonical_bytes()
    assert spec.spec_hash_hex() == want_hash
    data = default_dataset_dir(spec.seq_len)
    run = segment.run_segment(spec, TASK, 0, None, default_teacher_dir(), data, tmp_path / "s0")
    assert [merkle.hex32(h) for h in run.state_hashes] == want_states
    again = segment.replay(spec, TASK, None, 4, default_teacher_dir(), data,
                           expected_leaves=run.leaves)
    assert again.leaves == run.leaves and again.first_mismatch is None
    # and the v2 default trains on other rows from the same seed
    v2 = preset_spec("tiny", seed=3, totalSteps=8, segmentSteps=4)
    assert schedule.batch_indices(v2, TASK, 1) != schedule.batch_indices(spec, TASK, 1)
