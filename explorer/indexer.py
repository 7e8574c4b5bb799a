"""The indexer: contract events -> SQLite, reorg-aware and resumable, plus the IPFS metadata.

``Indexer.sync()`` asks ``ledger.watch.EventWatcher`` for the new confirmed logs of every event
of StakeManager, TaskMarket, JuryAdjudicator and, when the addresses name one, the referee
(OneStepAdjudicator; fetched in one query per block range by ``ledger.eventset.EventSet``),
stores them and folds them into the chain tables
(``explorer.fold``) in one SQLite transaction together with the watcher's cursor, so a crash
between two syncs resumes exactly where the last commit left off. When the watcher reports a
reorg it rewinds: the events from the fork point on are deleted and the chain tables are folded
again from the events that remain, before the new branch's logs are applied.

``MetadataFetcher.fetch_metadata()`` (its own thread and connection) fetches, by CID and
verified block by block, the task specs (summarised, checked against the on-chain spec hash) and
the leaves files (per-step losses). Content that is not available yet is tried again later; it
never blocks the chain side.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eth_typing import HexStr

from explorer import db
from explorer.fold import Ev, apply, refold
from explorer.game import NOT_AN_OP
from explorer.moves import REFEREE_CONTRACT
from ledger.chain import Chain
from ledger.eventset import EventSet
from ledger.protocol import Addresses
from ledger.watch import Cursor, EventWatcher

log = logging.getLogger(__name__)

#: Contracts whose events are indexed, by their name in the addresses file.
CONTRACTS = (
    ("StakeManager", "stakeManager"),
    ("TaskMarket", "taskMarket"),
    ("JuryAdjudicator", "adjudicator"),
    (REFEREE_CONTRACT, "referee"),
)
#: Seconds before content that was missing from IPFS is asked for again.
RETRY_MISSING_S = 15.0


def clean(value: Any) -> Any:
    """A decoded event argument as plain JSON: bytes as 0x-hex, structs as dicts."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


