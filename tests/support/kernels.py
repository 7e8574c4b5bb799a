"""What the kernel tests share: the builds this CPU runs, the (build, threads) settings, and
the bits of a tensor to compare runs bit for bit."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from prover.kernels import _lib

#: The kernel builds, weakest first.
LEVELS = ["sse", "avx2", "avx512"]
#: The builds this CPU can run.
RUNNABLE = LEVELS[: LEVELS.index(_lib.cpu_level()) + 1]
#: Every (build, thread count) a result must agree across.
SETTINGS = [(isa, t) for isa in RUNNABLE for t in (1, 2, 3)]


def bits(t: torch.Tensor) -> bytes:
    """The tensor's float32 bytes: equal bits, equal bytes."""
    return t.detach().contiguous().numpy().tobytes()


def across(force: Callable[[str, int], None],
           fn: Callable[[], Iterable[torch.Tensor]]) -> list[bytes]:
    """Run ``fn`` under every (build, threads) setting (``force`` picks one); each run's bits."""
    runs = []
    for isa, threads in SETTINGS:
        force(isa, threads)
        runs.append(b"".join(bits(t) for t in fn()))
    return runs
