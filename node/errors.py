"""Errors of the operator daemon (all subclasses of ``veritrain.errors.NodeError``)."""

from __future__ import annotations

from veritrain.errors import NodeError


class TaskRefusedError(NodeError):
    """The node will not serve this task (fields: task_id, reason). Raised before claiming."""

    exit_code = 3


class JournalError(NodeError):
    """The node's SQLite journal is unusable (fields: path)."""

    exit_code = 2


class CheckpointUnavailableError(NodeError):
    """The start checkpoint of a segment cannot be found locally or on IPFS (fields: task_id, k)."""


class InsufficientStakeError(NodeError):
    """The operator's free stake is below what a command or task needs (fields: free, needed)."""
