"""Fixtures of the tests that play referee games on the real stack (tests/integration/referee and
the explorer's referee test import them): the tiny task published once under the v2 schemes
(tree-v2 states, keccak-v2 schedule), the real deployment once per module, and a bot world."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.store import publish_tiny


@pytest.fixture(scope="session")
def published(store_handle: Any) -> Any:
    """The tiny task as a v2 task (2 segments of 8)."""
    return publish_tiny(store_handle.url, seed=7, totalSteps=16, state_hash="tree-v2",
                        schedule="keccak-v2")


@pytest.fixture(scope="module")
def referee_addresses(anvil_node: Any) -> Any:
    from ledger.chain import Chain
    from tests.support.referee import deploy_referee

    return deploy_referee(Chain(anvil_node.url, anvil_node.accounts[0]))


@pytest.fixture
def world(anvil: Any, referee_addresses: Any, store_handle: Any, published: Any,
          shared_cache: Path, tmp_path: Path) -> Iterator[Any]:
    from store.client import Client
    from tests.support.bots import BotWorld, bot_cache
    from tests.support.chain import accounts

    with Client(store_handle.url) as client:
        yield BotWorld(anvil, accounts(anvil, referee_addresses), client, published,
                       bot_cache(shared_cache, tmp_path), tmp_path)
