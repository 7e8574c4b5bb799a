"""`veritrain replay` in a separate process, for the tests that compare a replay across
processes, kernel builds and (emulated) CPUs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def cli_replay(spec_file: Path, upto: int, *, task_id: int = 1, teacher: Path | None = None,
               dataset: Path | None = None, prefix: Sequence[str] = (),
               env: Mapping[str, str] | None = None, timeout: float = 900) -> dict[str, Any]:
    """Replay ``spec_file`` up to step ``upto`` with the CLI, under ``prefix`` (e.g.
    ``[qemu, "-cpu", "Haswell"]``) and ``env`` (default: this process's); its JSON document
    (``stateHashes``, ``leaves``, ...). A non-zero exit fails the test with the process's stderr
    (less qemu-user's TCG warnings)."""
    cmd = [*prefix, sys.executable, "-m", "veritrain.cli.main", "replay", "--spec", str(spec_file),
           "--upto", str(upto), "--task-id", str(task_id)]
    if teacher is not None:
        cmd += ["--teacher", str(teacher)]
    if dataset is not None:
        cmd += ["--dataset", str(dataset)]
    r = subprocess.run(cmd, env=None if env is None else dict(env), capture_output=True,
                       text=True, timeout=timeout)
    err = "\n".join(x for x in r.stderr.splitlines() if "TCG doesn" not in x)
    assert r.returncode == 0, err[-2000:]
    doc: dict[str, Any] = json.loads(r.stdout[r.stdout.index("{"):])
    return doc
