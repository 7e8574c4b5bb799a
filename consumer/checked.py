"""How a checkpoint was checked: the independent audits attested on chain for every segment it
is the product of (segments 0..k for the checkpoint of segment k).

An audit counts when a staked account other than the segment's node attested its current
commitment in the AuditRegistry (``ledger.audits``). A checkpoint with a segment nobody attested
Ok is refused unless the caller allows unaudited checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from consumer.errors import UnauditedError
from ledger.audits import SegmentAudits, attestation_logs, segment_audits
from veritrain.errors import ConfigError

if TYPE_CHECKING:
    from ledger.protocol import Protocol


def describe(sa: SegmentAudits) -> str:
    """One line per segment: the count, then who."""
    who = ", ".join(f"{a.auditor} ({a.result.name.lower()})" for a in sa.attestations)
    line = f"segment {sa.k}: {sa.ok} independent audit(s) ok"
    if sa.fault:
        line += f", {sa.fault} found it wrong (their dispute did not win: it is final)"
    return line + (f" by {who}" if who else "")


def audit_report(protocol: Protocol, task_id: int, k: int, *, allow_unaudited: bool,
                 say: Callable[[str], None]) -> list[SegmentAudits]:
    """The attestations of segments 0..k; UnauditedError when one has no Ok audit (unless
    ``allow_unaudited``)."""
    try:
        logs = attestation_logs(protocol, task_id)
    except ConfigError as exc:
        if not allow_unaudited:
            raise UnauditedError(f"cannot tell how task {task_id} was checked: {exc}",
                                 task_id=task_id, segments=list(range(k + 1))) from None
        say(f"audits: unknown ({exc}); taken anyway (--allow-unaudited)")
        return []
    report = [segment_audits(protocol, task_id, j, protocol.segment(task_id, j), logs)
              for j in range(k + 1)]
    for sa in report:
        say("  " + describe(sa))
    missing = [sa.k for sa in report if sa.ok == 0]
    if missing and not allow_unaudited:
        raise UnauditedError(
            f"segment(s) {', '.join(map(str, missing))} of task {task_id} have no independent "
            f"audit on chain: nobody but the node attested that the checkpoint of segment {k} "
            f"was replayed and found right", task_id=task_id, segments=missing)
    if missing:
        say(f"unaudited segment(s) {missing} taken anyway (--allow-unaudited)")
    return report
