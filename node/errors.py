"""Errors of the operator daemon (all subclasses of ``veritrain.errors.NodeError``)."""

from __future__ import annotations

from veritrain.errors import NodeError, leaf


@leaf
class TaskRefusedError(NodeError):
    """The node will not serve this task. Raised before claiming."""

    exit_code = 3
    task_id: int
    #: A short tag of the rule that refused it ("bad-spec", "reward", "profile", ...).
    reason: str


@leaf
class JournalError(NodeError):
    """The node's SQLite journal is unusable."""

    exit_code = 2
    path: str


@leaf
class CheckpointUnavailableError(NodeError):
    """The start checkpoint of a segment cannot be found locally or on IPFS."""

    task_id: int
    k: int


@leaf
class InsufficientStakeError(NodeError):
    """The operator's free stake is below what a command or task needs."""

    free: int
    needed: int


@leaf
class InputsUnavailableError(NodeError):
    """A task's teacher, dataset or start checkpoint cannot be fetched or does not verify.
    Checked before claiming; a node that cannot get them does not claim the task."""

    hint = ("the requester (teacher, dataset) or the previous node (checkpoint) must keep the "
            "content pinned; the node retries with backoff and then gives the task up")
    task_id: int
    what: str
    cid: str


@leaf
class CancelRefusedError(NodeError):
    """The requester's task cannot be cancelled now (not ours, in progress, finished, disputed)."""

    exit_code = 3
    task_id: int
    #: A short tag of the rule ("not-requester", "in-progress", "finished", "disputes-open").
    reason: str


@leaf
class StepGraphUnavailableError(NodeError):
    """A task was asked to be created with its step graph, but the graph cannot be recorded for
    it (its profile has no step graph, or another task took the id its roots were bound to)."""

    exit_code = 2
    #: A short tag ("profile", "schedule", "stateHash" or "task-id-race").
    reason: str
