"""Stake positions as a fold over StakeManager's events (part of ``explorer.fold``).

Amounts are uint256, kept as decimal TEXT and added up in Python. A slash's split between the
slasher's obligation lock, free stake and the pending withdrawal is not in its event; the fold
counts all locks as one (exact for an account with one lock) and the indexer then sets each
touched account's position from ``stakeInfo`` at the indexed block.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Ev:
    """One decoded event, JSON-clean (bytes as 0x-hex, big ints as ints)."""

    block: int
    log_index: int
    tx: str
    contract: str
    name: str
    args: dict[str, Any]


def amt(v: Any) -> int:
    return int(v or 0)


def account_row(conn: sqlite3.Connection, address: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM accounts WHERE address = ?", (address,)).fetchone()
    if row is None:
        conn.execute("INSERT INTO accounts (address) VALUES (?)", (address,))
        row = conn.execute("SELECT * FROM accounts WHERE address = ?", (address,)).fetchone()
    return dict(row)


def add_amounts(conn: sqlite3.Connection, address: str, **deltas: int) -> None:
    """Add integer deltas to an account's TEXT amounts (uint256 does not fit SQLite's INTEGER)."""
    acc = account_row(conn, address)
    sets = ", ".join(f"{k} = ?" for k in deltas)
    conn.execute(
        f"UPDATE accounts SET {sets} WHERE address = ?",
        (*(str(amt(acc[k]) + d) for k, d in deltas.items()), address),
    )


# ---- StakeManager ----------------------------------------------------------------------------
def _deposited(conn: sqlite3.Connection, ev: Ev) -> None:
    add_amounts(conn, ev.args["account"], staked=amt(ev.args["amount"]))


def _withdrawal_requested(conn: sqlite3.Connection, ev: Ev) -> None:
    a = ev.args
    amount = amt(a["amount"])
    add_amounts(conn, a["account"], staked=-amount, pending=amount)
    conn.execute("UPDATE accounts SET ready_at = ? WHERE address = ?", (a["readyAt"], a["account"]))


def _withdrawn(conn: sqlite3.Connection, ev: Ev) -> None:
    add_amounts(conn, ev.args["account"], pending=-amt(ev.args["amount"]))


def _locked(conn: sqlite3.Connection, ev: Ev) -> None:
    add_amounts(conn, ev.args["account"], locked=amt(ev.args["amount"]))


def _unlocked(conn: sqlite3.Connection, ev: Ev) -> None:
    add_amounts(conn, ev.args["account"], locked=-amt(ev.args["amount"]))


def _slashed(conn: sqlite3.Connection, ev: Ev) -> None:
    """StakeManager.slash: the slasher's obligation lock first, then free stake, then the pending
    withdrawal. The event does not name the obligation, so all locks count as one here (exact for
    an account with one lock); the indexer then sets the position from ``stakeInfo``."""
    a = ev.args
    acc = account_row(conn, a["account"])
    staked, locked, pending = amt(acc["staked"]), amt(acc["locked"]), amt(acc["pending"])
    rest = amt(a["amount"])
    from_lock = min(rest, locked)
    rest -= from_lock
    from_free = min(rest, staked - locked)
    rest -= from_free
    from_pending = min(rest, pending)
    add_amounts(
        conn,
        a["account"],
        staked=-(from_lock + from_free),
        locked=-from_lock,
        pending=-from_pending,
        slashed=amt(a["amount"]),
    )


def _jailed(conn: sqlite3.Connection, ev: Ev) -> None:
    account_row(conn, ev.args["account"])
    conn.execute(
        "UPDATE accounts SET jailed_until = ? WHERE address = ?",
        (ev.args["untilBlock"], ev.args["account"]),
    )


def _juror(flag: int) -> Callable[[sqlite3.Connection, Ev], None]:
    def apply(conn: sqlite3.Connection, ev: Ev) -> None:
        account_row(conn, ev.args["account"])
        conn.execute("UPDATE accounts SET juror = ? WHERE address = ?", (flag, ev.args["account"]))

    return apply


STAKE_HANDLERS: dict[str, Callable[[sqlite3.Connection, Ev], None]] = {
    "StakeDeposited": _deposited,
    "WithdrawalRequested": _withdrawal_requested,
    "StakeWithdrawn": _withdrawn,
    "StakeLocked": _locked,
    "StakeUnlocked": _unlocked,
    "StakeSlashed": _slashed,
    "Jailed": _jailed,
    "JurorOptedIn": _juror(1),
    "JurorOptedOut": _juror(0),
}
