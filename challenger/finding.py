"""What one audit concluded: the verdict types the auditor acts on and journals."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    """The verdict of one audit."""

    #: Every leaf, the end state and the end checkpoint match the replay.
    OK = "ok"
    #: Something the node committed is wrong and provably so: open a dispute.
    DISPUTE = "dispute"
    #: The end state matches but the trace cannot be checked (the leaves file is unusable).
    UNPROVABLE = "unprovable"
    #: Not audited: the spec needs another determinism profile than this process runs.
    REFUSED = "refused"
    #: Not audited: the task's step-graph roots on chain are not those of its spec and teacher
    #: (the referee would judge it by another graph).
    WRONG_ROOTS = "wrong-roots"
    #: Every leaf and the committed end state are right, but the end checkpoint is unavailable
    #: or holds another state, on a refereed task: the referee judges what is committed on
    #: chain and the node can reveal every chunk of that state, so a dispute would only lose our
    #: bond. Attested Fault (consumers and the next node refuse the checkpoint; the next node's
    #: release rolls the segment back: docs/security.md).
    CHECKPOINT_FAULT = "checkpoint-fault"


class DisputeKind(Enum):
    """Which dispute a ``Verdict.DISPUTE`` finding asks for."""

    #: ``openDispute``: the node's leaf at ``step``, with its Merkle proof.
    LEAF = "leaf"
    #: ``openEndStateDispute``: the committed end state (no proof needed).
    END_STATE = "end_state"

    @property
    def call(self) -> str:
        """The contract function that opens this kind of dispute."""
        return "openEndStateDispute" if self == DisputeKind.END_STATE else "openDispute"


@dataclass(frozen=True)
class Finding:
    """The verdict of one audit: ``step`` is None when nothing is to be disputed."""

    verdict: Verdict
    #: Why, in words (journalled and logged).
    reason: str
    #: The disputed step (for a dispute).
    step: int | None = None
    #: Steps replayed.
    steps: int = 0
    #: CPU seconds the replay took.
    cpu_s: float = 0.0
    #: For a dispute: which kind.
    kind: DisputeKind = DisputeKind.LEAF
