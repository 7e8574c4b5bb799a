"""veritrain: blockchain-anchored proof-of-learning (shared root: version, errors, settings,
CLI)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("veritrain")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+src"

__all__ = ["__version__"]
