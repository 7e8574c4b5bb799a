"""Errors of the reproducible kernels (leaves of :class:`veritrain.errors.ProverError`)."""

from __future__ import annotations

from veritrain.errors import ProverError


class KernelError(ProverError):
    """Base of errors from the reproducible CPU kernels."""


class KernelBuildError(KernelError):
    """The C compiler failed or produced a library with forbidden instructions."""

    hint = ("install a C compiler (Debian: apt-get install gcc) and run `python -m "
            "prover.kernels.build`")

    def __init__(self, message: str, *, isa: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.isa = isa


class KernelLoadError(KernelError):
    """No usable kernel library for the requested instruction set."""

    hint = "run `python -m prover.kernels.build`, or set VERITRAIN_KERNELS_ISA=auto|sse|avx2|avx512"

    def __init__(self, message: str, *, isa: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.isa = isa


class KernelInputError(KernelError):
    """A tensor handed to a kernel has a dtype, device or shape the kernels do not take."""

    hint = "the reproducible kernels take float32 CPU tensors; cast before calling"

    def __init__(self, message: str, *, name: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.name = name
