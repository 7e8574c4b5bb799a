"""The explorer's read-side errors (``explorer.queries``): what the API answers 404 or 409 for."""

from __future__ import annotations

from veritrain.errors import ExplorerError, leaf


@leaf
class NotFoundError(ExplorerError):
    """No such task, node, dispute or page in the index."""

    what: str
    key: object


@leaf
class AmbiguousDisputeError(ExplorerError):
    """Both courts have a dispute with this id: the jury's and the referee's ids both count
    from 1."""

    dispute_id: int
