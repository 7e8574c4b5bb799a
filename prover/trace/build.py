"""Compile the tensor-commitment library (``vtcommit.c``) into build/trace/libvtcommit.so.

Run as ``python -m prover.trace.build [--quiet] [--force]``; ``scripts/bootstrap`` calls it and
:mod:`prover.trace.fastcommit` calls :func:`build` on first use when the library is missing or
stale. A stamp holding the hash of the source and the flags makes a rerun a no-op. The source
carries its own SHA-256 (SHA-NI chosen at run time by cpuid, portable C otherwise), so the
build needs nothing but a C compiler: no OpenSSL headers.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

from prover.kernels.build import _compiler
from prover.trace.commit import TraceError

SOURCE = Path(__file__).with_name("vtcommit.c")
ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "build" / "trace" / "libvtcommit.so"
FLAGS = ["-O2", "-fPIC", "-shared", "-std=c11", "-march=x86-64", "-mtune=generic"]


def _stamp() -> tuple[list[str], str]:
    """The compile command (without the output path) and the digest its stamp must hold."""
    cmd = [_compiler(), *FLAGS, str(SOURCE), "-o"]
    return cmd, hashlib.sha256(SOURCE.read_bytes() + " ".join(cmd[1:]).encode()).hexdigest()


def stale() -> bool:
    """Whether :func:`build` would compile (library missing or built from other source)."""
    stamp = LIBRARY.with_suffix(".stamp")
    return not (LIBRARY.exists() and stamp.exists() and stamp.read_text() == _stamp()[1])


def build(force: bool = False, quiet: bool = False) -> Path:
    """Build the library unless its stamp says it is current; returns its path."""
    if not force and not stale():
        return LIBRARY
    cmd, digest = _stamp()
    LIBRARY.parent.mkdir(parents=True, exist_ok=True)
    # a per-build temporary name: two processes building at once never write one file
    tmp = LIBRARY.with_suffix(f".so.{os.getpid()}.tmp")
    if not quiet:
        print(f"[trace] {' '.join(cmd)} {LIBRARY}", file=sys.stderr)
    proc = subprocess.run([*cmd, str(tmp)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise TraceError(f"compiling {SOURCE.name} failed:\n{proc.stderr.strip()}",
                         hint="install a C compiler (scripts/bootstrap needs one anyway)")
    tmp.replace(LIBRARY)
    LIBRARY.with_suffix(".stamp").write_text(digest)
    return LIBRARY


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quiet", action="store_true", help="print nothing when all is current")
    ap.add_argument("--force", action="store_true", help="rebuild even when the stamp matches")
    opts = ap.parse_args(argv)
    try:
        path = build(force=opts.force, quiet=opts.quiet)
    except TraceError as exc:
        sys.stderr.write(f"error: {exc}\nhint: {exc.hint}\n")
        return 1
    print("" if opts.quiet else path, end="" if opts.quiet else "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
