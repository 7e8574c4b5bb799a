"""Profiles ``repcpu-2`` and ``repfma-1``: a KD replay of the tiny preset gives the same state
hashes with any kernel build, any thread count and no environment pins at all; under
``-m emulated`` also on qemu-emulated Haswell, EPYC-Milan and SandyBridge (an SSE-only CPU the
stock profiles refuse; under repfma-1 it runs the exact software fma).
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
from prover.spec import TaskSpec
from tests.support.replay import cli_replay

QEMU = shutil.which("qemu-x86_64")
STEPS = 2
_LEVELS = ["sse", "avx2", "avx512"]
#: Every variable any stock profile pins: repcpu-2 must not need one of them.
_PINS = {k for name in profile.PROFILES for k in profile.env_for(name, 1)} | {profile.REEXEC_GUARD}


def _with_threads(spec: TaskSpec, threads: int) -> TaskSpec:
    return spec.model_copy(update={"profile": spec.profile.model_copy(update={"threads": threads})})


@pytest.fixture(scope="module", params=["repcpu-2", "repfma-1"])
def native(tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> tuple[Path, Path, TaskSpec, list[str]]:
    root = tmp_path_factory.mktemp(f"kd-{request.param}")
    build_manifest(default_text_files(), default_teacher_dir(), 32, root / "data")
    spec = preset_spec("tiny", seed=5, dataset_dir=root / "data", profile_name=request.param)
    (root / "spec.json").write_bytes(spec.canonical_bytes())
    r = segment.replay(spec, 1, None, STEPS, default_teacher_dir(), root / "data")
    return root / "spec.json", root / "data", spec, [merkle.hex32(h) for h in r.state_hashes]


@pytest.mark.parametrize("name", ["repcpu-2", "repfma-1"])
def test_kernel_profiles_pin_nothing(name: str) -> None:
    prof = profile.get(name)
    assert prof.kernels and prof.fixed_train_ops and not prof.pins_threads
    assert profile.env_for(name, 3) == {}
    assert profile.DEFAULT_PROFILE == "repfma-1"
    # the profiles specs already reference keep their pins
    assert profile.env_for("repcpu-1", 1)["ATEN_CPU_CAPABILITY"] == "avx2"
    assert not profile.get("repcpu-1").fixed_train_ops


@pytest.mark.parametrize(("isa", "threads"), [("sse", 2), ("avx2", 3), ("avx512", 1)])
def test_any_build_and_thread_count_replays_the_same_hashes(native, monkeypatch, isa, threads):
    if _LEVELS.index(isa) > _LEVELS.index(_lib.cpu_level()):
        pytest.skip(f"this CPU cannot run the {isa} build")
    _, data, spec, hashes = native
    monkeypatch.setenv(_lib.ENV_ISA, isa)
    monkeypatch.delenv(_lib.ENV_THREADS, raising=False)  # kernels follow torch's thread count
    r = segment.replay(_with_threads(spec, threads), 1, None, STEPS, default_teacher_dir(), data)
    assert [merkle.hex32(h) for h in r.state_hashes] == hashes


def _replay(spec_file: Path, data: Path, prefix: list[str], **extra: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in _PINS} | extra
    doc = cli_replay(spec_file, STEPS, dataset=data, prefix=prefix, env=env, timeout=3600)
    hashes: list[str] = doc["stateHashes"]
    return hashes


def test_unpinned_process_with_sse_aten_replays_the_same_hashes(native):
    """A fresh process, no pins, ATen forced to its scalar kernels and the sse build, 2 threads."""
    spec_file, data, _, hashes = native
    assert _replay(spec_file, data, [], ATEN_CPU_CAPABILITY="default", OMP_NUM_THREADS="2",
                   VERITRAIN_KERNELS_ISA="sse") == hashes


@pytest.mark.emulated
@pytest.mark.timeout(3600)  # SandyBridge under repfma-1: the software fma, emulated (slow)
@pytest.mark.skipif(QEMU is None, reason="qemu-user is not installed (apt-get install qemu-user)")
@pytest.mark.parametrize("cpu", ["Haswell", "EPYC-Milan", "SandyBridge"])
def test_emulated_cpu_replays_the_native_hashes(native, cpu):
    spec_file, data, _, hashes = native
    assert _replay(spec_file, data, [str(QEMU), "-cpu", cpu]) == hashes
