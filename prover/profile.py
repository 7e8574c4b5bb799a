"""Determinism profiles: what a spec's ``profile.name`` pins, and the guard that enforces it.

Measured on stock torch 2.13 CPU (AMD EPYC with AVX-512 vs qemu-emulated Haswell/EPYC-Milan):
state hashes are bit-exact across CPUs only with all pins of ``stock-avx2-1`` in place. The
variables are read when the process and its libraries start, so they cannot be set from inside
a running trainer: the CLI re-executes itself under :func:`env` (see :func:`reexec_if_needed`),
and library code calls :func:`ensure` and refuses to train under anything else.

Code-side rules every profile assumes (kept by prover.train): float32; fused AdamW; no MKL
vector-math sqrt/log2/log10/tan/atan/asin/acos on float tensors (``1/rsqrt`` where a root is
needed); schedules in exact arithmetic; every RNG derived from the spec seed.

``repcpu-2`` needs none of the pins: every reduction of its KD step (layers, attention, losses,
clipping, AdamW) runs on prover.kernels' fixed-order kernels, so its ``env`` is empty and any
thread count and ATen capability give the same bits (docs/kernels.md). ``repfma-1`` (the
default) is ``repcpu-2`` on the repfma kernel family: GEMM steps are IEEE fused multiply-adds
(hardware FMA, or the exact software fma on CPUs without it) and sums use the blocked-sum kernel.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prover.errors import KernelsUnavailableError, ProfileMismatchError, UnknownProfileError
from prover.kernels.family import Family

if TYPE_CHECKING:
    from prover.spec import TaskSpec

#: Set in the environment of a re-executed CLI, so a still-mismatched child fails instead of
#: looping.
REEXEC_GUARD = "VERITRAIN_PROFILE_REEXEC"


@dataclass(frozen=True)
class Profile:
    """One named determinism profile."""

    #: Name used in specs.
    name: str
    #: Environment pinned at process start (thread variables are added from the spec).
    env: Mapping[str, str]
    #: torch.backends.cpu.get_cpu_capability() that must be in effect ("": any).
    cpu_capability: str
    #: /proc/cpuinfo flags the host CPU must have.
    cpu_flags: tuple[str, ...]
    #: Route linear layers and attention through prover.kernels' fixed-order kernels.
    kernels: bool = False
    #: One line for docs and `spec env`.
    description: str = ""
    #: Extra variables the profile clears (must be unset).
    unset: tuple[str, ...] = field(default_factory=tuple)
    #: Losses, gradient clipping and AdamW through prover.kernels.training too (no stock
    #: reductions).
    fixed_train_ops: bool = False
    #: The spec's thread count must be in effect (OMP/MKL variables and torch threads).
    pins_threads: bool = True
    #: Which prover.kernels family the kernels run (for profiles with ``kernels``).
    kernel_family: Family = Family.REPCPU


_STOCK_AVX2 = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "COMPATIBLE",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA",
}

PROFILES: dict[str, Profile] = {}


def register(profile: Profile) -> Profile:
    """Add a profile to the registry (later issues add kernel-based ones)."""
    PROFILES[profile.name] = profile
    return profile


register(Profile(
    name="stock-avx2-1", env=_STOCK_AVX2, cpu_capability="AVX2", cpu_flags=("avx2", "fma"),
    description="stock torch CPU kernels pinned to AVX2, MKL CBWR=COMPATIBLE, oneDNN AVX2, "
                "glibc libm without FMA variants, fixed threads"))
register(Profile(
    name="stock-sse-1",
    env={"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE,STRICT",
         "ONEDNN_MAX_CPU_ISA": "SSE41", "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA"},
    cpu_capability="DEFAULT", cpu_flags=("sse4_1",),
    description="as stock-avx2-1 but SSE-only kernels: runs on any x86-64, ~15% slower"))
register(Profile(
    name="repcpu-1", env=_STOCK_AVX2, cpu_capability="AVX2", cpu_flags=("avx2", "fma"),
    kernels=True,
    description="stock-avx2-1 pins plus prover.kernels' fixed-order linear/attention kernels"))

register(Profile(
    name="repcpu-2", env={}, cpu_capability="", cpu_flags=(), kernels=True, fixed_train_ops=True,
    pins_threads=False,
    description="prover.kernels for every reduction of the KD step (layers, attention, losses, "
                "clipping, AdamW): no environment pins, any thread count, any x86-64 CPU"))

register(Profile(
    name="repfma-1", env={}, cpu_capability="", cpu_flags=(), kernels=True, fixed_train_ops=True,
    pins_threads=False, kernel_family=Family.REPFMA,
    description="repcpu-2 on the repfma kernels: GEMM by IEEE fused multiply-add in a fixed order "
                "(hardware FMA; exact software fma on CPUs without it), blocked-sum kernel for "
                "sums and the clip norm: no pins, any thread count, any x86-64 CPU"))

DEFAULT_PROFILE = "repfma-1"


def get(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownProfileError(f"unknown determinism profile {name!r}",
                                  hint=f"known profiles: {', '.join(sorted(PROFILES))}",
                                  profile=name) from None


def env(spec: TaskSpec) -> dict[str, str]:
    """The environment variables the spec's profile pins (thread counts from the spec)."""
    return env_for(spec.profile.name, spec.profile.threads)


