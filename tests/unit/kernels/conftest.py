"""Kernel tests: the libraries are built once, and ``force`` picks a build and thread count."""

from __future__ import annotations

import pytest

from prover.kernels import _lib
from prover.kernels.build import build
from prover.kernels.family import Family

build(quiet=True)


@pytest.fixture
def force(monkeypatch: pytest.MonkeyPatch):
    """force(isa, threads): make the next kernel calls use that build and thread count."""

    def _force(isa: str, threads: int) -> None:
        monkeypatch.setenv(_lib.ENV_ISA, isa)
        monkeypatch.setenv(_lib.ENV_THREADS, str(threads))

    return _force


@pytest.fixture(params=list(Family), ids=lambda f: f.value)
def each_family(request: pytest.FixtureRequest):
    """Run the test once per kernel family (repkern: no FMA; repfma: GEMM by fma)."""
    _lib.use_family(request.param)
    yield request.param
    _lib.use_family(Family.REPCPU)
