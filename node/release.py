"""The node's free way out of a claimed task whose inputs are unavailable (``releaseTask``, #14).

A node gives a task back without a slash when, after its claim, the requester's teacher or dataset
cannot be fetched or verified (``INPUTS_UNAVAILABLE``), or the committed checkpoint the task
restarts from is missing or does not hold its ``endStateHash`` (``START_CHECKPOINT_UNAVAILABLE``:
the chain rolls the prefix back one segment, so the withholder's segment is redone and its pay is
forfeited). The chain allows it only before the node's first commit and within ``releaseWindow``
blocks of the claim; a node that released a task can never claim it again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ledger.errors import ContractRevertError
from ledger.protocol import ReleaseReason
from node.errors import CheckpointUnavailableError, InputsUnavailableError
from node.journal import TaskState
from node.logs import log_event

if TYPE_CHECKING:
    from node.journal import Journal, TaskRow

log = logging.getLogger("node.release")


def reason_for(exc: Exception, next_segment: int) -> ReleaseReason:
    """Which release an input failure calls for: a missing start checkpoint (k > 0) is the
    previous node's, anything else (teacher, dataset, the store) the requester's side."""
    start = (isinstance(exc, CheckpointUnavailableError)
             or (isinstance(exc, InputsUnavailableError) and exc.what == "checkpoint"))
    if start and next_segment > 0:
        return ReleaseReason.START_CHECKPOINT_UNAVAILABLE
    return ReleaseReason.INPUTS_UNAVAILABLE


def release(protocol: Any, task_id: int, reason: ReleaseReason, detail: str) -> bool:
    """Release ``task_id`` on chain; True if it was released. A refusal (the window closed, a
    segment was committed since the claim) is reported at ERROR: the node then stalls and is
    slashed unless its inputs come back in time."""
    try:
        protocol.release_task(task_id, reason)
    except ContractRevertError as exc:
        log_event(log, "task-release-refused", logging.ERROR, task=task_id, reason=reason.name,
                  error=str(exc), detail=detail)
        return False
    log_event(log, "task-released", logging.WARNING, task=task_id, reason=reason.name,
              detail=detail)
    return True


def give_back(protocol: Any, journal: Journal, row: TaskRow, next_segment: int,
              exc: Exception) -> bool:
    """After the claim the task's inputs stayed unavailable through the retries: release it (the
    journal marks it lost: the node never claims it again). False if the chain refused."""
    if not release(protocol, row.task_id, reason_for(exc, next_segment), str(exc)):
        return False
    journal.set_task(row.task_id, row.epoch, row.spec_cid, TaskState.LOST, f"released: {exc}")
    return True


def roll_back(protocol: Any, journal: Journal, task_id: int, spec_cid: str,
              exc: InputsUnavailableError) -> None:
    """The start checkpoint of an open task (k > 0) stayed unavailable through the retries: claim
    the task and release it at once (free), which rolls its prefix back one segment so that another
    node redoes that segment from the checkpoint before it; the task is never stranded."""
    try:
        protocol.claim_task(task_id)
    except ContractRevertError as err:
        log_event(log, "task-skipped", logging.WARNING, task=task_id, reason="claim",
                  detail=str(err))
        return
    epoch = int(protocol.task(task_id).epoch)
    if release(protocol, task_id, ReleaseReason.START_CHECKPOINT_UNAVAILABLE, str(exc)):
        journal.set_task(task_id, epoch, spec_cid, TaskState.LOST, f"released: {exc}")
    else:  # the chain refused the release: the task is ours now, serve it if the inputs come back
        journal.set_task(task_id, epoch, spec_cid, TaskState.ACTIVE)
