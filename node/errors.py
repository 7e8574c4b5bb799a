"""Errors of the operator daemon (all subclasses of ``veritrain.errors.NodeError``)."""

from __future__ import annotations

from veritrain.errors import NodeError


class TaskRefusedError(NodeError):
    """The node will not serve this task. Raised before claiming."""

    exit_code = 3

    def __init__(self, message: str, *, task_id: int, reason: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.task_id = task_id
        #: A short tag of the rule that refused it ("bad-spec", "reward", "profile", ...).
        self.reason = reason


class JournalError(NodeError):
    """The node's SQLite journal is unusable."""

    exit_code = 2

    def __init__(self, message: str, *, path: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class CheckpointUnavailableError(NodeError):
    """The start checkpoint of a segment cannot be found locally or on IPFS."""

    def __init__(self, message: str, *, task_id: int, k: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.task_id = task_id
        self.k = k


class InsufficientStakeError(NodeError):
    """The operator's free stake is below what a command or task needs."""

    def __init__(self, message: str, *, free: int, needed: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.free = free
        self.needed = needed


class InputsUnavailableError(NodeError):
    """A task's teacher, dataset or start checkpoint cannot be fetched or does not verify.
    Checked before claiming; a node that cannot get them does not claim the task."""

    hint = ("the requester (teacher, dataset) or the previous node (checkpoint) must keep the "
            "content pinned; the node retries with backoff and then gives the task up")

    def __init__(self, message: str, *, task_id: int, what: str, cid: str) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.what = what
        self.cid = cid


class CancelRefusedError(NodeError):
    """The requester's task cannot be cancelled now (not ours, in progress, finished, disputed)."""

    exit_code = 3

    def __init__(self, message: str, *, task_id: int, reason: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.task_id = task_id
        #: A short tag of the rule ("not-requester", "in-progress", "finished", "disputes-open").
        self.reason = reason
