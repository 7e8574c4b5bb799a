"""Leaf errors of verified pulls (subclasses of :class:`veritrain.errors.ConsumerError`)."""

from __future__ import annotations

from veritrain.errors import ConsumerError


class UnknownTaskError(ConsumerError):
    """No task with this id on the chain (fields: task_id)."""

    exit_code = 2
    hint = "list tasks with the TaskMarket's taskCount(); check VERITRAIN_ADDRESSES points at this chain"


class NothingToPullError(ConsumerError):
    """The task has no segment that can be pulled (fields: task_id)."""

    exit_code = 3


class SegmentNotFinalError(ConsumerError):
    """The segment is committed but not final (fields: task_id, segment, reason)."""

    exit_code = 3
    hint = "wait until it is final, or pass --allow-unfinalized to take an unaudited checkpoint"


class SegmentNotCommittedError(ConsumerError):
    """The segment is not part of the task's current trace (fields: task_id, segment)."""

    exit_code = 3


class CommitmentNotFoundError(ConsumerError):
    """No SegmentCommitted event matches the on-chain segment (fields: task_id, segment)."""

    hint = "the RPC node may have pruned old logs; use an archive node or a later --segment"


class CheckpointMismatchError(ConsumerError):
    """The fetched checkpoint is not the state committed on-chain (fields: cid, reason)."""

    exit_code = 4
    hint = "do not use this checkpoint: the node's upload does not match its commitment"


class OutputExistsError(ConsumerError):
    """The output directory exists and is not empty (fields: path)."""

    exit_code = 2
    hint = "choose a new --out directory or remove the old one"
