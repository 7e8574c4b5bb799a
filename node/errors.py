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


class InputsUnavailableError(NodeError):
    """A task's teacher, dataset or start checkpoint cannot be fetched or does not verify
    (fields: task_id, what, cid). Checked before claiming; a node that cannot get them does not
    claim the task."""

    hint = ("the requester (teacher, dataset) or the previous node (checkpoint) must keep the "
            "content pinned; the node retries with backoff and then gives the task up")
