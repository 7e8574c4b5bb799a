"""Leaf errors of the challenger package (all subclass ``veritrain.errors.ChallengerError``)."""

from __future__ import annotations

from veritrain.errors import ChallengerError


class DataUnavailableError(ChallengerError):
    """A segment's data (spec, checkpoint, leaves file) could not be fetched or is not what the
    chain committed."""

    hint = "the node did not make its work checkable; the segment is treated as wrong"

    def __init__(self, message: str, *, what: str, cid: str | None = None, reason: str = "",
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        #: Which piece of data: "spec", "teacher", "dataset", "checkpoint", "leaves", ...
        self.what = what
        #: Where it should have been (None when the chain names no CID for it).
        self.cid = cid
        #: Why it is unusable: "missing", "mismatch", ...
        self.reason = reason


class JournalError(ChallengerError):
    """The bot's SQLite journal is unusable."""

    hint = "check the work directory's permissions and free space; never delete a juror journal " \
           "between commit and reveal"

    def __init__(self, message: str, *, path: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class ProfileRefusedError(ChallengerError):
    """A task's spec needs another determinism profile than this process runs."""

    hint = "run a bot under that profile (`veritrain challenger run --profile NAME`)"

    def __init__(self, message: str, *, task_id: int, profile: str,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.task_id = task_id
        self.profile = profile


class ReplayBudgetError(ChallengerError):
    """A replay this juror would owe cannot finish before the commit deadline."""

    hint = ("run the juror on a faster machine, or leave the pool "
            "(a drawn juror that stays silent loses its penalty)")

    def __init__(self, message: str, *, steps: int, blocks: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        #: Steps the replay needs.
        self.steps = steps
        #: Blocks the commit window allows.
        self.blocks = blocks
