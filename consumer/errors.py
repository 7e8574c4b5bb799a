"""Leaf errors of verified pulls (subclasses of :class:`veritrain.errors.ConsumerError`)."""

from __future__ import annotations

from veritrain.errors import ConsumerError


class UnknownTaskError(ConsumerError):
    """No task with this id on the chain."""

    exit_code = 2
    hint = ("list tasks with the TaskMarket's taskCount(); check VERITRAIN_ADDRESSES points at "
            "this chain")

    def __init__(self, message: str, *, task_id: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.task_id = task_id


class NothingToPullError(ConsumerError):
    """The task has no segment that can be pulled."""

    exit_code = 3

    def __init__(self, message: str, *, task_id: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.task_id = task_id


class SegmentNotFinalError(ConsumerError):
    """The segment is committed but not final."""

    exit_code = 3
    hint = "wait until it is final, or pass --allow-unfinalized to take an unaudited checkpoint"

    def __init__(self, message: str, *, task_id: int, segment: int,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.task_id = task_id
        self.segment = segment


class SegmentNotCommittedError(ConsumerError):
    """The segment is not part of the task's current trace."""

    exit_code = 3

    def __init__(self, message: str, *, task_id: int, segment: int,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.task_id = task_id
        self.segment = segment


class CommitmentNotFoundError(ConsumerError):
    """No SegmentCommitted event matches the on-chain segment."""

    hint = "the RPC node may have pruned old logs; use an archive node or a later --segment"

    def __init__(self, message: str, *, task_id: int, segment: int | None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.task_id = task_id
        #: None when the task's own TaskCreated event is missing.
        self.segment = segment


class CheckpointMismatchError(ConsumerError):
    """The fetched checkpoint is not the state committed on-chain."""

    exit_code = 4
    hint = "do not use this checkpoint: the node's upload does not match its commitment"

    def __init__(self, message: str, *, cid: str, reason: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.cid = cid
        self.reason = reason


class OutputExistsError(ConsumerError):
    """The output directory exists and is not empty."""

    exit_code = 2
    hint = "choose a new --out directory or remove the old one"

    def __init__(self, message: str, *, path: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class UnauditedError(ConsumerError):
    """A segment behind the checkpoint has no audit attested on chain."""

    exit_code = 5
    hint = ("wait for an auditor to replay it (`veritrain challenger run` audits and attests), or "
            "pass --allow-unaudited to take a checkpoint nobody independent has checked")

    def __init__(self, message: str, *, task_id: int, segments: list[int],
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.task_id = task_id
        #: The segments with no Ok attestation.
        self.segments = segments
