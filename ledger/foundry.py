"""Where the Foundry toolchain and the compiled artifacts live, and how to build them.

Foundry comes from npm (``@foundry-rs/<tool>``); the native binaries sit under
``node_modules/@foundry-rs/<tool>-linux-amd64/bin/``. Never call the npm wrapper (``npx forge``):
it exits 0 when tests fail.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ledger.errors import BuildError
from veritrain.errors import ConfigError

#: The repository root (the project is installed editable; VERITRAIN_ROOT overrides).
ROOT = Path(os.environ.get("VERITRAIN_ROOT", Path(__file__).resolve().parent.parent))


def tool(name: str) -> Path:
    """Path of the native Foundry binary ``name`` (forge, anvil or cast)."""
    override = os.environ.get("VERITRAIN_FOUNDRY_BIN")
    base = (
        Path(override)
        if override
        else ROOT / "node_modules" / "@foundry-rs" / f"{name}-linux-amd64" / "bin"
    )
    path = base / name
    if not path.is_file():
        raise ConfigError(
            f"Foundry binary {name!r} not found at {path}",
            hint="run scripts/bootstrap (it runs `npm ci`), or set VERITRAIN_FOUNDRY_BIN",
        )
    return path


def artifacts_dir() -> Path:
    """Folder of forge's build output (``out/``); VERITRAIN_ARTIFACTS overrides."""
    return Path(os.environ.get("VERITRAIN_ARTIFACTS", ROOT / "out"))


def build(root: Path = ROOT) -> None:
    """Run ``forge build`` in ``root``; raise BuildError with the compiler's first error line."""
    proc = subprocess.run([str(tool("forge")), "build"], cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        text = (proc.stderr or "") + (proc.stdout or "")
        lines = [ln.strip() for ln in text.splitlines()]
        # solc's diagnostic ("Error (3546): Expected type name") and where (" --> file:line:col").
        diag = next(
            (i for i, ln in enumerate(lines) if "rror" in ln and "Compiler run failed" not in ln),
            None,
        )
        if diag is None:
            first = lines[-1] if lines else "unknown error"
        else:
            where = (
                lines[diag + 1].removeprefix("--> ")
                if diag + 1 < len(lines) and "-->" in lines[diag + 1]
                else ""
            )
            first = lines[diag] + (f" at {where}" if where else "")
        raise BuildError(
            f"forge build failed: {first}",
            hint=f"fix the Solidity source, then run `{tool('forge')} build` for the full log",
        )
