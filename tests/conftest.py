"""Shared fixtures: a real anvil chain (started on a free port, stopped by PID at the end)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def pytest_configure(config: pytest.Config) -> None:
    """Before any test module (and torch) is imported: make sure we run under the profile."""
    _run_under_default_profile(config)


def _run_under_default_profile(config: pytest.Config) -> None:
    """Re-execute pytest under the default determinism profile (1 thread) unless it already is.

    The profile's variables (ISA pins, MKL CBWR, glibc tunables, threads) are read when the
    process and its libraries start, so in-process training in tests (nodes, challengers, jurors)
    needs them set before Python starts, exactly like the CLI's own re-exec.
    """
    from prover.profile import REEXEC_GUARD, env_for

    # The default profile (repcpu-2) pins nothing; the stock profiles that tests also train under
    # in-process need their pins from process start, so the test process runs under stock-avx2-1's.
    wanted = env_for(os.environ.get("VERITRAIN_TEST_PROFILE", "stock-avx2-1"), 1)
    if (all(os.environ.get(k) == v for k, v in wanted.items())
            or os.environ.get(REEXEC_GUARD) == "pytest"):
        return
    new_env = {**os.environ, **wanted, REEXEC_GUARD: "pytest"}
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:  # give the real stdout/stderr back to the process we become
        capture.suspend_global_capture(in_=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "pytest", *sys.argv[1:]], new_env)



@pytest.fixture(scope="session")
def anvil_node() -> Iterator[object]:
    """One anvil for the whole session; tests isolate themselves with the ``anvil`` fixture."""
    from deploy.anvil import start_anvil

    node = start_anvil()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def anvil(anvil_node: object) -> Iterator[object]:
    """The session anvil, rolled back to a snapshot after the test (isolation without restarts)."""
    snap = anvil_node.rpc("evm_snapshot")  # type: ignore[attr-defined]
    try:
        yield anvil_node
    finally:
        anvil_node.rpc("evm_revert", snap)  # type: ignore[attr-defined]


@pytest.fixture
def fresh_anvil() -> Iterator[object]:
    """A private anvil for tests that restart, reorg or kill the chain."""
    from deploy.anvil import start_anvil

    node = start_anvil()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def deployed_addresses(anvil_node: object) -> object:
    """The veritrain contracts deployed once per session on the session anvil (small windows).

    Tests that change chain state use the ``anvil`` fixture too, so their changes are rolled back.
    """
    from deploy.deployer import DeployConfig, JuryConfig, deploy_all
    from ledger.chain import Chain

    chain = Chain(anvil_node.url, anvil_node.accounts[0])  # type: ignore[attr-defined]
    return deploy_all(chain, DeployConfig(jury=JuryConfig(commit_window=10, reveal_window=10)))


@pytest.fixture
def protocol(anvil: object, deployed_addresses: object) -> object:
    """A factory: ``protocol(i)`` is the Protocol as anvil dev account i, funded with 100k VERI."""
    from tests.support.chain import accounts

    return accounts(anvil, deployed_addresses)
