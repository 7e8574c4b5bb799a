"""The build: flags, the forbidden-instruction scan, the ISA switch and input checks."""

from __future__ import annotations

import shutil

import pytest
import torch

from prover.kernels import _lib, ops
from prover.kernels.build import COMMON_FLAGS, ISAS, build, forbidden_instructions, library_path
from prover.kernels.errors import KernelInputError, KernelLoadError


def test_flags_forbid_contraction_and_fast_math():
    assert "-ffp-contract=off" in COMMON_FLAGS
    assert not any("fast-math" in f and not f.startswith("-fno-") for f in COMMON_FLAGS)
    assert all("-mfma" not in flags for _, flags in ISAS.values())


@pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump (binutils) not installed")
def test_libraries_have_no_fma_or_reciprocal_estimates():
    for lib in build(quiet=True):
        assert forbidden_instructions(lib) == [], lib


def test_rebuild_is_a_noop_when_current():
    before = {isa: library_path(isa).stat().st_mtime_ns for isa in ISAS}
    build(quiet=True)
    assert before == {isa: library_path(isa).stat().st_mtime_ns for isa in ISAS}


def test_unknown_isa_is_refused(monkeypatch):
    monkeypatch.setenv(_lib.ENV_ISA, "neon")
    with pytest.raises(KernelLoadError, match="neon"):
        ops.gemm(torch.ones(1, 1), torch.ones(1, 1))


def test_wrong_dtype_and_shape_are_refused():
    with pytest.raises(KernelInputError, match="float32"):
        ops.gemm(torch.ones(2, 2, dtype=torch.float64), torch.ones(2, 2))
    with pytest.raises(KernelInputError, match="cannot multiply"):
        ops.gemm(torch.ones(2, 3), torch.ones(2, 3))
