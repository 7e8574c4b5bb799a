"""Compile the reproducible kernels: one shared library per SIMD width, into build/kernels/.

Run as ``python -m prover.kernels.build [--quiet] [--force]``; ``scripts/bootstrap`` calls it.
Every build uses ``-O3 -ffp-contract=off`` (no FMA contraction) and never ``-ffast-math``; the
libraries are then scanned for instructions the profile forbids (FMA, rcp/rsqrt estimates).
A stamp holding the hash of the source and the flags makes a rerun a no-op.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from prover.kernels.errors import KernelBuildError

SOURCE = Path(__file__).with_name("repkern.c")
ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = ROOT / "build" / "kernels"
COMMON_FLAGS = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno", "-fPIC",
                "-shared", "-pthread", "-std=c11", "-D_GNU_SOURCE"]
#: ISA name -> (vector width in floats, target flags). No -mfma anywhere.
ISAS: dict[str, tuple[int, list[str]]] = {
    "sse": (4, ["-march=x86-64", "-mtune=generic"]),
    "avx2": (8, ["-march=x86-64", "-mavx2", "-mno-fma", "-mtune=haswell"]),
    "avx512": (16, ["-march=x86-64", "-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq",
                    "-mno-fma", "-mprefer-vector-width=512", "-mtune=skylake-avx512"]),
}
#: Mnemonic prefixes that must never appear: fused multiply-add and reciprocal estimates.
FORBIDDEN = ("vfmadd", "vfmsub", "vfnmadd", "vfnmsub", "rcpps", "rcpss", "rsqrtps", "rsqrtss",
             "vrcp", "vrsqrt")


def library_path(isa: str) -> Path:
    """Where the library for ``isa`` lives."""
    return BUILD_DIR / f"librepkern_{isa}.so"


def _compiler() -> str:
    for cand in ("cc", "gcc", "clang"):
        found = shutil.which(cand)
        if found:
            return found
    raise KernelBuildError("no C compiler (cc, gcc or clang) on PATH")


def forbidden_instructions(lib: Path) -> list[str]:
    """Lines of ``objdump -d lib`` that use a forbidden instruction (empty without objdump)."""
    objdump = shutil.which("objdump")
    if objdump is None:
        return []
    out = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(lib)], capture_output=True,
                         text=True, check=True).stdout
    bad = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[1].strip().startswith(FORBIDDEN):
            bad.append(line.strip())
    return bad


def build(force: bool = False, quiet: bool = False) -> list[Path]:
    """Build every ISA's library unless its stamp says it is current; returns the paths."""
    cc = _compiler()
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    source = SOURCE.read_bytes()
    built = []
    for isa, (width, flags) in ISAS.items():
        lib = library_path(isa)
        cmd = [cc, *COMMON_FLAGS, *flags, f"-DRK_VW={width}", str(SOURCE), "-o", str(lib), "-lm"]
        digest = hashlib.sha256(source + " ".join(cmd[1:]).encode()).hexdigest()
        stamp = lib.with_suffix(".stamp")
        if not force and lib.exists() and stamp.exists() and stamp.read_text() == digest:
            built.append(lib)
            continue
        if not quiet:
            print(f"[kernels] {' '.join(cmd)}", file=sys.stderr)
        tmp = lib.with_suffix(".so.tmp")
        proc = subprocess.run([*cmd[:-3], "-o", str(tmp), "-lm"], capture_output=True, text=True)
        if proc.returncode != 0:
            raise KernelBuildError(f"compiling the {isa} kernels failed:\n{proc.stderr.strip()}", isa=isa)
        bad = forbidden_instructions(tmp)
        if bad:
            tmp.unlink()
            raise KernelBuildError(f"the {isa} kernels contain forbidden instructions: {bad[:3]}", isa=isa)
        tmp.replace(lib)
        stamp.write_text(digest)
        built.append(lib)
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quiet", action="store_true", help="print nothing when all is current")
    parser.add_argument("--force", action="store_true", help="rebuild even when the stamps match")
    args = parser.parse_args(argv)
    try:
        libs = build(force=args.force, quiet=args.quiet)
    except KernelBuildError as exc:
        print(f"error: {exc}\nhint: {exc.hint}", file=sys.stderr)
        return 1
    if not args.quiet:
        for lib in libs:
            print(lib)
    return 0


if __name__ == "__main__":
    sys.exit(main())
