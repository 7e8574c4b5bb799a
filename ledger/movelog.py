"""The referee bots' move journal: every move of a game is sent at most once.

A move is keyed by where the game stands when it is due (dispute, phase, depth left, index),
which no later move repeats. The key is journalled (fsync) before the transaction goes out and
marked mined after its receipt. After a restart or an RPC outage a bot that finds the game still
at a journalled key does not send again while the earlier transaction may still land
(``resend_after`` blocks); past that, the earlier one was lost and the move is sent once more
(the contract accepts one move per phase, so a late duplicate can only revert).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from ledger.referee import GameView, Referee

MOVES = """
CREATE TABLE IF NOT EXISTS moves (
  dispute_id INTEGER, move TEXT, name TEXT, block INTEGER, status TEXT, tx TEXT, gas INTEGER,
  attempts INTEGER, at REAL, PRIMARY KEY (dispute_id, move))
"""


class MoveStatus(StrEnum):
    """A journalled move (``moves.status``)."""

    #: Journalled; the transaction was (or was about to be) sent.
    SENDING = "sending"
    #: Its receipt came back.
    MINED = "mined"


@dataclass(frozen=True)
class MoveRow:
    dispute_id: int
    move: str
    name: str
    block: int
    status: MoveStatus
    tx: str
    gas: int
    attempts: int


class MoveLog:
    """SQLite journal of the moves one bot sent (WAL, synchronous=FULL)."""

    def __init__(self, path: str | Path, resend_after: int = 3) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(MOVES)
        self.resend_after = resend_after

    def close(self) -> None:
        self.db.close()

    def row(self, dispute_id: int, move: str) -> MoveRow | None:
        r = self.db.execute("SELECT dispute_id, move, name, block, status, tx, gas, attempts "
                            "FROM moves WHERE dispute_id = ? AND move = ?",
                            (dispute_id, move)).fetchone()
        return None if r is None else MoveRow(int(r[0]), r[1], r[2], int(r[3]), MoveStatus(r[4]),
                                              r[5] or "", int(r[6] or 0), int(r[7]))

    def rows(self, dispute_id: int | None = None) -> list[MoveRow]:
        sql = "SELECT dispute_id, move FROM moves"
        args: tuple[Any, ...] = ()
        if dispute_id is not None:
            sql, args = sql + " WHERE dispute_id = ?", (dispute_id,)
        keys = self.db.execute(sql + " ORDER BY rowid", args).fetchall()
        return [r for d, m in keys if (r := self.row(int(d), m)) is not None]

    def may_send(self, dispute_id: int, move: str, block: int) -> bool:
        """False while an earlier send of this move may still land."""
        r = self.row(dispute_id, move)
        if r is None:
            return True
        if r.status == MoveStatus.MINED:
            return False  # mined, and the game has not moved on yet in what we read: wait
        return block - r.block >= self.resend_after

    def send(self, dispute_id: int, move: str, name: str, block: int,
             tx: Callable[[], Any]) -> Any:
        """Journal ``move`` (fsync), send it with ``tx()``, mark it mined; the receipt."""
        self.db.execute("INSERT INTO moves (dispute_id, move, name, block, status, attempts, at) "
                        "VALUES (?,?,?,?,?,1,?) ON CONFLICT(dispute_id, move) DO UPDATE SET "
                        "block = excluded.block, attempts = attempts + 1, at = excluded.at",
                        (dispute_id, move, name, block, MoveStatus.SENDING, time.time()))
        receipt = tx()
        txh = receipt["transactionHash"]
        self.db.execute("UPDATE moves SET status = ?, tx = ?, gas = ? WHERE dispute_id = ? AND "
                        "move = ?", (MoveStatus.MINED, "0x" + bytes(txh).hex(),
                                     int(receipt["gasUsed"]), dispute_id, move))
        return receipt


class Played(StrEnum):
    """What one call of a referee bot's ``play`` did to a game."""

    #: Not our move (or nothing due).
    WAITING = "waiting"
    #: Our move was sent and mined.
    MOVED = "moved"
    #: An earlier send of the move may still land: not sent again yet.
    PENDING = "pending"
    #: The other party missed its deadline: we called resolve.
    RESOLVED = "resolved"
    #: We missed our deadline (the game is lost once anyone calls resolve).
    MISSED = "missed"
    #: The game is over.
    OVER = "over"
    #: Our move could not be made (nothing to prove, an input the referee cannot check yet, or
    #: the transaction reverted): reported; tried again on the next call.
    STUCK = "stuck"


def move_key(g: GameView) -> str:
    """Where game ``g`` stands: the journal key of the move due there."""
    return f"{g.phase.name}:{g.depthLeft}:{g.index}"


def turn(referee: Referee, moves: MoveLog, dispute_id: int, as_node: bool,
         progress: Callable[[str], None]) -> tuple[GameView, int, Played | None]:
    """The rule both bots follow before they move: the game, the block, and what to report
    instead of moving (None: our move is due and may be sent now). Past the deadline of the
    other party's move, resolve is called here (whoever calls it first wins the race)."""
    from ledger.errors import ContractRevertError
    from ledger.referee import GamePhase

    g = referee.game(dispute_id)
    if g.phase == GamePhase.RESOLVED:
        return g, 0, Played.OVER
    block = referee.protocol.chain.block_number()
    ours = g.nodeToMove == as_node
    if block > g.deadline:
        if ours:
            return g, block, Played.MISSED
        try:
            referee.resolve(dispute_id)
        except ContractRevertError as exc:  # someone else resolved it first
            progress(f"game {dispute_id}: resolve skipped ({exc})")
        progress(f"game {dispute_id}: the other party missed its {g.phase.name} move "
                 f"(deadline block {g.deadline}); resolved")
        return g, block, Played.RESOLVED
    if not ours:
        return g, block, Played.WAITING
    if not moves.may_send(dispute_id, move_key(g), block):
        return g, block, Played.PENDING
    return g, block, None


V = TypeVar("V")


class GameBot(Generic[V]):
    """What both referee bots share: the move journal, one view of the disputed step per game
    (``view_for`` builds it: a re-trace, or a read of its cache), and :func:`turn`."""

    def __init__(self, referee: Referee, moves: MoveLog, view_for: Callable[[int, GameView], V],
                 as_node: bool, progress: Callable[[str], None]) -> None:
        self.referee = referee
        self.moves = moves
        self.as_node = as_node
        self.progress = progress
        self._view_for = view_for
        self._views: dict[int, V] = {}

    def view_for(self, dispute_id: int, g: GameView) -> V:
        """The disputed step's view, built (or read from its cache) once per game."""
        if dispute_id not in self._views:
            self._views[dispute_id] = self._view_for(dispute_id, g)
        return self._views[dispute_id]

    def send(self, dispute_id: int, g: GameView, block: int, name: str,
             tx: Callable[[], Any]) -> Played:
        """Journal and send the move due at ``g``; a revert is reported, not raised."""
        from ledger.errors import ContractRevertError

        try:
            self.moves.send(dispute_id, move_key(g), name, block, tx)
        except ContractRevertError as exc:
            self.progress(f"game {dispute_id}: {name} reverted: {exc}")
            return Played.STUCK
        return Played.MOVED

    def due(self, dispute_id: int) -> tuple[GameView, int, Played | None]:
        """:func:`turn` for this bot; a finished game's view leaves memory (not the disk)."""
        g, block, skip = turn(self.referee, self.moves, dispute_id, self.as_node, self.progress)
        if skip is Played.OVER:
            self._views.pop(dispute_id, None)
        return g, block, skip
