"""Settings: defaults in one place, overridden by a config file, then by ``VERITRAIN_*`` env vars.

Secrets never live here: keys come from an encrypted keystore file whose password is read from
``VERITRAIN_PASSWORD`` or a prompt, or from ``VERITRAIN_PRIVATE_KEY`` for throwaway devnets.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from veritrain.errors import ConfigError

ENV_PREFIX = "VERITRAIN_"


@dataclass(frozen=True)
class Settings:
    """Where veritrain finds the chain, IPFS, keys and contract addresses."""

    #: JSON-RPC URL of the EVM chain.
    rpc_url: str = "http://127.0.0.1:8545"
    #: Multiaddr or URL of a Kubo-compatible IPFS RPC API.
    ipfs_api: str = "/ip4/127.0.0.1/tcp/5001/http"
    #: Encrypted eth-account keystore file of this operator.
    keystore: Path | None = None
    #: JSON file with deployed contract addresses (written by `veritrain deploy` / `devnet up`).
    addresses: Path | None = None
    #: Directory for local state (node and juror databases, caches).
    home: Path = field(default_factory=lambda: Path.home() / ".veritrain")
    #: Blocks to wait on top of a transaction's block before treating it as confirmed.
    confirmations: int = 0
    #: Address the explorer's web server binds (127.0.0.1: this machine only).
    explorer_host: str = "127.0.0.1"
    #: Port of the explorer's web server.
    explorer_port: int = 8780

    @classmethod
    def load(cls, config_file: Path | None = None, env: dict[str, str] | None = None) -> Settings:
        """Defaults, then ``config_file`` (TOML, keys as field names), then ``VERITRAIN_*`` env."""
        env = dict(os.environ if env is None else env)
        settings = cls()
        named = env.get(ENV_PREFIX + "CONFIG")
        path = config_file or (Path(named) if named is not None else None)
        if path is not None:
            try:
                data = tomllib.loads(Path(path).read_text())
            except FileNotFoundError:
                raise ConfigError(f"config file {path} does not exist",
                                  hint="create it or unset VERITRAIN_CONFIG") from None
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
            settings = settings._with(data, source=str(path))
        from_env = {f.name: env[ENV_PREFIX + f.name.upper()] for f in fields(cls)
                    if ENV_PREFIX + f.name.upper() in env}
        return settings._with(from_env, source="environment")

    def _with(self, values: Mapping[str, object], source: str) -> Settings:
        known = {f.name: f for f in fields(self)}
        changes: dict[str, object] = {}
        for key, raw in values.items():
            if key not in known:
                raise ConfigError(f"unknown setting {key!r} in {source}",
                                  hint=f"known settings: {', '.join(sorted(known))}")
            if key in ("keystore", "addresses", "home"):
                changes[key] = Path(str(raw)).expanduser() if raw not in (None, "") else None
            elif key in ("confirmations", "explorer_port"):
                try:
                    changes[key] = int(str(raw))
                except ValueError:
                    raise ConfigError(f"setting {key} must be an integer, got {raw!r}") from None
            else:
                changes[key] = str(raw)
        return replace(self, **changes)  # type: ignore[arg-type]
