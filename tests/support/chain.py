"""Chain helpers the suites share: funded accounts, snapshot isolation, driving bots block by
block."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

#: What each account but the deployer gets from the deployer: 100k VERI.
FUNDING = 100_000 * 10**18


def accounts(anvil: Any, addresses: Any) -> Callable[[int], Any]:
    """``make(i)``: the Protocol as anvil dev account i, funded with ``FUNDING`` once."""
    from ledger.chain import Chain
    from ledger.protocol import Protocol

    deployer = Protocol(Chain(anvil.url, anvil.accounts[0]), addresses)
    funded: set[int] = {0}

    def make(i: int) -> Protocol:
        p = deployer.as_account(Chain(anvil.url, anvil.accounts[i]))
        if i not in funded:
            deployer.token.transact("transfer", p.me, FUNDING)
            funded.add(i)
        return p

    return make


def snapshot_base(anvil: Any, build: Callable[[], T]) -> Iterator[tuple[T, list[str]]]:
    """For a module fixture: ``build()`` once, snapshot the chain after it, and roll everything
    back at the end. Yields (what was built, [the snapshot id]) for :func:`from_snapshot`."""
    outer = anvil.rpc("evm_snapshot")
    try:
        built = build()
        yield built, [anvil.rpc("evm_snapshot")]
    finally:
        anvil.rpc("evm_revert", outer)


def from_snapshot(anvil: Any, base: tuple[T, list[str]]) -> Iterator[T]:
    """For a per-test fixture over :func:`snapshot_base`: the built thing, and the chain rolled
    back to the snapshot after the test (anvil consumes a snapshot on revert: take a new one)."""
    built, snap = base
    try:
        yield built
    finally:
        anvil.rpc("evm_revert", snap[0])
        snap[0] = anvil.rpc("evm_snapshot")


def drive(anvil: Any, bots: list[Any], until: Callable[[], bool], max_blocks: int = 120) -> int:
    """Run each bot once per round, mining one block per round, until ``until()``; the rounds."""
    for n in range(max_blocks):
        for bot in bots:
            bot.run_once()
        if until():
            return n
        anvil.mine(1)
    raise AssertionError(f"condition not reached in {max_blocks} blocks")
