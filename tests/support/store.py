"""Store helpers the suites share: an embedded store and a tiny task published on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any


def serving(repo: Path) -> Iterator[Any]:
    """For a fixture (``yield from serving(path)``): an embedded store over ``repo``, stopped
    at the end; yields its handle."""
    from store.server import serve

    with serve(repo) as handle:
        yield handle


def publish_tiny(api: str, **overrides: Any) -> Any:
    """The tiny preset (``overrides`` as in ``preset_spec``), teacher and dataset on the store
    at ``api``; returns ``materials.Published``."""
    from materials import publish
    from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec
    from store.client import Client

    spec = preset_spec("tiny", **overrides)
    with Client(api) as client:
        return publish(client, spec, default_teacher_dir(), default_dataset_dir(spec.seq_len))
