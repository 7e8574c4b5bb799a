"""Leaf errors of the challenger package (all subclass ``veritrain.errors.ChallengerError``)."""

from __future__ import annotations

from veritrain.errors import ChallengerError


class DataUnavailableError(ChallengerError):
    """A segment's data (spec, checkpoint, leaves file) could not be fetched or is not what the
    chain committed (fields: what, cid, reason)."""

    hint = "the node did not make its work checkable; the segment is treated as wrong"


class JournalError(ChallengerError):
    """The bot's SQLite journal is unusable (fields: path)."""

    hint = "check the work directory's permissions and free space; never delete a juror journal " \
           "between commit and reveal"


class ProfileRefusedError(ChallengerError):
    """A task's spec needs another determinism profile than this process runs (fields: task_id,
    profile)."""

    hint = "run a bot under that profile (`veritrain challenger run --profile NAME`)"


class ReplayBudgetError(ChallengerError):
    """A replay this juror would owe cannot finish before the commit deadline (fields: steps,
    blocks)."""

    hint = ("run the juror on a faster machine, or leave the pool "
            "(a drawn juror that stays silent loses its penalty)")
