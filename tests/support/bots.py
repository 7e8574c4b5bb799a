"""A world of real bots for tests that train, audit and judge: the Protocol per anvil account,
a store client, the tiny task's published materials and a CID-keyed materials cache, with
helpers that make nodes, auditors and jurors; and the fixtures that build it (a folder's
conftest imports them: ``from tests.support.bots import published, shared_cache, store_handle,
world``). Contract-level tests with fake traces use :class:`tests.support.cast.Cast` instead."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.actors import E18, Requester
from tests.support.chain import drive
from tests.support.store import publish_tiny, serving

#: Accounts of the anvil dev mnemonic by role.
REQUESTER, NODE, CHALLENGER, JURORS = 0, 1, 2, (3, 4, 5)


def bot_cache(shared: Path, tmp: Path) -> Path:
    """A per-test materials cache that shares only the (big, always available) teacher and
    dataset of ``shared``: checkpoints and leaves files are fetched per test, so content one test
    withholds is never served from another test's cache."""
    cache = tmp / "materials"
    (cache / "dirs").mkdir(parents=True)
    for d in (shared / "dirs").iterdir():
        (cache / "dirs" / d.name).symlink_to(d, target_is_directory=True)
    return cache


@dataclass
class BotWorld:
    anvil: Any
    protocol: Callable[[int], Any]
    client: Any
    published: Any
    cache: Path
    tmp: Path

    def post_task(self, **kw: Any) -> int:
        return Requester(self.protocol(REQUESTER), self.client).post(self.published, **kw)

    def node(self, cls: Any = None, **kw: Any) -> Any:
        from tests.support.actors import HonestNode

        cls = cls or HonestNode
        return cls(self.protocol(NODE), self.client, self.tmp / "node", cache_dir=self.cache, **kw)

    def auditor(self, account: int = CHALLENGER, **kw: Any) -> Any:
        from challenger.auditor import Auditor
        from challenger.policy import AuditPolicy

        kw.setdefault("policy", AuditPolicy(probability=1.0))
        return Auditor(self.protocol(account), self.client, self.tmp / f"auditor{account}",
                       cache_dir=self.cache, **kw)

    def juror(self, account: int, opt_in: bool = True) -> Any:
        from challenger.juror import Juror

        j = Juror(
            self.protocol(account),
            self.client,
            self.tmp / f"juror{account}",
            cache_dir=self.cache,
            stake=100 * E18,
        )
        if opt_in:
            j.opt_in()
        return j

    def drive(self, bots: list[Any], until: Callable[[], bool], max_blocks: int = 120) -> int:
        """Run each bot once per block, mining one block per round, until ``until()``."""
        return drive(self.anvil, bots, until, max_blocks)


@pytest.fixture(scope="session")
def store_handle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from serving(tmp_path_factory.mktemp("store") / "repo")


@pytest.fixture(scope="session")
def published(store_handle: Any) -> Any:
    """The tiny preset (2 segments of 8 steps) with teacher and dataset on the store."""
    return publish_tiny(store_handle.url, seed=5, totalSteps=16)


@pytest.fixture(scope="session")
def shared_cache(
    tmp_path_factory: pytest.TempPathFactory, store_handle: Any, published: Any
) -> Path:
    """Teacher and dataset fetched (verified) once per session."""
    from materials import Materials
    from store.client import Client

    root = tmp_path_factory.mktemp("materials-cache")
    with Client(store_handle.url) as client:
        m = Materials(client, root)
        m.teacher_dir(published.spec)
        m.dataset_dir(published.spec)
    return root


@pytest.fixture
def world(anvil: Any, protocol: Any, store_handle: Any, published: Any, shared_cache: Path,
          tmp_path: Path) -> Iterator[BotWorld]:
    from store.client import Client

    with Client(store_handle.url) as client:
        yield BotWorld(
            anvil, protocol, client, published, bot_cache(shared_cache, tmp_path), tmp_path
        )
