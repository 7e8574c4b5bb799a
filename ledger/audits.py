"""Audit attestations on chain (the AuditRegistry, docs/consumer.md "How it was checked").

An auditor that replayed a segment commitment attests Ok or Fault once per commitment; the
registry only accepts staked, unjailed accounts other than the segment's node and only for the
segment's current commitment. Readers count independent audits per commitment from the
``AuditAttested`` events: one per auditor (the contract refuses a second), for the commitment the
chain holds now (an attestation of a commitment replaced by a reopen no longer counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from veritrain.errors import ConfigError

if TYPE_CHECKING:
    from ledger.chain import Contract
    from ledger.protocol import Protocol, Record


class AuditResult(IntEnum):
    """What an auditor found (the Solidity enum AuditResult)."""

    NONE = 0
    #: Every leaf, the end state and the end checkpoint match the replay.
    OK = 1
    #: The replay found the segment wrong (the auditor disputed it).
    FAULT = 2


@dataclass(frozen=True)
class Attestation:
    """One auditor's attestation of one commitment."""

    #: Checksummed address of the auditor.
    auditor: str
    #: What it found.
    result: AuditResult
    #: Block of the attesting transaction.
    block: int


@dataclass(frozen=True)
class SegmentAudits:
    """The attestations of segment ``k``'s current commitment."""

    task_id: int
    k: int
    attestations: tuple[Attestation, ...]

    @property
    def ok(self) -> int:
        """Independent auditors that found the commitment right."""
        return sum(1 for a in self.attestations if a.result == AuditResult.OK)

    @property
    def fault(self) -> int:
        """Independent auditors that found it wrong."""
        return sum(1 for a in self.attestations if a.result == AuditResult.FAULT)

    def to_doc(self) -> dict[str, Any]:
        return {"segment": self.k, "ok": self.ok, "fault": self.fault,
                "auditors": [{"address": a.auditor, "result": a.result.name.lower(),
                              "block": a.block} for a in self.attestations]}


def registry(protocol: Protocol) -> Contract:
    """The deployment's AuditRegistry (ConfigError when its addresses file names none)."""
    addr = protocol.addresses.auditRegistry
    if not addr:
        raise ConfigError("the addresses file names no auditRegistry (deployed before audit "
                          "attestations existed)",
                          hint="redeploy with `veritrain deploy`, or add the registry's address "
                               "as \"auditRegistry\" to the addresses file")
    return protocol.chain.contract("AuditRegistry", addr)


def attest(protocol: Protocol, task_id: int, k: int, trace_root: bytes, end_state_hash: bytes,
           committed_at: int, result: AuditResult) -> Any:
    """Attest ``result`` for segment ``k``'s commitment (roots and commit block as committed)."""
    return registry(protocol).transact("attest", task_id, k, bytes(trace_root),
                                       bytes(end_state_hash), int(committed_at), int(result))


def segment_audits(protocol: Protocol, task_id: int, k: int, seg: Record,
                   logs: list[Any] | None = None) -> SegmentAudits:
    """The attestations of the commitment ``seg`` (``protocol.segment(task_id, k)``) of segment
    ``k``: only those naming its roots and commit block, the first one per auditor. ``logs``: the
    task's AuditAttested events when the caller fetched them already (else fetched here)."""
    if logs is None:
        logs = attestation_logs(protocol, task_id)
    seen: dict[str, Attestation] = {}
    for ev in logs:
        a = ev["args"]
        same = (int(a["k"]) == k and bytes(a["traceRoot"]) == bytes(seg.traceRoot)
                and bytes(a["endStateHash"]) == bytes(seg.endStateHash)
                and int(a["committedAt"]) == int(seg.committedAt))
        if same and a["auditor"] not in seen:
            seen[a["auditor"]] = Attestation(str(a["auditor"]), AuditResult(int(a["result"])),
                                             int(ev["blockNumber"]))
    return SegmentAudits(task_id, k, tuple(seen.values()))


def attestation_logs(protocol: Protocol, task_id: int) -> list[Any]:
    """Every AuditAttested event of ``task_id`` since the deployment, in chain order, from a
    registry that attests this deployment's market (ConfigError otherwise)."""
    reg = registry(protocol)
    market = str(reg.call("market"))
    if market.lower() != protocol.addresses.taskMarket.lower():
        raise ConfigError(f"the auditRegistry {reg.address} attests the market {market}, not this "
                          f"deployment's {protocol.addresses.taskMarket}",
                          hint="fix \"auditRegistry\" in the addresses file")
    return reg.events("AuditAttested", protocol.addresses.deployBlock, taskId=task_id)
