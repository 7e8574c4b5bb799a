"""The two kernel families compiled from ``repkern.c`` (no torch import: build.py uses it).

``REPCPU`` (profiles repcpu-1, repcpu-2): every GEMM step is a rounded multiply then a rounded
add; no fused multiply-add anywhere. ``REPFMA`` (profile repfma-1): the GEMM step is one IEEE
fused multiply-add (``acc = fma(a[k], b[k], acc)``), sums go through the 16-lane blocked-sum
kernel; everything else is the same C. A family's bits never depend on the SIMD build or the
thread count; the two families differ from each other by design (docs/kernels.md).
"""

from __future__ import annotations

from enum import StrEnum


class Family(StrEnum):
    """A kernel family: the name is also the library prefix (``lib<name>_<isa>.so``)."""

    REPCPU = "repkern"
    REPFMA = "repfma"
