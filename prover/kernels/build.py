"""Compile the reproducible kernels: one shared library per family and SIMD width, into
build/kernels/ (``librepkern_<isa>.so`` for the repcpu family, ``librepfma_<isa>.so`` for repfma).

Run as ``python -m prover.kernels.build [--quiet] [--force]``; ``scripts/bootstrap`` calls it.
Every build uses ``-O3 -ffp-contract=off`` (the compiler fuses no multiply-add of its own) and
never ``-ffast-math``; the libraries are then disassembled and scanned: reciprocal/rsqrt
estimates are refused everywhere, FMA everywhere except in the repfma avx2/avx512 builds' GEMM,
blocked-sum and fma-test functions, where the source asks for it by intrinsic.
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
from prover.kernels.family import Family

SOURCE = Path(__file__).with_name("repkern.c")
#: The parts SOURCE includes (one translation unit); all of them go into the stamp.
PARTS = sorted(SOURCE.parent.glob("repkern_*.h"))
ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = ROOT / "build" / "kernels"
COMMON_FLAGS = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno", "-fPIC",
                "-shared", "-fopenmp", "-std=c11", "-D_GNU_SOURCE"]
#: ISA name -> (vector width in floats, target flags). No -mfma anywhere.
ISAS: dict[str, tuple[int, list[str]]] = {
    "sse": (4, ["-march=x86-64", "-mtune=generic"]),
    "avx2": (8, ["-march=x86-64", "-mavx2", "-mno-fma", "-mtune=haswell"]),
    "avx512": (16, ["-march=x86-64", "-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq",
                    "-mno-fma", "-mprefer-vector-width=512", "-mtune=skylake-avx512"]),
}
#: The repfma family: the same widths; avx2/avx512 with the FMA instruction (every AVX2 and
#: AVX-512 CPU has it), sse without (its GEMM computes fma exactly in software).
FMA_ISAS: dict[str, tuple[int, list[str]]] = {
    "sse": ISAS["sse"],
    "avx2": (8, ["-march=x86-64", "-mavx2", "-mfma", "-mtune=haswell"]),
    "avx512": (16, ["-march=x86-64", "-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq",
                    "-mfma", "-mprefer-vector-width=512", "-mtune=skylake-avx512"]),
}
#: Family -> (ISA table, extra defines).
FAMILIES: dict[Family, tuple[dict[str, tuple[int, list[str]]], list[str]]] = {
    Family.REPCPU: (ISAS, []),
    Family.REPFMA: (FMA_ISAS, ["-DRK_FMA=1"]),
}
#: Mnemonic prefixes of fused multiply-adds (float and double, all forms).
FMA_MNEMONICS = ("vfmadd", "vfmsub", "vfnmadd", "vfnmsub")
#: Mnemonic prefixes that must never appear: fused multiply-add and reciprocal estimates.
FORBIDDEN = (*FMA_MNEMONICS, "rcpps", "rcpss", "rsqrtps", "rsqrtss", "vrcp", "vrsqrt")
#: Functions of a repfma avx2/avx512 build where FMA is asked for (GCC may suffix clones).
FMA_FUNCTIONS = ("rk_gemm_tiles", "rk_micro", "rk_micro_rows", "rk_gemm_nan", "rk_gemm_row_units",
                 "rk_row_block", "rk_fsum_blocks", "rk_block_sum", "rk_block_sum_nan",
                 "rk_fma_buf")


def library_path(isa: str, family: Family = Family.REPCPU) -> Path:
    """Where the library for ``isa`` of ``family`` lives."""
    return BUILD_DIR / f"lib{family.value}_{isa}.so"


def fma_allowed(family: Family, isa: str) -> bool:
    """Whether the build of ``family`` for ``isa`` may contain FMA instructions."""
    return family is Family.REPFMA and FAMILIES[family][0][isa] != ISAS["sse"]


def _compiler() -> str:
    for cand in ("cc", "gcc", "clang"):
        found = shutil.which(cand)
        if found:
            return found
    raise KernelBuildError("no C compiler (cc, gcc or clang) on PATH")


def forbidden_instructions(lib: Path, allow_fma: bool = False) -> list[str]:
    """Lines of ``objdump -d lib`` that use a forbidden instruction (empty without objdump).

    With ``allow_fma``, FMA is accepted inside :data:`FMA_FUNCTIONS` only: a fused
    multiply-add anywhere else would be one the compiler made up, which the profile forbids.
    """
    objdump = shutil.which("objdump")
    if objdump is None:
        return []
    out = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(lib)], capture_output=True,
                         text=True, check=True).stdout
    bad, func = [], ""
    for line in out.splitlines():
        if line.endswith(">:"):
            func = line[line.index("<") + 1:-2]
            continue
        parts = line.split("\t")
        if len(parts) < 2 or not parts[1].strip().startswith(FORBIDDEN):
            continue
        if allow_fma and parts[1].strip().startswith(FMA_MNEMONICS) \
                and func.split(".")[0] in FMA_FUNCTIONS:
            continue
        bad.append(f"{func}: {line.strip()}")
    return bad


def build(force: bool = False, quiet: bool = False) -> list[Path]:
    """Build every family's and ISA's library unless its stamp says it is current."""
    cc = _compiler()
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    source = b"".join(p.read_bytes() for p in (SOURCE, *PARTS))
    built = []
    for family, (isas, defines) in FAMILIES.items():
        for isa, (width, flags) in isas.items():
            lib = library_path(isa, family)
            cmd = [cc, *COMMON_FLAGS, *flags, f"-DRK_VW={width}", *defines, str(SOURCE), "-o",
                   str(lib), "-lm"]
            digest = hashlib.sha256(source + " ".join(cmd[1:]).encode()).hexdigest()
            stamp = lib.with_suffix(".stamp")
            if not force and lib.exists() and stamp.exists() and stamp.read_text() == digest:
                built.append(lib)
                continue
            if not quiet:
                print(f"[kernels] {' '.join(cmd)}", file=sys.stderr)
            _compile(cmd, lib, family, isa)
            stamp.write_text(digest)
            built.append(lib)
    return built


def _compile(cmd: list[str], lib: Path, family: Family, isa: str) -> None:
    tmp = lib.with_suffix(".so.tmp")
    proc = subprocess.run([*cmd[:-3], "-o", str(tmp), "-lm"], capture_output=True, text=True)
    name = f"{family.value} {isa}"
    if proc.returncode != 0:
        raise KernelBuildError(f"compiling the {name} kernels failed:\n{proc.stderr.strip()}",
                               isa=isa)
    bad = forbidden_instructions(tmp, allow_fma=fma_allowed(family, isa))
    if bad:
        tmp.unlink()
        raise KernelBuildError(f"the {name} kernels contain forbidden instructions: {bad[:3]}",
                               isa=isa)
    tmp.replace(lib)


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
