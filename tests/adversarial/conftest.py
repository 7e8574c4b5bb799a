"""Fixtures of the adversarial suite (helpers live in tests/support/cast.py).

The cast is funded once per module on the session anvil and snapshotted; each test runs on a
fresh revert of that snapshot (what the ``anvil`` fixture does, minus re-funding per test).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.cast import Cast, make_cast
from tests.support.chain import accounts, from_snapshot, snapshot_base
from tests.support.store import publish_tiny, serving


@pytest.fixture(scope="module")
def world_base(anvil_node: Any, deployed_addresses: Any) -> Iterator[tuple[Cast, list[str]]]:
    yield from snapshot_base(
        anvil_node, lambda: make_cast(anvil_node, accounts(anvil_node, deployed_addresses))
    )


@pytest.fixture
def world(anvil_node: Any, world_base: tuple[Cast, list[str]]) -> Iterator[Cast]:
    yield from from_snapshot(anvil_node, world_base)


@pytest.fixture(scope="module")
def store_handle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An embedded store over HTTP per module (the class tests publish the tiny spec on it)."""
    yield from serving(tmp_path_factory.mktemp("advstore") / "repo")


@pytest.fixture(scope="module")
def store_url(store_handle: Any) -> str:
    return str(store_handle.url)


@pytest.fixture(scope="module")
def published(store_url: str) -> Any:
    return publish_tiny(store_url, seed=17, totalSteps=16)
