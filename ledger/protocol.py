"""Typed access to the veritrain contracts: token, StakeManager, TaskMarket, JuryAdjudicator,
and the reads of the OneStepAdjudicator (referee) a task's roots need.

One ``Protocol`` per signing account. Struct results come back as ``Record`` (a dict with
attribute access, keys named as in the Solidity structs). Token approvals that a call needs
(deposit, createTask, openDispute) are made here, so callers think in protocol actions only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from ledger.chain import Chain, Contract
from ledger.segments import Commitment, find_commitment, with_roots
from veritrain.errors import ConfigError


class TaskStatus(IntEnum):
    NONE = 0
    OPEN = 1
    CLAIMED = 2
    COMPLETED = 3
    CANCELLED = 4


class ReleaseReason(IntEnum):
    """Why a node gives a claimed task back for free (``TaskMarket.releaseTask``)."""

    NONE = 0
    #: The requester's teacher or dataset cannot be fetched or does not verify.
    INPUTS_UNAVAILABLE = 1
    #: The committed checkpoint the task restarts from is missing or does not hold its
    #: endStateHash: the prefix is rolled back one segment (its committer's pay forfeited).
    START_CHECKPOINT_UNAVAILABLE = 2


class Outcome(IntEnum):
    NONE = 0
    NODE_RIGHT = 1
    NODE_WRONG = 2
    #: No quorum drawn in time, or no majority after the redraw: nobody slashed, the segment is
    #: not final (the task reopens at it), the challenger's bond comes back.
    VOID = 3


class DisputePhase(IntEnum):
    NONE = 0
    AWAITING_DRAW = 1
    COMMIT = 2
    REVEAL = 3
    RESOLVABLE = 4
    RESOLVED = 5


def format_amount(amount: int, decimals: int = 18) -> str:
    """A token amount in whole tokens, trailing zeros trimmed: ``1,234.5``."""
    from decimal import Decimal

    return f"{Decimal(int(amount)) / 10**decimals:,.4f}".rstrip("0").rstrip(".")


class Record(dict[str, Any]):
    """A decoded Solidity struct: ``rec.traceRoot`` or ``rec["traceRoot"]``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class Addresses:
    """Where the contracts live on one chain (the addresses file)."""

    chainId: int
    token: str
    stakeManager: str
    taskMarket: str
    adjudicator: str
    randomness: str
    deployBlock: int = 0
    #: AuditRegistry (audit attestations); "" in files written before it existed.
    auditRegistry: str = ""
    #: OneStepAdjudicator (tasks created with a step graph); "" in files written before the
    #: market wired two adjudicators (``adjudicator`` is the jury).
    referee: str = ""
    #: Whether requesters create tasks of profiles that have a step graph with their graph (the
    #: referee settles them) unless told otherwise: deploy/params.json "tasks".
    stepGraphByDefault: bool = False

    @classmethod
    def load(cls, path: Path) -> Addresses:
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"addresses file {path} does not exist",
                              hint="deploy first (`veritrain deploy` or `veritrain devnet up`) "
                                   "or set VERITRAIN_ADDRESSES") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"addresses file {path} is not JSON: {exc}") from None
        data = data.get("contracts", data)
        try:
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except TypeError as exc:
            raise ConfigError(f"addresses file {path} misses a field: {exc}") from None

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")


def _named(abi_outputs: list[dict[str, Any]], value: Any) -> Any:
    """Name the fields of (nested) tuple outputs after the ABI components."""
    if len(abi_outputs) == 1:
        return _name_one(abi_outputs[0], value)
    return tuple(_name_one(o, v) for o, v in zip(abi_outputs, value, strict=True))


def _name_one(out: dict[str, Any], value: Any) -> Any:
    typ = out["type"]
    if typ == "tuple":
        return Record({c["name"]: _name_one(c, v)
                       for c, v in zip(out["components"], value, strict=True)})
    if typ == "tuple[]":
        inner = {**out, "type": "tuple"}
        return [_name_one(inner, v) for v in value]
    return value


#: Most commitments a Protocol keeps read (about 5 KB each with 64 leaves).
_COMMITMENT_CACHE = 4096


