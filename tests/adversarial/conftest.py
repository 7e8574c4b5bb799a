"""Fixtures of the adversarial suite (helpers live in tests/adversarial/world.py).

The cast is funded once per module on the session anvil and snapshotted; each test runs on a
fresh revert of that snapshot (what the ``anvil`` fixture does, minus re-funding per test).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.adversarial.world import World, make_world


def _factory(anvil_node: Any, addresses: Any) -> Any:
    """Like tests/conftest.py's ``protocol``: ``make(i)`` is account i with 100k VERI."""
    from ledger.chain import Chain
    from ledger.protocol import Protocol

    deployer = Protocol(Chain(anvil_node.url, anvil_node.accounts[0]), addresses)

    def make(i: int) -> Protocol:
        p = deployer.as_account(Chain(anvil_node.url, anvil_node.accounts[i]))
        if i != 0:
            deployer.token.transact("transfer", p.me, 100_000 * 10**18)
        return p

    return make


@pytest.fixture(scope="module")
def world_base(anvil_node: Any, deployed_addresses: Any) -> Iterator[tuple[World, list[str]]]:
    outer = anvil_node.rpc("evm_snapshot")
    try:
        w = make_world(anvil_node, _factory(anvil_node, deployed_addresses))
        yield w, [anvil_node.rpc("evm_snapshot")]
    finally:
        anvil_node.rpc("evm_revert", outer)


@pytest.fixture
def world(world_base: tuple[World, list[str]]) -> Iterator[World]:
    w, snap = world_base
    try:
        yield w
    finally:
        w.anvil.rpc("evm_revert", snap[0])
        snap[0] = w.anvil.rpc("evm_snapshot")