def env_for(name: str, threads_count: int) -> dict[str, str]:
    """The environment variables profile ``name`` pins at ``threads_count`` threads."""
    prof = get(name)
    threads = str(threads_count)
    out = dict(prof.env)
    if prof.pins_threads:
        out.update({"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads})
    return dict(sorted(out.items()))


def env_mismatches(spec: TaskSpec,
                   environ: Mapping[str, str] | None = None) -> list[tuple[str, str, str | None]]:
    """(variable, wanted, actual) for every pinned variable the environment gets wrong."""
    environ = os.environ if environ is None else environ
    return [(k, v, environ.get(k)) for k, v in env(spec).items() if environ.get(k) != v]


def export_lines(spec: TaskSpec) -> str:
    """``export K='V'`` lines for shells, service files and emulator runs."""
    return "\n".join(f"export {k}='{v}'" for k, v in env(spec).items())


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _mismatch(setting: str, wanted: object, actual: object, profile: str) -> ProfileMismatchError:
    return ProfileMismatchError(
        f"determinism profile {profile} needs {setting}={wanted}, this process has "
        f"{setting}={'<unset>' if actual is None else actual}",
        setting=setting, wanted=wanted, actual=actual, profile=profile)


def apply(spec: TaskSpec) -> None:
    """Settings that can change at run time: torch threads and default dtype."""
    import torch

    torch.set_num_threads(spec.profile.threads)
    torch.set_default_dtype(torch.float32)


def ensure(spec: TaskSpec) -> None:
    """Raise ProfileMismatchError naming the first setting where this process differs."""
    prof = get(spec.profile.name)
    for key, wanted, actual in env_mismatches(spec):
        raise _mismatch(key, wanted, actual, prof.name)
    import torch

    if torch.__version__ != spec.profile.torch:
        raise _mismatch("torch", spec.profile.torch, torch.__version__, prof.name)
    cap = torch.backends.cpu.get_cpu_capability()
    if prof.cpu_capability and cap != prof.cpu_capability:
        raise _mismatch("cpu capability", prof.cpu_capability, cap, prof.name)
    missing = [f for f in prof.cpu_flags if f not in _cpu_flags()]
    if missing:
        raise _mismatch("CPU flags", "+".join(prof.cpu_flags),
                        "missing " + ",".join(missing), prof.name)
    if prof.pins_threads and torch.get_num_threads() != spec.profile.threads:
        raise _mismatch("torch threads", spec.profile.threads, torch.get_num_threads(), prof.name)
    if torch.get_default_dtype() != torch.float32:
        raise _mismatch("default dtype", "float32", torch.get_default_dtype(), prof.name)


def reexec_argv() -> list[str]:
    return [sys.executable, "-m", "veritrain.cli.main", *sys.argv[1:]]


def reexec_if_needed(spec: TaskSpec, argv: list[str] | None = None) -> None:
    """Re-execute this process under the profile's environment unless it already runs under it.

    Guarded: a child that still sees a mismatch (something overrides the variables) raises
    ProfileMismatchError instead of re-executing again.
    """
    bad = env_mismatches(spec)
    if not bad:
        return
    if os.environ.get(REEXEC_GUARD) == "1":
        key, wanted, actual = bad[0]
        raise _mismatch(key, wanted, actual, spec.profile.name)
    new_env = dict(os.environ)
    new_env.update(env(spec))
    new_env[REEXEC_GUARD] = "1"
    args = argv or reexec_argv()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(args[0], args, new_env)


def enable_kernels(spec: TaskSpec, *models: object) -> None:
    """For profiles with ``kernels``: route the models through prover.kernels (lazy import)
    and select the profile's kernel family."""
    if not get(spec.profile.name).kernels:
        return
    try:
        from prover.kernels import enable
    except ImportError as exc:
        raise KernelsUnavailableError(
            f"profile {spec.profile.name} needs prover.kernels, which cannot be imported: {exc}",
            hint="build the fixed-order kernels or use profile stock-avx2-1") from None
    select_kernels(spec)
    for m in models:
        enable(m)


def select_kernels(spec: TaskSpec) -> None:
    """Point prover.kernels at the spec's kernel family (cheap; the Trainer calls it per step
    so that trainers of different profiles in one process never mix families)."""
    prof = get(spec.profile.name)
    if prof.kernels:
        from prover.kernels._lib import use_family

        use_family(prof.kernel_family)
