"""Shared fixtures: a real anvil chain (started on a free port, stopped by PID at the end)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


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
