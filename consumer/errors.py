"""Leaf errors of verified pulls (subclasses of :class:`veritrain.errors.ConsumerError`)."""

from __future__ import annotations

from veritrain.errors import ConsumerError, leaf


@leaf
class UnknownTaskError(ConsumerError):
    """No task with this id on the chain."""

    exit_code = 2
    hint = ("list tasks with the TaskMarket's taskCount(); check VERITRAIN_ADDRESSES points at "
            "this chain")
    task_id: int


@leaf
class NothingToPullError(ConsumerError):
    """The task has no segment that can be pulled."""

    exit_code = 3
    task_id: int


@leaf
class SegmentNotFinalError(ConsumerError):
    """The segment is committed but not final."""

    exit_code = 3
    hint = "wait until it is final, or pass --allow-unfinalized to take an unaudited checkpoint"
    task_id: int
    segment: int


@leaf
class SegmentNotCommittedError(ConsumerError):
    """The segment is not part of the task's current trace."""

    exit_code = 3
    task_id: int
    segment: int


@leaf
class CommitmentNotFoundError(ConsumerError):
    """No SegmentCommitted event matches the on-chain segment."""

    hint = "the RPC node may have pruned old logs; use an archive node or a later --segment"
    task_id: int
    #: None when the task's own TaskCreated event is missing.
    segment: int | None


@leaf
class CheckpointMismatchError(ConsumerError):
    """The fetched checkpoint is not the state committed on-chain."""

    exit_code = 4
    hint = "do not use this checkpoint: the node's upload does not match its commitment"
    cid: str
    reason: str


@leaf
class OutputExistsError(ConsumerError):
    """The output directory exists and is not empty."""

    exit_code = 2
    hint = "choose a new --out directory or remove the old one"
    path: str


@leaf
class UnauditedError(ConsumerError):
    """A segment behind the checkpoint has no audit attested on chain."""

    exit_code = 5
    hint = ("wait for an auditor to replay it (`veritrain challenger run` audits and attests), or "
            "pass --allow-unaudited to take a checkpoint nobody independent has checked")
    task_id: int
    #: The segments with no Ok attestation.
    segments: list[int]
