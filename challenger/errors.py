"""Leaf errors of the challenger package (all subclass ``veritrain.errors.ChallengerError``)."""

from __future__ import annotations

from veritrain.errors import ChallengerError, leaf


@leaf
class DataUnavailableError(ChallengerError):
    """A segment's data (spec, checkpoint, leaves file) could not be fetched or is not what the
    chain committed."""

    hint = "the node did not make its work checkable; the segment is treated as wrong"
    #: Which piece of data: "spec", "teacher", "dataset", "checkpoint", "leaves", ...
    what: str
    #: Where it should have been (None when the chain names no CID for it).
    cid: str | None = None
    #: Why it is unusable: "missing", "mismatch", ...
    reason: str = ""


@leaf
class JournalError(ChallengerError):
    """The bot's SQLite journal is unusable."""

    hint = "check the work directory's permissions and free space; never delete a juror journal " \
           "between commit and reveal"
    path: str


@leaf
class ProfileRefusedError(ChallengerError):
    """A task's spec needs another determinism profile than this process runs."""

    hint = "run a bot under that profile (`veritrain challenger run --profile NAME`)"
    task_id: int
    profile: str


@leaf
class ReplayBudgetError(ChallengerError):
    """A replay this juror would owe cannot finish before the commit deadline."""

    hint = ("run the juror on a faster machine, or leave the pool "
            "(a drawn juror that stays silent loses its penalty)")
    #: Steps the replay needs.
    steps: int
    #: Blocks the commit window allows.
    blocks: int


@leaf
class NothingToProveError(ChallengerError):
    """Our trace of a disputed step agrees with everything the node revealed in the referee
    game: no move of ours can win it (the game is left to time out)."""

    hint = "the dispute was opened on a step our trace does not contradict; check the audit"
    #: The game.
    dispute_id: int
