"""Cross-CPU: the kernel workload under ``qemu-x86_64 -cpu MODEL`` gives the native digests.

qemu-user runs a re-executed program natively, so each emulated process starts with its
environment already set (``VERITRAIN_KERNELS_ISA=auto``: every CPU picks its widest
build through cpuid). numpy 2.4 no longer starts on Nehalem, so there the torch-free
``rawcheck`` workload checks our own code; SandyBridge (no AVX2: the sse build) and Haswell /
EPYC-Milan (avx2 build) run the full workload with a tiny BertModel step. ~20-40 s per CPU.
Both kernel families: repkern (no FMA) and repfma (GEMM by fma: the FMA instruction on Haswell
and EPYC-Milan, the exact software fma on SandyBridge and Nehalem).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

pytestmark = [
    pytest.mark.emulated,
    pytest.mark.skipif(shutil.which("qemu-x86_64") is None, reason="needs qemu-user"),
]

FULL = {"SandyBridge": "sse", "Haswell": "avx2", "EPYC-Milan": "avx2"}


#: Stock-torch pins the test session may run under (tests/conftest.py re-executes pytest with
#: the default profile); the kernels need none of them, and ATEN_CPU_CAPABILITY=avx2 would not
#: even start on SandyBridge. Both the native and the emulated runs go without them.
STOCK_PINS = ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "ONEDNN_MAX_CPU_ISA", "GLIBC_TUNABLES")


def _run(cpu: str | None, module: str, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in STOCK_PINS}
    env.update(VERITRAIN_KERNELS_ISA="auto", VERITRAIN_KERNELS_THREADS="2", OMP_NUM_THREADS="2")
    prefix = ["qemu-x86_64", "-cpu", cpu] if cpu else []
    cmd = [*prefix, sys.executable, "-X", "faulthandler", "-m", module, *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    err = "\n".join(x for x in proc.stderr.splitlines() if "TCG doesn" not in x)
    assert proc.returncode == 0, f"{cpu}: {err[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module", params=["repkern", "repfma"])
def native(request: pytest.FixtureRequest) -> tuple[str, dict]:
    return request.param, _run(None, "prover.kernels.selfcheck", "--bert", "--family",
                               request.param)


@pytest.mark.parametrize("cpu", sorted(FULL))
def test_emulated_cpu_matches_native(cpu, native):
    family, want = native
    got = _run(cpu, "prover.kernels.selfcheck", "--bert", "--family", family)
    assert got["isa"] == FULL[cpu]
    assert got["kernels"] == want["kernels"]
    assert got["bert"] == want["bert"]


def test_nehalem_raw_kernels_match_native():
    for family in ("repkern", "repfma"):
        want = _run(None, "prover.kernels.rawcheck", "--family", family)
        got = _run("Nehalem", "prover.kernels.rawcheck", "--family", family)
        assert got["isa"] == "sse"
        assert got["digest"] == want["digest"], family
