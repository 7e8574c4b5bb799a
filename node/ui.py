"""Progress display for the daemon (rich): a bar per segment's steps, a spinner per upload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ProgressUi:
    """The daemon's ``ui`` protocol on a rich ``Progress`` someone else owns; ``label`` prefixes
    every bar (the demo runs several actors on one Progress)."""

    def __init__(self, progress: Any, label: str = "") -> None:
        self.progress = progress
        self._prefix = f"{label}: " if label else ""
        self._steps: Any = None
        self._uploads: dict[tuple[int, int], Any] = {}

    def steps(self, task_id: int, k: int, total: int) -> Callable[[int], None]:
        self._steps = self.progress.add_task(f"{self._prefix}task {task_id} segment {k} training",
                                             total=total)
        first = k * total

        def advance(step: int) -> None:
            self.progress.update(self._steps, completed=step - first)

        return advance

    def done_steps(self) -> None:
        if self._steps is not None:
            self.progress.remove_task(self._steps)
            self._steps = None

    def upload(self, task_id: int, k: int) -> None:
        self._uploads[(task_id, k)] = self.progress.add_task(
            f"{self._prefix}task {task_id} segment {k} upload + commit", total=None)

    def uploaded(self, task_id: int, k: int) -> None:
        tid = self._uploads.pop((task_id, k), None)
        if tid is not None:
            self.progress.remove_task(tid)


class RichUi(ProgressUi):
    """Progress bars on stderr; pass as ``NodeDaemon(ui=RichUi())``."""

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        super().__init__(Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(),
                                  console=console or Console(stderr=True), transient=True))
        self.progress.start()

    def stop(self) -> None:
        self.progress.stop()
