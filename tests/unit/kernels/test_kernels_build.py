"""The build: flags, the forbidden-instruction scan, the ISA switch and input checks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from prover.kernels import _lib, ops
from prover.kernels.build import (
    COMMON_FLAGS,
    FAMILIES,
    FMA_FUNCTIONS,
    ISAS,
    build,
    fma_allowed,
    forbidden_instructions,
    library_path,
)
from prover.kernels.errors import KernelInputError, KernelLoadError
from prover.kernels.family import Family

NEEDS_OBJDUMP = pytest.mark.skipif(shutil.which("objdump") is None,
                                   reason="objdump (binutils) not installed")


def test_flags_forbid_contraction_and_fast_math():
    assert "-ffp-contract=off" in COMMON_FLAGS
    assert not any("fast-math" in f and not f.startswith("-fno-") for f in COMMON_FLAGS)
    assert all("-mfma" not in flags for _, flags in ISAS.values())


@NEEDS_OBJDUMP
def test_libraries_have_no_fma_or_reciprocal_estimates():
    build(quiet=True)
    for isa in ISAS:
        assert forbidden_instructions(library_path(isa, Family.REPCPU)) == [], isa
    assert forbidden_instructions(library_path("sse", Family.REPFMA)) == []  # software fma


@NEEDS_OBJDUMP
def test_repfma_libraries_use_fma_only_where_the_source_asks_succeeds():
    build(quiet=True)
    for isa in ("avx2", "avx512"):
        lib = library_path(isa, Family.REPFMA)
        assert fma_allowed(Family.REPFMA, isa)
        assert forbidden_instructions(lib, allow_fma=True) == [], isa
        fused = forbidden_instructions(lib)  # without the allowance: every FMA it contains
        assert fused, f"the {isa} repfma GEMM issues no FMA"
        assert all(line.split(":")[0].split(".")[0] in FMA_FUNCTIONS for line in fused)
    assert not fma_allowed(Family.REPFMA, "sse") and not fma_allowed(Family.REPCPU, "avx2")


@NEEDS_OBJDUMP
def test_scan_refuses_an_fma_the_compiler_made_up(tmp_path: Path):
    src = tmp_path / "contract.c"
    src.write_text("float axpb(float a, float x, float b) { return a * x + b; }\n")
    lib = tmp_path / "libcontract.so"
    subprocess.run(["cc", "-O2", "-mfma", "-ffp-contract=fast", "-shared", "-fPIC", str(src),
                    "-o", str(lib)], check=True)
    bad = forbidden_instructions(lib, allow_fma=True)
    assert bad and bad[0].startswith("axpb:"), bad


def test_rebuild_is_a_noop_when_current():
    libs = [library_path(isa, fam) for fam, (isas, _) in FAMILIES.items() for isa in isas]
    before = [lib.stat().st_mtime_ns for lib in libs]
    build(quiet=True)
    assert before == [lib.stat().st_mtime_ns for lib in libs]


def test_unknown_isa_is_refused(monkeypatch):
    monkeypatch.setenv(_lib.ENV_ISA, "neon")
    with pytest.raises(KernelLoadError, match="neon"):
        ops.gemm(torch.ones(1, 1), torch.ones(1, 1))


def test_wrong_dtype_and_shape_are_refused():
    with pytest.raises(KernelInputError, match="float32"):
        ops.gemm(torch.ones(2, 2, dtype=torch.float64), torch.ones(2, 2))
    with pytest.raises(KernelInputError, match="cannot multiply"):
        ops.gemm(torch.ones(2, 3), torch.ones(2, 3))
