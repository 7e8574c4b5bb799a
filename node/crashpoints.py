"""Crash points: a generic test facility that kills the daemon at a named place.

``VERITRAIN_CRASH_POINT=<name>[@<k>]`` (or ``NodeDaemon(crash_point=...)``) makes the process
SIGKILL itself the first time it reaches point ``<name>`` (for segment ``<k>`` when given), exactly
as a ``kill -9`` or a power cut would at that place. It exists so tests can prove the journal's
crash safety at the places that matter; it changes nothing about what the node computes or
commits, and it is inert unless the variable is set. The named points:

``mid-step``       inside training, after the first step of a segment was hashed
``after-train``    segment trained and journaled, nothing uploaded
``after-upload``   checkpoint and leaves uploaded (pinned) and journaled, commit not sent
``after-commit``   commit transaction mined, its receipt not yet recorded in the journal
``after-claim``    task claimed on-chain, claim not yet recorded in the journal
"""

from __future__ import annotations

import os
import signal

ENV = "VERITRAIN_CRASH_POINT"
POINTS = ("mid-step", "after-train", "after-upload", "after-commit", "after-claim")


class CrashPoints:
    """Where (if anywhere) this process should kill itself."""

    def __init__(self, spec: str | None = None) -> None:
        spec = spec if spec is not None else os.environ.get(ENV, "")
        self.name: str | None = None
        self.segment: int | None = None
        if spec:
            name, _, seg = spec.partition("@")
            if name not in POINTS:
                raise ValueError(f"unknown crash point {name!r}; known: {', '.join(POINTS)}")
            self.name = name
            self.segment = int(seg) if seg else None

    def hit(self, name: str, segment: int | None = None) -> None:
        """SIGKILL this process if ``name`` (at ``segment``) is the configured crash point."""
        if self.name != name:
            return
        if self.segment is not None and segment != self.segment:
            return
        os.kill(os.getpid(), signal.SIGKILL)
