"""The one exception root of veritrain.

Every package raises subclasses of its own base below; leaf errors carry the fields that
describe what went wrong as typed, keyword-only constructor arguments
(``ContentMismatchError(message, cid=...)``), stored as attributes of the same name. Each error
has a one-line message saying what was wrong and, in ``hint``, what to do about it. Only the CLI's
top level catches broadly and turns these into a message and an exit code.
"""

from __future__ import annotations


class VeritrainError(Exception):
    """Root of every error veritrain raises on purpose."""

    #: Process exit code the CLI uses for this kind of error.
    exit_code: int = 1
    #: What the user can do about it (shown under the message by the CLI).
    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        if hint is not None:
            self.hint = hint
        super().__init__(message)


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
