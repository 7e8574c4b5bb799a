"""Fixtures of the challenger tests: a session store with the tiny task's materials published
once, a shared CID-keyed materials cache, and a ``world`` of real bots on them (all from
tests/support/bots.py, where the explorer tests take them from too)."""

from tests.support.bots import published, shared_cache, store_handle, world

__all__ = ["published", "shared_cache", "store_handle", "world"]