class Indexer:
    """Keeps ``db_path`` in step with the chain (and, given a store client, with IPFS)."""

    def __init__(
        self,
        chain: Chain,
        addresses: Addresses,
        db_path: str | Path,
        *,
        confirmations: int = 0,
        max_range: int = 2_000,
    ) -> None:
        self.chain = chain
        self.addresses = addresses
        self.db_path = Path(db_path)
        self.conn = db.connect(self.db_path)
        db.bind_to_chain(self.conn, self.db_path, chain.chain_id, addresses.taskMarket)
        db.set_meta(self.conn, "addresses", json.dumps(addresses.__dict__))
        self.conn.commit()
        # an addresses file from before the referee has none: its deployment has no referee
        self.contracts = {
            name: chain.contract(name, getattr(addresses, key))
            for name, key in CONTRACTS
            if getattr(addresses, key, "")
        }
        self.events = EventSet(chain, list(self.contracts.values()))
        block, block_hash = (
            db.get_meta(self.conn, "cursor_block"),
            db.get_meta(self.conn, "cursor_hash"),
        )
        cursor = Cursor(int(block), block_hash) if block is not None and block_hash else None
        self._rewind_to: int | None = None
        self.watcher = EventWatcher(
            chain,
            [],
            start_block=addresses.deployBlock,
            confirmations=confirmations,
            max_range=max_range,
            cursor=cursor,
            on_reorg=self._on_reorg,
            source=self.events.logs,
        )

    def close(self) -> None:
        self.conn.close()

    def _on_reorg(self, block: int) -> None:
        self._rewind_to = block if self._rewind_to is None else min(block, self._rewind_to)

    def _event(self, entry: Any) -> Ev:
        args = clean(entry["args"])
        tx = "0x" + bytes(entry["transactionHash"]).hex()
        if entry["event"] == "FinalStateMismatch" and args["opIndex"] == NOT_AN_OP:
            args.update(self._state_call(tx))
        return Ev(entry["blockNumber"], entry["logIndex"], tx, entry["contract"], entry["event"],
                  args)

    def _state_call(self, tx: str) -> dict[str, Any]:
        """disputeKept and disputeState emit the same FinalStateMismatch: which one was called
        (and disputeState's claim: 0 a constant, 1 the scalar leaf) is in the transaction's
        input. Empty when the call came through another contract (the row then says less)."""
        referee = self.contracts[REFEREE_CONTRACT]
        txn = self.chain.retry(
            lambda: self.chain.w3.eth.get_transaction(HexStr(tx)), "get_transaction"
        )
        try:
            fn, params = referee.web3_contract.decode_function_input(txn["input"])
        except ValueError:
            return {}
        found: dict[str, Any] = {"call": fn.fn_name}
        if fn.fn_name == "disputeState":
            found["claim"] = int(params["claim"])
        return found

    def sync(self) -> int:
        """Index the logs of the blocks confirmed since the last sync; returns how many."""
        entries = self.watcher.poll()
        evs = [self._event(e) for e in entries]
        with self.conn:
            rewound = self._rewind_to is not None
            if rewound:
                gone = self.conn.execute(
                    "DELETE FROM events WHERE block >= ?", (self._rewind_to,)
                ).rowcount
                log.warning(
                    "reorg: dropped %d indexed events from block %d; refolding",
                    gone,
                    self._rewind_to,
                )
                refold(self.conn)
                self._rewind_to = None
            self.conn.executemany(
                "INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?)",
                [(e.block, e.log_index, e.tx, e.contract, e.name, json.dumps(e.args)) for e in evs],
            )
            for e in evs:
                apply(self.conn, e)
            cur = self.watcher.cursor
            if cur is not None:
                self._reconcile(evs, cur.block, everyone=rewound)
            if cur is not None:
                db.set_meta(self.conn, "cursor_block", cur.block)
                db.set_meta(self.conn, "cursor_hash", cur.block_hash)
                db.set_meta(self.conn, "indexed_block", cur.block)
            db.set_meta(self.conn, "synced_at", f"{time.time():.3f}")
        return len(evs)

    def _reconcile(self, evs: list[Ev], block: int, everyone: bool = False) -> None:
        """Stake positions from ``stakeInfo`` at ``block`` for the accounts these events touched
        (all accounts after a refold): a slash's split between an obligation's lock, free stake
        and the pending withdrawal is not in its event."""
        if everyone:
            touched = {r[0] for r in self.conn.execute("SELECT address FROM accounts")}
        else:
            touched = {
                e.args["account"]
                for e in evs
                if e.contract == "StakeManager" and "account" in e.args
            }
        stake = self.contracts["StakeManager"]
        for address in sorted(touched):
            i = stake.call("stakeInfo", address, block=block)
            self.conn.execute(
                "UPDATE accounts SET staked = ?, locked = ?, pending = ?, ready_at = ?, "
                "jailed_until = ?, juror = ? WHERE address = ?",
                (str(i[0]), str(i[1]), str(i[2]), int(i[3]), int(i[4]), int(bool(i[5])), address),
            )


