"""The explorer's indexer against a real anvil and the real contracts: its books agree with the
contracts' views to the wei after a cheat, a jury, a slash, a reopen, a takeover, a griefing
dispute, a withdrawal and a payout; it rewinds a reorg; it resumes from its cursor."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak

from explorer import queries
from explorer.indexer import Indexer
from explorer.models import SegmentState
from ledger.chain import Chain
from ledger.protocol import Outcome, TaskStatus
from prover import merkle
from tests.support.cast import (
    DEADLINE,
    NODE_STAKE,
    REWARD,
    SEG,
    TOTAL,
    WINDOW,
    honest_hash,
    make_cast,
)

E18 = 10**18
ACCESS = queries.Access("http://rpc", "http://ipfs", None)


def _tables(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for table in ("events", "tasks", "segments", "claims", "accounts", "disputes", "moves"):
        out[table] = [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3")]
    return out


def _scenario(w: Any) -> dict[str, int]:
    """A node cheats in both segments and is caught twice; between the two verdicts it moves its
    stake into a withdrawal, so the second slash takes free stake and then the pending
    withdrawal. A takeover finishes the task; a griefing dispute is lost with one dissenting
    juror penalised; a task is cancelled; a juror withdraws part and one claims its payouts."""
    cheated = w.post()
    w.node.claim_task(cheated)
    seg0 = w.commit(w.node, cheated, 0, wrong_from=3)
    seg1 = w.commit(w.node, cheated, 1, wrong_from=11)
    d_cheat = w.dispute(w.challenger, cheated, 0, 3, seg0)
    d_again = w.dispute(w.challenger2, cheated, 1, 11, seg1)
    w.run_jury(d_cheat, lambda i, a: merkle.leaf(cheated, 3, honest_hash(cheated, 3)))
    info = w.node.stake_info()
    w.node.request_withdrawal(int(info.staked) - int(info.locked) - 100 * E18)
    w.run_jury(d_again, lambda i, a: merkle.leaf(cheated, 11, honest_hash(cheated, 11)))
    w.node2.claim_task(cheated)
    for k in range(TOTAL // SEG):
        w.commit(w.node2, cheated, k)
    other = w.post()
    w.node2.claim_task(other)
    good = w.commit(w.node2, other, 0)
    d_grief = w.dispute(w.challenger2, other, 0, 2, good)
    dissenter = w.jurors[2].me
    w.run_jury(d_grief, lambda i, a: keccak(b"a wrong leaf") if a == dissenter else good[1])
    w.anvil.mine(WINDOW + 2)
    w.node2.claim_reward(cheated)
    # node2 stalls after one segment: the requester times it out (a slash) and cancels the task,
    # which pays node2 half the reward for its final half and refunds the rest
    stalled = w.post()
    w.node2.claim_task(stalled)
    w.commit(w.node2, stalled, 0)
    w.anvil.mine(DEADLINE + 1)
    w.requester.timeout_stall(stalled)
    w.requester.market.transact("cancelTask", stalled)
    cancelled = w.post()
    w.requester.market.transact("cancelTask", cancelled)
    w.jurors[0].request_withdrawal(10 * E18)
    w.jurors[1].claim_payout()
    return {
        "cheated": cheated,
        "other": other,
        "cancelled": cancelled,
        "stalled": stalled,
        "d_cheat": d_cheat,
        "d_again": d_again,
        "d_grief": d_grief,
    }


def test_index_agrees_with_the_contracts_to_the_wei(
    anvil: Any, protocol: Any, deployed_addresses: Any, tmp_path: Path
) -> None:
    w = make_cast(anvil, protocol)
    ids = _scenario(w)
    p = w.deployer
    ix = Indexer(Chain(anvil.url), deployed_addresses, tmp_path / "index.sqlite")
    assert ix.sync() > 0
    conn = ix.conn
    accounts = {r["address"]: r for r in conn.execute("SELECT * FROM accounts")}
    assert w.node.me in accounts and w.jurors[0].me in accounts
    for addr, row in accounts.items():
        info = p.stake_info(addr)
        got = (
            int(row["staked"]),
            int(row["locked"]),
            int(row["pending"]),
            row["jailed_until"],
            bool(row["juror"]),
        )
        assert got == (
            int(info.staked),
            int(info.locked),
            int(info.pending),
            int(info.jailedUntil),
            bool(info.juror),
        ), addr
    for tid in range(1, p.task_count() + 1):
        on_chain = p.task(tid)
        row = conn.execute("SELECT * FROM tasks WHERE id = ?", (tid,)).fetchone()
        assert (row["status"], row["epoch"], row["next_segment"], row["open_disputes"]) == (
            int(on_chain.status),
            int(on_chain.epoch),
            int(on_chain.nextSegment),
            int(on_chain.openDisputes),
        )
        assert (row["node"] or "0x" + "0" * 40).lower() == on_chain.node.lower()
        detail = queries.task(conn, tid, ACCESS)
        for seg in detail.segmentList:
            assert (seg.state is SegmentState.FINAL) == p.is_final(tid, seg.k), (
                tid,
                seg.k,
                seg.state,
            )
    assert (
        TaskStatus(
            conn.execute("SELECT status FROM tasks WHERE id = ?", (ids["cancelled"],)).fetchone()[0]
        )
        is TaskStatus.CANCELLED
    )
    for did in (ids["d_cheat"], ids["d_again"], ids["d_grief"]):
        d = queries.dispute(conn, did)
        assert d.outcome == Outcome(int(p.dispute(did).outcome)).name.lower()
        kinds = [m.kind for m in d.moves]
        assert kinds[0] == "opened" and "jury-drawn" in kinds and kinds.count("vote-revealed") == 3
        assert "resolved" in kinds
    cheat = queries.dispute(conn, ids["d_cheat"])
    assert cheat.outcome == "node_wrong" and "node-slashed" in [m.kind for m in cheat.moves]
    assert "step 3" in cheat.faultFound
    node = queries.node(conn, w.node.me)
    slashes = [
        int(e["args"]["amount"])
        for e in p.stake.events("StakeSlashed")
        if e["args"]["account"] == w.node.me
    ]
    assert node.jailedNow and len(slashes) >= 2 and int(node.slashed) == sum(slashes)
    grief = queries.dispute(conn, ids["d_grief"])
    assert grief.outcome == "node_right" and [
        m.actor for m in grief.moves if m.kind == "juror-penalised"
    ] == [w.jurors[2].me]
    assert int(queries.node(conn, w.node2.me).rewards) == REWARD + REWARD // 2
    stalled = queries.task(conn, ids["stalled"], ACCESS)
    assert stalled.status == "cancelled" and int(stalled.paid or 0) == REWARD // 2
    payouts = sum(int(r["payouts"]) for r in accounts.values())
    credited = sum(int(e["args"]["amount"]) for e in p.jury.events("PayoutCredited"))
    assert payouts == credited
    claimed = sum(int(e["args"]["amount"]) for e in p.jury.events("PayoutClaimed"))
    assert claimed > 0 and sum(int(r["claimed"]) for r in accounts.values()) == claimed
    for r in accounts.values():  # what is still owed is what the jury still holds for them
        assert int(r["payouts"]) - int(r["claimed"]) == int(p.jury.call("owed", r["address"]))
    reopened = queries.task(conn, ids["cheated"], ACCESS)
    assert reopened.status == "completed" and reopened.segmentList[0].replaced[0].node == w.node.me
    ix.close()


def test_indexer_rewinds_a_reorg(fresh_anvil: Any, tmp_path: Path) -> None:
    from deploy.deployer import deploy_all
    from ledger.protocol import Protocol

    addresses = deploy_all(Chain(fresh_anvil.url, fresh_anvil.accounts[0]))
    p = Protocol(Chain(fresh_anvil.url, fresh_anvil.accounts[0]), addresses)

    def post(reward: int) -> int:
        return p.create_task(
            "bafyspec",
            keccak(b"spec"),
            reward,
            total_steps=TOTAL,
            segment_steps=SEG,
            challenge_window=WINDOW,
            segment_deadline=30,
            node_stake=NODE_STAKE,
        )

    post(1 * E18)
    ix = Indexer(Chain(fresh_anvil.url), addresses, tmp_path / "index.sqlite")
    ix.sync()
    p.deposit(5 * E18)  # two transactions (approve, deposit) after the first sync
    post(2 * E18)
    ix.sync()
    assert [r[0] for r in ix.conn.execute("SELECT reward FROM tasks ORDER BY id")] == [
        str(E18),
        str(2 * E18),
    ]
    # The deposit's and the second task's blocks are replaced by empty ones; a third task lands.
    fresh_anvil.rpc("anvil_reorg", 3, [])
    post(3 * E18)
    ix.sync()
    assert ix.watcher.reorgs == 1
    assert [r[0] for r in ix.conn.execute("SELECT reward FROM tasks ORDER BY id")] == [
        str(E18),
        str(3 * E18),
    ]
    assert p.task_count() == 2
    assert ix.conn.execute("SELECT COUNT(*) FROM accounts WHERE staked != '0'").fetchone()[0] == 0
    fresh = Indexer(Chain(fresh_anvil.url), addresses, tmp_path / "fresh.sqlite")
    fresh.sync()
    assert _tables(ix.conn) == _tables(fresh.conn)


def test_indexer_resumes_from_its_cursor(
    anvil: Any, protocol: Any, deployed_addresses: Any, tmp_path: Path
) -> None:
    w = make_cast(anvil, protocol)
    w.post()
    db = tmp_path / "index.sqlite"
    first = Indexer(Chain(anvil.url), deployed_addresses, db)
    first.sync()
    cursor = first.watcher.cursor
    assert cursor is not None
    first.close()
    task = w.post()
    w.node.claim_task(task)
    w.commit(w.node, task, 0)
    again = Indexer(Chain(anvil.url), deployed_addresses, db)
    assert again.watcher.next_block == cursor.block + 1  # resumes, does not start over
    assert again.sync() >= 3  # TaskCreated, StakeLocked, TaskClaimed, SegmentCommitted
    scratch = Indexer(Chain(anvil.url), deployed_addresses, tmp_path / "scratch.sqlite")
    scratch.sync()
    assert _tables(again.conn) == _tables(scratch.conn)


def test_metadata_fetcher_keeps_losses_and_marks_missing_and_invalid_content(
    anvil: Any, protocol: Any, deployed_addresses: Any, tmp_path: Path
) -> None:
    from explorer.indexer import MetadataFetcher
    from store.client import Client
    from store.server import serve

    w = make_cast(anvil, protocol)
    task = w.post()  # its spec CID, "bafyspec", is not a CID
    w.node.claim_task(task)
    steps = list(range(1, SEG + 1))
    hashes = [honest_hash(task, t) for t in steps]
    losses = [3.0 - 0.125 * i for i in range(SEG)]
    with serve(tmp_path / "repo") as store, Client(store.url, timeout=5.0, retries=0) as client:
        good = client.put_file(
            merkle.write_leaves_file(tmp_path / "l0.json", task, 0, steps, hashes, losses)
        )
        gone = client.put_bytes(b"leaves that were never pinned for long")
        client.unpin(gone)
        client.gc()
        for k, cid in ((0, good), (1, gone)):
            leaves = merkle.leaves_for(task, k * SEG, hashes)
            w.node.commit_segment(
                task, k, merkle.trace_root(leaves), keccak(b"end"), "bafyckpt", cid, leaves=leaves
            )
        db = tmp_path / "index.sqlite"
        ix = Indexer(Chain(anvil.url), deployed_addresses, db)
        ix.sync()
        fetcher = MetadataFetcher(db, client)
        assert fetcher.fetch_metadata() == 3
        states = dict(fetcher.conn.execute("SELECT cid, state FROM leaves").fetchall())
        assert states == {good: "ok", gone: "missing"}
        assert fetcher.conn.execute("SELECT state FROM specs").fetchone()[0] == "invalid"
        assert fetcher.fetch_metadata() == 0  # missing: later; invalid: never again
        curve = queries.task(ix.conn, task, ACCESS).lossCurve
        assert curve.steps == steps and curve.losses == losses
        fetcher.close()
        ix.close()