class Protocol:
    """The veritrain contracts, seen by one account on one chain."""

    def __init__(self, chain: Chain, addresses: Addresses) -> None:
        self.chain = chain
        self.addresses = addresses
        self.token = chain.contract("VeriToken", addresses.token)
        self.stake = chain.contract("StakeManager", addresses.stakeManager)
        self.market = chain.contract("TaskMarket", addresses.taskMarket)
        self.jury = chain.contract("JuryAdjudicator", addresses.adjudicator)
        self._referee: Contract | None = None
        #: Commitments read from their SegmentCommitted log, by (task, k, committedAt, digest):
        #: a record that still has that key holds that commitment (one eth_getLogs each).
        self._commitments: dict[tuple[int, int, int, bytes], Commitment] = {}

    @classmethod
    def from_settings(cls, settings: Any, need_key: bool = True) -> Protocol:
        """The Protocol for the configured chain, addresses file and (unless read-only) key."""
        from ledger.keys import load_account

        if settings.addresses is None:
            raise ConfigError("no contract addresses file is configured",
                              hint="set VERITRAIN_ADDRESSES (or `addresses` in the config file)")
        account = load_account(settings.keystore) if need_key else None
        return cls(Chain(settings.rpc_url, account, confirmations=settings.confirmations),
                   Addresses.load(settings.addresses))

    def as_account(self, chain: Chain) -> Protocol:
        return Protocol(chain, self.addresses)

    @property
    def me(self) -> str:
        return self.chain.address

    def view(self, contract: Contract, fn: str, *args: Any) -> Any:
        """Call a view and name struct fields."""
        abi = next(i for i in contract.artifact.abi
                   if i.get("type") == "function" and i["name"] == fn
                   and len(i["inputs"]) == len(args))
        return _named(abi["outputs"], contract.call(fn, *args))

    # --- token ---------------------------------------------------------------------------------
    def balance(self, who: str | None = None) -> int:
        return int(self.token.call("balanceOf", who or self.me))

    def _approve(self, spender: Contract, amount: int) -> None:
        if amount > 0 and int(self.token.call("allowance", self.me, spender.address)) < amount:
            self.token.transact("approve", spender.address, amount)

    # --- staking -------------------------------------------------------------------------------
    def deposit(self, amount: int) -> Any:
        self._approve(self.stake, amount)
        return self.stake.transact("deposit", amount)

    def request_withdrawal(self, amount: int) -> Any:
        return self.stake.transact("requestWithdrawal", amount)

    def withdraw(self) -> Any:
        return self.stake.transact("withdraw")

    def opt_in_juror(self) -> Any:
        return self.stake.transact("optInJuror")

    def opt_out_juror(self) -> Any:
        return self.stake.transact("optOutJuror")

    def min_juror_stake(self) -> int:
        """Stake a juror needs to join and stay in the pool."""
        return int(self.stake.call("minJurorStake"))

    def stake_info(self, who: str | None = None) -> Record:
        return self.view(self.stake, "stakeInfo", who or self.me)

    def is_jailed(self, who: str | None = None) -> bool:
        return bool(self.stake.call("isJailed", who or self.me))

    # --- tasks ---------------------------------------------------------------------------------
    def create_task(self, spec_cid: str, spec_hash: bytes, reward: int, *, total_steps: int,
                    segment_steps: int, challenge_window: int, segment_deadline: int,
                    node_stake: int, graph: Mapping[str, Any] | None = None) -> int:
        """Post a task (escrowing ``reward``); returns its id. With ``graph`` (the StepGraph
        by Solidity field name, ``prover.trace.roots.TaskRoots.as_struct``) the roots are
        recorded with it and the referee settles its disputes; without, the jury."""
        self._approve(self.market, reward)
        params = (total_steps, segment_steps, challenge_window, segment_deadline, node_stake)
        if graph is None:
            receipt = self.market.transact("createTask", spec_cid, spec_hash, reward, params)
        else:
            receipt = self.market.transact("createTaskWithGraph", spec_cid, spec_hash, reward,
                                           params, self._graph_tuple(graph))
        (event,) = self.market.decode_events(receipt, "TaskCreated")
        return int(event["args"]["taskId"])

    def _graph_tuple(self, graph: Mapping[str, Any]) -> tuple[Any, ...]:
        """``graph`` in the order of the compiled StepGraph struct (names must match)."""
        abi = next(i for i in self.market.artifact.abi
                   if i.get("type") == "function" and i["name"] == "createTaskWithGraph")
        want = [c["name"] for c in abi["inputs"][-1]["components"]]
        if sorted(want) != sorted(graph):
            raise ConfigError(f"the StepGraph struct has fields {want}, the roots give "
                              f"{sorted(graph)}",
                              hint="rebuild the contracts (`forge build`) with this checkout")
        return tuple(graph[n] for n in want)

    @property
    def referee(self) -> Contract:
        """The market's OneStepAdjudicator (from the addresses file, else asked of the market)."""
        if self._referee is None:
            addr = self.addresses.referee or str(self.market.call("referee"))
            self._referee = self.chain.contract("OneStepAdjudicator", addr)
        return self._referee

    def adjudicator_of(self, task_id: int) -> str:
        """The address of the task's adjudicator, fixed at its creation."""
        return str(self.market.call("adjudicatorOf", task_id))

    def is_refereed(self, task_id: int) -> bool:
        """Whether the task was created with its step graph (the referee settles it)."""
        return self.adjudicator_of(task_id).lower() != str(self.jury.address).lower()

    def step_graph(self, task_id: int) -> Record:
        """The StepGraph recorded with the task (zero roots for a jury task)."""
        return self.view(self.referee, "stepGraph", task_id)

    def _jury_task(self, task_id: int) -> None:
        """Refuse a jury call on a task whose disputes the referee settles."""
        from ledger.errors import WrongAdjudicatorError

        adj = self.adjudicator_of(task_id)
        if adj.lower() != str(self.jury.address).lower():
            raise WrongAdjudicatorError(
                f"task {task_id} was created with its step graph: its disputes go to the "
                f"referee at {adj}, not to the jury", task_id=task_id, adjudicator=adj,
                attempted=str(self.jury.address),
                hint="play the referee game (OneStepAdjudicator) for this task")

    def cancel_task(self, task_id: int) -> Any:
        """Requester: cancel a task nobody works on (open, or claimed past its due block: the
        stall is timed out first); committers of its final prefix are paid pro rata."""
        return self.market.transact("cancelTask", task_id)

    def release_task(self, task_id: int, reason: ReleaseReason) -> Any:
        """Node: give a claimed task back without a slash because its inputs are unavailable
        (only before the first commit, within the market's releaseWindow of the claim)."""
        return self.market.transact("releaseTask", task_id, int(reason))

    def has_released(self, task_id: int, who: str | None = None) -> bool:
        return bool(self.market.call("hasReleased", task_id, who or self.me))

    def claim_task(self, task_id: int) -> Any:
        return self.market.transact("claimTask", task_id)

    def commit_segment(self, task_id: int, k: int, trace_root: bytes, end_state_hash: bytes,
                       checkpoint_cid: str, leaves_cid: str, *, leaves: Sequence[bytes]) -> Any:
        """Commit segment k with its ``leaves`` (published in the event; they must rebuild
        ``trace_root``, or the contract reverts TraceRootMismatch)."""
        return self.market.transact("commitSegment", task_id, k, trace_root, end_state_hash,
                                    checkpoint_cid, leaves_cid, [bytes(x) for x in leaves])

    def timeout_stall(self, task_id: int) -> Any:
        return self.market.transact("timeoutStall", task_id)

    def claim_reward(self, task_id: int) -> Any:
        return self.market.transact("claimReward", task_id)

    def task(self, task_id: int) -> Record:
        return self.view(self.market, "task", task_id)

    def segment(self, task_id: int, k: int) -> Record:
        """Segment k's record with its roots: the market keeps one slot (rootsDigest, committedAt,
        epoch, openDisputes; node, committed, isFinal derived), and ``traceRoot`` /
        ``endStateHash`` are added from the SegmentCommitted event whose roots hash to the digest
        (ledger.segments; zeros when the segment was never committed)."""
        record = self.view(self.market, "segment", task_id, k)
        return Record(with_roots(record, self._find_commitment(task_id, k, record)))

    def commitment(self, task_id: int, k: int) -> Commitment | None:
        """The commitment segment k's record holds now (its SegmentCommitted event: roots, CIDs,
        node, leaves, block), or None when it was never committed. It may be a commitment of an
        earlier epoch that a reopen took out of the trace: check ``segment(...).committed``."""
        record = self.view(self.market, "segment", task_id, k)
        return self._find_commitment(task_id, k, record)

    def _find_commitment(self, task_id: int, k: int, record: Any) -> Commitment | None:
        """``find_commitment``, cached by what the record says (a recommit after a reopen has
        another block, and other roots another digest, so it is read afresh)."""
        key = (task_id, k, int(record["committedAt"]), bytes(record["rootsDigest"]))
        if key[2] == 0:
            return None
        found = self._commitments.get(key)
        if found is None:
            found = find_commitment(self.market, task_id, k, record)
            if found is None:  # pragma: no cover - committedAt > 0 always finds or raises
                return None
            if len(self._commitments) >= _COMMITMENT_CACHE:
                self._commitments.clear()
            self._commitments[key] = found
        return found

    def roots(self, task_id: int, k: int) -> tuple[bytes, bytes]:
        """(traceRoot, endStateHash) of segment k's current commitment, as transactions that name
        it pass them back (zeros when it was never committed)."""
        found = self.commitment(task_id, k)
        return found.roots if found is not None else (bytes(32), bytes(32))

    def _dispute_roots(self, task_id: int,
                       k: int) -> tuple[tuple[bytes, bytes], tuple[bytes, bytes]]:
        """What an open names: segment k's roots and segment k-1's (zeros for k == 0), which an
        adjudicator that anchors the state before the first step of segment k reads."""
        previous = self.roots(task_id, k - 1) if k > 0 else (bytes(32), bytes(32))
        return self.roots(task_id, k), previous

    def is_final(self, task_id: int, k: int) -> bool:
        return bool(self.market.call("isFinal", task_id, k))

    def segment_count(self, task_id: int) -> int:
        return int(self.market.call("segmentCount", task_id))

    def task_count(self) -> int:
        return int(self.market.call("taskCount"))

    def market_params(self) -> Record:
        """Slash shares and the bounds createTask enforces (MarketParams)."""
        return self.view(self.market, "params")

    def dispute_slash(self, task_id: int) -> int:
        """What a lost dispute slashes from the node of ``task_id``."""
        return int(self.market.call("disputeSlash", task_id))

    # --- disputes ------------------------------------------------------------------------------
    def open_dispute(self, task_id: int, k: int, step: int, leaf: bytes, proof: list[bytes]) -> int:
        """Open a jury dispute on the node's ``leaf`` at ``step`` (bond approved here); returns
        its id. WrongAdjudicatorError if the task's disputes go to the referee."""
        self._jury_task(task_id)
        self._approve(self.jury, int(self.jury.call("challengeBond")))
        roots, previous = self._dispute_roots(task_id, k)
        receipt = self.jury.transact("openDispute", task_id, k, roots, previous, step, leaf, proof)
        (event,) = self.jury.decode_events(receipt, "DisputeOpened")
        return int(event["args"]["disputeId"])

    def open_end_state_dispute(self, task_id: int, k: int) -> int:
        """Open a dispute on segment ``k``'s committed end state (bond approved here); returns
        its id.

        Needs no leaf or proof: the contract computes the node's claim, the leaf of step (k+1)*S
        from the committed endStateHash. Use it when the node's leaves are unavailable or do not
        match its trace root. Reverts EndStateDisputeOpen while one is unresolved on this
        commitment. WrongAdjudicatorError if the task's disputes go to the referee.
        """
        self._jury_task(task_id)
        self._approve(self.jury, int(self.jury.call("challengeBond")))
        roots, previous = self._dispute_roots(task_id, k)
        receipt = self.jury.transact("openEndStateDispute", task_id, k, roots, previous)
        (event,) = self.jury.decode_events(receipt, "DisputeOpened")
        return int(event["args"]["disputeId"])

    def end_state_dispute_of(self, task_id: int, k: int) -> int:
        """The latest end-state dispute on segment ``k``'s current commitment (0: none)."""
        return int(self.jury.call("endStateDisputeOf", task_id, k))

    def draw_jury(self, dispute_id: int) -> Any:
        return self.jury.transact("drawJury", dispute_id)

    def vote_commitment(self, dispute_id: int, leaf: bytes, salt: bytes,
                        juror: str | None = None) -> bytes:
        return bytes(self.jury.call("voteCommitment", dispute_id, leaf, salt, juror or self.me))

    def commit_vote(self, dispute_id: int, commitment: bytes) -> Any:
        return self.jury.transact("commitVote", dispute_id, commitment)

    def reveal_vote(self, dispute_id: int, leaf: bytes, salt: bytes) -> Any:
        return self.jury.transact("revealVote", dispute_id, leaf, salt)

    def resolve(self, dispute_id: int) -> Any:
        return self.jury.transact("resolve", dispute_id)

    def claim_payout(self) -> Any:
        return self.jury.transact("claimPayout")

    def dispute(self, dispute_id: int) -> Record:
        return self.view(self.jury, "dispute", dispute_id)

    def jurors(self, dispute_id: int) -> list[str]:
        return list(self.jury.call("jurors", dispute_id))

    def vote(self, dispute_id: int, juror: str | None = None) -> Record:
        return self.view(self.jury, "vote", dispute_id, juror or self.me)

    def owed(self, who: str | None = None) -> int:
        return int(self.jury.call("owed", who or self.me))

    def dispute_count(self) -> int:
        return int(self.jury.call("disputeCount"))

    def jury_params(self) -> Record:
        return self.view(self.jury, "params")
