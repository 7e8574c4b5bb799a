"""Cross-CPU under the kernels profile: a replay of the tiny preset with ``repcpu-1`` gives the
same state hashes natively with every kernel build (sse, avx2, avx512 forced in fresh processes)
and under ``qemu-x86_64 -cpu Haswell`` (run with ``-m emulated``; minutes per emulated replay).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from prover import merkle, profile, segment
from prover.dataset import build_manifest
from prover.kernels import _lib
from prover.presets import default_teacher_dir, default_text_files, preset_spec
from tests.support.replay import cli_replay

pytestmark = pytest.mark.emulated
QEMU = shutil.which("qemu-x86_64")
STEPS = 2
_LEVELS = ["sse", "avx2", "avx512"]


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    root = tmp_path_factory.mktemp("kd-kernels")
    build_manifest(default_text_files(), default_teacher_dir(), 32, root / "data")
    spec = preset_spec("tiny", seed=3, dataset_dir=root / "data", profile_name="repcpu-1")
    (root / "spec.json").write_bytes(spec.canonical_bytes())
    r = segment.replay(spec, 1, None, STEPS, default_teacher_dir(), root / "data")
    return root / "spec.json", root / "data", [merkle.hex32(h) for h in r.state_hashes]


def _replay(spec_file: Path, data: Path, prefix: list[str], **extra: str) -> list[str]:
    from prover.spec import load_spec

    # qemu-user does not follow the CLI's re-exec: start the process under the profile
    env = {k: v for k, v in os.environ.items() if k != profile.REEXEC_GUARD}
    env |= profile.env(load_spec(spec_file)) | extra
    doc = cli_replay(spec_file, STEPS, dataset=data, prefix=prefix, env=env, timeout=1800)
    hashes: list[str] = doc["stateHashes"]
    return hashes


@pytest.mark.parametrize("isa", _LEVELS)
def test_every_kernel_build_replays_the_same_hashes(native, isa):
    if _LEVELS.index(isa) > _LEVELS.index(_lib.cpu_level()):
        pytest.skip(f"this CPU cannot run the {isa} build")
    spec_file, data, hashes = native
    assert _replay(spec_file, data, [], VERITRAIN_KERNELS_ISA=isa) == hashes


@pytest.mark.skipif(QEMU is None, reason="qemu-user is not installed (apt-get install qemu-user)")
@pytest.mark.parametrize("cpu", ["Haswell"])
def test_emulated_cpu_replays_the_native_hashes_under_repcpu(native, cpu):
    spec_file, data, hashes = native
    assert _replay(spec_file, data, [str(QEMU), "-cpu", cpu]) == hashes
