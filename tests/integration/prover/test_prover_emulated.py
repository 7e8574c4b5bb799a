"""Cross-CPU: a replay of the tiny preset under qemu-user emulating other CPUs gives the native
state hashes (run with ``-m emulated``; each emulated replay takes about two minutes)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from prover import merkle, profile, segment
from prover.dataset import build_manifest
from prover.presets import default_teacher_dir, default_text_files, preset_spec
from tests.support.replay import cli_replay

pytestmark = pytest.mark.emulated
QEMU = shutil.which("qemu-x86_64")
STEPS = 2


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    root = tmp_path_factory.mktemp("emu")
    build_manifest(default_text_files(), default_teacher_dir(), 32, root / "data")
    spec = preset_spec("tiny", seed=2, dataset_dir=root / "data")
    (root / "spec.json").write_bytes(spec.canonical_bytes())
    r = segment.replay(spec, 1, None, STEPS, default_teacher_dir(), root / "data")
    return root / "spec.json", root / "data", [merkle.hex32(h) for h in r.state_hashes]


@pytest.mark.skipif(QEMU is None, reason="qemu-user is not installed (apt-get install qemu-user)")
@pytest.mark.parametrize("cpu", ["Haswell", "EPYC-Milan"])
def test_emulated_cpu_replays_the_native_hashes(
    native: tuple[Path, Path, list[str]], cpu: str
) -> None:
    spec_file, data, hashes = native
    from prover.spec import load_spec

    # qemu-user does not follow the CLI's re-exec: start the emulated process under the profile
    env = {k: v for k, v in os.environ.items() if k != profile.REEXEC_GUARD}
    env |= profile.env(load_spec(spec_file))
    doc = cli_replay(spec_file, STEPS, dataset=data, prefix=[str(QEMU), "-cpu", cpu], env=env)
    assert doc["stateHashes"] == hashes
