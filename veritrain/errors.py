"""The one exception root of veritrain.

Every package raises subclasses of its own base below; leaf errors carry the fields that
describe what went wrong as typed, keyword-only constructor arguments
(``ContentMismatchError(message, cid=...)``), stored as attributes of the same name: a leaf
declares them as annotated class fields under :func:`leaf`, which writes the constructor (a
dataclass). Each error has a one-line message saying what was wrong and, in ``hint``, what to do
about it (a class sets its default as ``hint = "..."``; a raise may pass another). Only the CLI's
top level catches broadly and turns these into a message and an exit code.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import ClassVar, TypeVar, cast, dataclass_transform

_E = TypeVar("_E", bound=type)


@dataclass(eq=False, repr=False)
class VeritrainError(Exception):
    """Root of every error veritrain raises on purpose: ``VeritrainError(message, hint=...)``."""

    #: What was wrong (also ``str(error)``).
    message: str
    _: KW_ONLY
    #: What the user can do about it (shown under the message by the CLI); empty: the class's.
    hint: str = ""
    #: Process exit code the CLI uses for this kind of error.
    exit_code: ClassVar[int] = 1

    def __post_init__(self) -> None:
        super().__init__(self.message)
        if not self.hint:
            # no hint given: the class's own ``hint = "..."`` (or none) shows through
            del self.hint


@dataclass_transform(kw_only_default=True, eq_default=False)
def leaf(cls: _E) -> _E:
    """Class decorator of a leaf error: its annotated fields become typed keyword-only
    constructor arguments after the message, ``Leaf(message, *, field=..., hint=...)``."""
    return cast(_E, dataclass(eq=False, repr=False, kw_only=True)(cls))


class ConfigError(VeritrainError):
    """Bad or missing configuration (settings, files, addresses)."""

    exit_code = 2


class ProverError(VeritrainError):
    """Base of errors from the verifiable computation (spec, data, training, replay)."""


class LedgerError(VeritrainError):
    """Base of errors from chain access (RPC, transactions, reverts, keys)."""


class StoreError(VeritrainError):
    """Base of errors from IPFS (client and embedded store)."""


class NodeError(VeritrainError):
    """Base of errors from the operator daemon."""


class ChallengerError(VeritrainError):
    """Base of errors from the auditor, disputer and juror."""


class ConsumerError(VeritrainError):
    """Base of errors from verified pulls."""


class DeployError(VeritrainError):
    """Base of errors from devnet and deployment."""


class ExplorerError(VeritrainError):
    """Base of errors from the explorer (indexer and web app)."""