class MetadataFetcher:
    """Fetches what the indexed events point at on IPFS: specs and leaves files (losses).

    Runs on its own connection and thread, so content that is slow or missing never holds up
    the chain side; missing content is asked for again every RETRY_MISSING_S seconds, content
    that is malformed (or a CID that is not one) is recorded as invalid and not asked for again.
    """

    def __init__(self, db_path: str | Path, client: Any) -> None:
        self.conn = db.connect(db_path)
        self.client = client
        self._missing: dict[str, float] = {}

    def close(self) -> None:
        self.conn.close()

    def _due(self, cid: str) -> bool:
        return time.monotonic() - self._missing.get(cid, -1e9) >= RETRY_MISSING_S

    def fetch_metadata(self, limit: int = 32) -> int:
        """Fetch up to ``limit`` specs and leaves files not indexed yet; returns how many tried."""
        specs = self.conn.execute(
            "SELECT DISTINCT spec_cid, spec_hash FROM tasks WHERE spec_cid NOT IN "
            "(SELECT cid FROM specs WHERE state != 'missing')"
        ).fetchall()
        leaves = self.conn.execute(
            "SELECT DISTINCT leaves_cid FROM segments WHERE leaves_cid NOT IN "
            "(SELECT cid FROM leaves WHERE state != 'missing')"
        ).fetchall()
        tried = 0
        for row in specs:
            if tried < limit and self._due(row[0]):
                tried += 1
                self._fetch_spec(row[0], row[1])
        for row in leaves:
            if tried < limit and self._due(row[0]):
                tried += 1
                self._fetch_leaves(row[0])
        return tried

    def _get(self, cid: str) -> tuple[bytes | None, str, str | None]:
        """(content, state if there is none, error)."""
        from store.errors import InvalidCIDError
        from veritrain.errors import StoreError

        try:
            return self.client.get_bytes(cid), "ok", None
        except InvalidCIDError as exc:
            return None, "invalid", str(exc)
        except StoreError as exc:
            self._missing[cid] = time.monotonic()
            return None, "missing", str(exc)

    def _fetch_spec(self, cid: str, spec_hash: str) -> None:
        from prover.spec import loads_spec
        from veritrain.errors import ProverError

        data, state, error = self._get(cid)
        summary = None
        if data is not None:
            try:
                spec = loads_spec(data)
                summary = json.dumps(spec_summary(spec, spec_hash))
                state, error = "ok", None
            except ProverError as exc:
                state, error = "invalid", str(exc)
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO specs VALUES (?, ?, ?, ?)", (cid, state, summary, error)
            )

    def _fetch_leaves(self, cid: str) -> None:
        from prover.merkle import loads_leaves
        from veritrain.errors import ProverError

        data, state, error = self._get(cid)
        rows: list[tuple[str, int, float | None]] = []
        if data is not None:
            try:
                doc = loads_leaves(data, cid)
                losses = doc.get("losses")
                state, error = ("ok", None) if losses is not None else ("no-losses", None)
                rows = [
                    (cid, s, _finite(v)) for s, v in zip(doc["steps"], losses or [], strict=False)
                ]
            except ProverError as exc:
                state, error = "invalid", str(exc)
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO leaves VALUES (?, ?, ?)", (cid, state, error))
            self.conn.executemany("INSERT OR REPLACE INTO losses VALUES (?, ?, ?)", rows)


def _finite(v: float) -> float | None:
    return v if v == v and abs(v) != float("inf") else None


def spec_summary(spec: Any, chain_hash: str) -> dict[str, Any]:
    """What the task page shows of a spec; ``hashOk``: it hashes to the on-chain spec hash."""
    cfg = spec.student.config
    return {
        "hashOk": "0x" + spec.spec_hash().hex() == chain_hash.lower(),
        "teacher": {"cid": spec.teacher.cid, "arch": spec.teacher.arch},
        "student": {
            "layers": cfg["num_hidden_layers"],
            "hidden": cfg["hidden_size"],
            "heads": cfg["num_attention_heads"],
            "init": spec.student.init.method,
        },
        "dataset": {"cid": spec.dataset.manifest_cid, "samples": spec.dataset.num_samples},
        "loss": spec.loss.type,
        "optimizer": {
            "lr": spec.optimizer.lr,
            "decay": spec.optimizer.decay,
            "warmup": spec.optimizer.warmup_steps,
        },
        "batchSize": spec.batch_size,
        "seqLen": spec.seq_len,
        "seed": spec.seed,
        "profile": spec.profile.name,
        "torch": spec.profile.torch,
        "stateHash": spec.state_hash,
    }


def _loop(step: Any, what: str, interval: float, stop: Any) -> None:
    """Call ``step()`` until ``stop`` is set, waiting ``interval`` whenever it did nothing; errors
    of the chain, the store or the database are logged and waited out."""
    from veritrain.errors import VeritrainError

    while not stop.is_set():
        try:
            n = step()
        except (VeritrainError, sqlite3.Error) as exc:
            log.warning("%s: %s (retrying)", what, exc)
            n = 0
        if n == 0:
            stop.wait(interval)


def follow(indexer: Indexer, *, interval: float = 1.0, stop: Any) -> None:
    """Keep the index in step with the chain until ``stop`` (a threading.Event) is set."""
    _loop(indexer.sync, "indexer", interval, stop)


def follow_metadata(fetcher: MetadataFetcher, *, interval: float = 1.0, stop: Any) -> None:
    """Fetch IPFS metadata as the indexer finds new CIDs, until ``stop`` is set."""
    _loop(fetcher.fetch_metadata, "metadata", interval, stop)
