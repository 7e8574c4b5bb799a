"""Determinism profiles: pinned environment, the guard's message, the re-exec guard."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from prover import profile
from prover.errors import ProfileMismatchError, UnknownProfileError
from prover.spec import parse_spec


def doc() -> dict[str, Any]:
    return json.loads((Path(__file__).with_name("spec_sample.json")).read_text())


def spec(name: str = "stock-avx2-1", threads: int = 1):  # type: ignore[no-untyped-def]
    d = doc()
    d["profile"] = {**d["profile"], "name": name, "threads": threads}
    return parse_spec(d)


def test_stock_profile_pins_every_setting() -> None:
    env = profile.env(spec(threads=2))
    assert env == {
        "ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "AVX2",
        "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA", "OMP_NUM_THREADS": "2",
        "MKL_NUM_THREADS": "2"}
    lines = profile.export_lines(spec(threads=2)).splitlines()
    assert "export ATEN_CPU_CAPABILITY='avx2'" in lines and len(lines) == len(env)


def test_guard_names_the_missing_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in profile.env(spec()).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ATEN_CPU_CAPABILITY")
    with pytest.raises(ProfileMismatchError) as exc:
        profile.ensure(spec())
    assert str(exc.value) == ("determinism profile stock-avx2-1 needs ATEN_CPU_CAPABILITY=avx2, "
                              "this process has ATEN_CPU_CAPABILITY=<unset>")
    assert exc.value.setting == "ATEN_CPU_CAPABILITY"
    assert "veritrain spec env" in exc.value.hint
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    monkeypatch.setenv("MKL_CBWR", "AUTO")
    with pytest.raises(
        ProfileMismatchError, match="needs MKL_CBWR=COMPATIBLE, this process has MKL_CBWR=AUTO"
    ):
        profile.ensure(spec())


def test_setting_variables_after_start_does_not_fool_the_guard(tmp_path: Path) -> None:
    """A process started without the pins cannot pass by exporting them later."""
    import subprocess
    import sys

    (tmp_path / "spec.json").write_bytes(spec().canonical_bytes())
    code = (
        "import os, sys, torch\n"
        "torch.ones(64).exp().sum()  # first kernel dispatched: the ISA is now fixed\n"
        "from prover import profile\n"
        "from prover.spec import load_spec\n"
        f"s = load_spec({str(tmp_path / 'spec.json')!r})\n"
        "os.environ.update(profile.env(s)); profile.apply(s)\n"
        "if torch.backends.cpu.get_cpu_capability() == 'AVX2': print('SKIP'); sys.exit(0)\n"
        "profile.ensure(s)\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in profile.env(spec()) and k != profile.REEXEC_GUARD
    }
    r = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    if r.stdout.strip() == "SKIP":
        pytest.skip("this CPU runs AVX2 kernels by default")
    assert r.returncode != 0
    assert (
        "ProfileMismatchError: determinism profile stock-avx2-1 needs cpu capability=AVX2"
        in r.stderr
    )


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(UnknownProfileError, match="unknown determinism profile 'nope'"):
        profile.env(spec("nope"))


def test_reexec_guard_refuses_a_second_reexec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MKL_CBWR", raising=False)
    monkeypatch.setenv(profile.REEXEC_GUARD, "1")
    with pytest.raises(ProfileMismatchError, match="needs"):
        profile.reexec_if_needed(spec())


def test_kernel_profiles_are_registered_and_stock_ones_need_no_kernels() -> None:
    assert profile.get("repcpu-1").kernels
    assert not profile.get("stock-avx2-1").kernels
    profile.enable_kernels(spec(), object())  # no-op for a stock profile
