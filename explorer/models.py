"""What the explorer shows, as typed models: the JSON API returns them (and documents them in its
OpenAPI schema) and the HTML pages render the same objects."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class SegmentState(StrEnum):
    """A segment slot as the segment bar colours it."""

    PENDING = "pending"  # not committed (yet)
    COMMITTED = "committed"  # committed, challenge window open
    DISPUTED = "disputed"  # committed, a dispute on it (or on an earlier segment) is open
    FINAL = "final"  # window passed with no open dispute at or before it
    REOPENED = "reopened"  # was committed, rolled back when the task reopened; not yet redone


class EventRow(BaseModel):
    block: int
    logIndex: int
    tx: str
    contract: str
    name: str
    args: dict[str, Any]


class ChainInfo(BaseModel):
    chainId: int
    addresses: dict[str, Any]
    indexedBlock: int | None = Field(description="Last block folded into the index")
    syncedAt: float | None = Field(description="Unix time of the indexer's last sync")


class Counts(BaseModel):
    tasks: int
    tasksByStatus: dict[str, int]
    segments: int
    finalSegments: int
    disputes: int
    openDisputes: int
    nodes: int
    events: int


class Overview(BaseModel):
    chain: ChainInfo
    counts: Counts
    latestEvents: list[EventRow]


class Court(StrEnum):
    """Who settles a task's disputes (TaskMarket.adjudicatorOf, fixed when the task is created)."""

    JURY = "jury"  # JuryAdjudicator: a drawn jury votes on the leaf
    REFEREE = "referee"  # OneStepAdjudicator: the referee game checks one scalar step on-chain


class TaskSummary(BaseModel):
    id: int
    status: str
    court: Court = Field(description="jury, or referee (the task was created with its step graph)")
    requester: str
    node: str | None
    reward: str = Field(description="Reward escrowed, in base units (decimal string)")
    rewardVeri: str = Field(description="Reward in whole tokens, formatted")
    segments: int = Field(description="totalSteps / segmentSteps")
    committed: int
    final: int
    openDisputes: int
    totalSteps: int
    segmentSteps: int
    epoch: int
    createdBlock: int


class TaskPage(BaseModel):
    page: int
    pages: int
    total: int
    status: str | None
    tasks: list[TaskSummary]


class Commit(BaseModel):
    epoch: int
    node: str
    traceRoot: str
    endStateHash: str
    checkpointCid: str
    leavesCid: str
    block: int
    tx: str


class SegmentInfo(BaseModel):
    k: int
    firstStep: int
    lastStep: int
    state: SegmentState
    current: Commit | None
    openDisputes: int
    finalAfterBlock: int | None = Field(description="The window closes after this block")
    disputes: list[int] = Field(description="Ids of its disputes at the task's court")
    replaced: list[Commit] = Field(description="Earlier commits rolled back by a reopen")
    leavesState: str | None = Field(description="ok, no-losses, missing or invalid")


class LossCurve(BaseModel):
    steps: list[int]
    losses: list[float | None]
    replacedSteps: list[int] = Field(description="Losses of commits later rolled back")
    replacedLosses: list[float | None]
    boundaries: list[int] = Field(description="Steps where segments end")
    disputeSteps: list[int]


class FinalCheckpoint(BaseModel):
    k: int
    step: int
    checkpointCid: str
    pullCommand: str


def _opt(description: str) -> Any:
    """An optional field (None until the game gets that far)."""
    return Field(default=None, description=description)


class RefereeFault(BaseModel):
    """Where a referee game found (or did not find) the fault, as far as it went: the op, chunk
    and element named, the scalar step the contract recomputed, a state tensor that is not what
    the step makes of it, or the move whose deadline passed."""

    opIndex: int | None = _opt("The op of the step's graph the game reached")
    dims: list[int] | None = _opt("Its output's shape")
    chunk: int | None = _opt("The 1 KiB chunk of its output")
    element: int | None = _opt("The element named (index in the output)")
    elementBits: int | None = _opt("The node's value of it (binary32 bits)")
    programSteps: int | None = _opt("Scalar steps of the element's program")
    scalarStep: int | None = _opt("The program step recomputed on-chain")
    opcode: int | None = None
    opcodeName: str | None = _opt("prover.trace.kinds.Opcode")
    binary64: bool | None = _opt("A binary64 step (the clip coefficient's)")
    computedHex: str | None = _opt("The contract's bits (Float32/Float64)")
    claimedHex: str | None = _opt("The node's bits")
    computedValue: str | None = None
    claimedValue: str | None = None
    stateSlot: int | None = _opt("State tensor after the step disputed")
    stateOp: int | None = _opt("The op whose output belongs there")
    stateLeaf: str | None = _opt("What the node's state holds there")
    stateWhat: str | None = _opt("What that tensor is not")
    timedOut: str | None = _opt("The phase whose move was missed")
    nodeLost: bool | None = None


class DisputeSummary(BaseModel):
    court: Court = Field(description="The adjudicator that numbers and settles it")
    id: int = Field(description="The dispute's id at its court (both courts count from 1)")
    taskId: int
    k: int
    step: int
    kind: str = Field(description="leaf: a leaf at a step; end-state: the committed end state")
    challenger: str
    node: str
    bond: str
    round: int
    outcome: str
    open: bool
    openedBlock: int
    resolvedBlock: int | None
    slashed: str | None
    faultFound: str
    fault: RefereeFault | None = Field(description="Referee games: where the fault was")
    url: str = Field(description="The dispute's page")


class TaskDetail(TaskSummary):
    graphRoot: str | None = Field(description="The step graph's root (referee tasks)")
    specCid: str
    specHash: str
    spec: dict[str, Any] | None
    specState: str | None
    challengeWindow: int
    segmentDeadline: int
    nodeStake: str
    dueBlock: int | None
    paid: str | None
    createdTx: str
    indexedBlock: int | None
    segmentList: list[SegmentInfo]
    disputeList: list[DisputeSummary]
    finalCheckpoints: list[FinalCheckpoint]
    lossCurve: LossCurve


class NodeInfo(BaseModel):
    address: str
    staked: str
    locked: str
    pending: str
    jailedUntil: int
    jailedNow: bool
    juror: bool
    tasks: int
    slashed: str
    rewards: str
    #: Dispute payouts credited (both adjudicators), the part pulled (PayoutClaimed), the rest.
    payouts: str
    claimed: str
    owed: str
    stakedVeri: str
    lockedVeri: str
    slashedVeri: str
    rewardsVeri: str


class NodeDetail(NodeInfo):
    taskList: list[TaskSummary]
    disputeList: list[DisputeSummary]


class Move(BaseModel):
    block: int
    logIndex: int
    kind: str
    actor: str | None
    detail: dict[str, Any]
    tx: str


class DisputeDetail(DisputeSummary):
    nodeLeaf: str
    majorityLeaf: str | None
    epoch: int
    graphRoot: str | None = Field(description="The task's step graph root (referee games)")
    payouts: dict[str, str] = Field(description="Credited to each account by this dispute")
    moves: list[Move]
