"""Errors of the reproducible kernels (leaves of :class:`veritrain.errors.ProverError`)."""

from __future__ import annotations

from veritrain.errors import ProverError, leaf


class KernelError(ProverError):
    """Base of errors from the reproducible CPU kernels."""


@leaf
class KernelBuildError(KernelError):
    """The C compiler failed or produced a library with forbidden instructions."""

    hint = ("install a C compiler (Debian: apt-get install gcc) and run `python -m "
            "prover.kernels.build`")
    isa: str | None = None


@leaf
class KernelLoadError(KernelError):
    """No usable kernel library for the requested instruction set."""

    hint = "run `python -m prover.kernels.build`, or set VERITRAIN_KERNELS_ISA=auto|sse|avx2|avx512"
    isa: str


@leaf
class KernelInputError(KernelError):
    """A tensor handed to a kernel has a dtype, device or shape the kernels do not take."""

    hint = "the reproducible kernels take float32 CPU tensors; cast before calling"
    name: str | None = None
