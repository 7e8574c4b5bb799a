"""Fixtures of the referee-bot tests: the session store and materials cache of the bot tests
and the referee world (tests/support/referee_fixtures.py)."""

from __future__ import annotations

from tests.support.bots import shared_cache, store_handle
from tests.support.referee_fixtures import published, referee_addresses, world

__all__ = ["published", "referee_addresses", "shared_cache", "store_handle", "world"]
