"""The explorer on a real referee game: the session anvil with the real deployment (a market
wired to the jury and to OneStepAdjudicator), the embedded IPFS store, a node that trains the
tiny task with one weight one ulp off before step 3 (tests/support/referee.py), its referee bot
against the auditor bot, played to checkStep. Beside it, a jury task with a dispute of the same
id (1 at each court).

The index (folded as the game goes and again from scratch) shows the game's every move as a
timeline row of its kind, where the fault was (op, element, scalar step, opcode, the node's bits
vs binary32's) as the contract's events say, the outcome, and books exact to the wei against the
contracts' views; both disputes 1 are kept apart; the dispute page shows it in a real browser.
Set VERITRAIN_EXPLORER_REFEREE_SCREENSHOT=path.png to keep that page's screenshot (docs/img)."""

from __future__ import annotations

import os
from typing import Any

import pytest
import requests

from explorer import db, queries
from explorer.fold import Court, MoveKind, refold
from explorer.indexer import Indexer
from explorer.server import Explorer, ExplorerConfig
from ledger.chain import Chain
from ledger.protocol import Outcome
from ledger.referee import GamePhase, Referee
from prover import merkle
from prover.trace.kinds import Opcode
from tests.support import referee_fixtures
from tests.support.actors import E18, Requester
from tests.support.referee import GameDriver, SteppedNode, graph_of, one_ulp, refereed_task

#: The referee world (a v2 task, the real deployment), overriding the explorer conftest's bot
#: world in this module.
published = referee_fixtures.published
referee_addresses = referee_fixtures.referee_addresses
world = referee_fixtures.world

REQUESTER, NODE, CHALLENGER, JURY_CHALLENGER = 0, 1, 2, 3
REWARD, NODE_STAKE = 100 * E18, 1000 * E18
FAULT_STEP = 3


def _referee_task(world: Any) -> tuple[int, Any]:
    task = refereed_task(world, REWARD, NODE_STAKE)
    return task, graph_of(world.published.spec, task)


def _auditor(world: Any) -> Any:
    from challenger.auditor import Auditor
    from challenger.policy import AuditPolicy

    return Auditor(world.protocol(CHALLENGER), world.client, world.tmp / "auditor",
                   AuditPolicy(probability=1.0), cache_dir=world.cache)


def _made_up_commit(world: Any, node: Any, task: int) -> list[bytes]:
    """The node claims ``task`` and commits segment 0 with made-up state hashes (no training:
    a node that never answers needs none); returns its leaves."""
    from eth_hash.auto import keccak

    node.deposit(NODE_STAKE)
    node.claim_task(task)
    S = world.published.spec.segment_steps
    hashes = [keccak(b"made-up state %d" % i) for i in range(S)]
    leaves = merkle.leaves_for(task, 0, hashes)
    (world.tmp / "leaves.json").write_text("{}")
    cid = world.client.put_file(world.tmp / "leaves.json")
    node.commit_segment(task, 0, merkle.trace_root(leaves), hashes[-1], cid, cid, leaves=leaves)
    return leaves


def _jury_dispute(world: Any, node: Any) -> tuple[int, int]:
    """A jury task (no step graph) with made-up commits and a dispute on its leaf at step 2:
    the jury's dispute 1. Returns (task, dispute id)."""
    requester = Requester(world.protocol(REQUESTER), world.client)
    task = requester.post(world.published, reward=REWARD, challenge_window=200,
                          node_stake=NODE_STAKE)
    leaves = _made_up_commit(world, node, task)
    did = world.protocol(JURY_CHALLENGER).open_dispute(task, 0, 2, leaves[1],
                                                       merkle.proof(leaves, 1))
    return task, did


def _sync(ix: Indexer) -> None:
    while ix.sync():
        pass


def _tables(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3")]
            for t in db.CHAIN_TABLES}


def test_explorer_indexes_and_shows_a_real_referee_game(world: Any, browser: Any) -> None:
    p = world.protocol(REQUESTER)
    node = SteppedNode(world.protocol(NODE), world.client, world.tmp / "node", world.cache,
                       fault_step=FAULT_STEP, mutate=one_ulp)
    auditor = _auditor(world)
    node.protocol.deposit(NODE_STAKE)
    task, graph = _referee_task(world)
    assert p.is_refereed(task)
    node.protocol.claim_task(task)
    node.commit(task, 0)
    auditor.run_once()  # audits segment 0 and opens its game
    (row,) = auditor.journal.rows("SELECT * FROM disputes")
    did = int(row["dispute_id"])
    referee, bot = Referee(p), node.bot()
    ix = Indexer(Chain(world.anvil.url), p.addresses, world.tmp / "index.sqlite")
    # indexed as it goes: once mid-game, once at the end
    world.drive([GameDriver(bot, did), auditor],
                lambda: referee.game(did).phase >= GamePhase.CHUNK_SPLIT, max_blocks=40)
    _sync(ix)
    world.drive([GameDriver(bot, did), auditor],
                lambda: referee.game(did).phase == GamePhase.RESOLVED, max_blocks=80)
    jury_task, jury_did = _jury_dispute(world, world.protocol(4))
    assert (did, jury_did) == (1, 1), "both courts number from 1: the ids collide"
    _sync(ix)
    conn = ix.conn

    # the game as the contract's events tell it, fold for fold
    assert referee.outcome(did) == Outcome.NODE_WRONG
    (checked,) = referee.events(did, ["StepChecked"])
    (named,) = referee.events(did, ["ElementNamed"])
    (resolved,) = referee.events(did, ["DisputeResolved"])
    (shape,) = referee.events(did, ["ShapeRevealed"])
    d = queries.dispute(conn, did, Court.REFEREE)
    assert (d.taskId, d.step, d.outcome, d.open) == (task, FAULT_STEP, "node_wrong", False)
    f = d.fault
    assert f is not None
    c, n = checked.args, named.args
    assert (f.opIndex, f.element, f.elementBits) == (n["opIndex"], n["element"], n["bits"])
    assert f.dims == list(shape.args["dims"]), "uint32[] decoded as web3 decodes it"
    assert (f.scalarStep, f.opcode) == (c["s"], c["opcode"])
    assert f.opcodeName == Opcode(c["opcode"]).name and f.opcodeName in ("MUL", "FMA")
    assert (f.claimedHex, f.computedHex) == (f"0x{c['claimed']:08x}", f"0x{c['computed']:08x}")
    assert f.claimedHex is not None and f.claimedHex != f.computedHex
    assert f.claimedHex in d.faultFound
    kinds = [m.kind for m in d.moves]
    assert kinds[:3] == [MoveKind.OPENED, MoveKind.TRACE_POSTED, MoveKind.OP_SPLIT], kinds
    assert kinds[-3:] == [MoveKind.NODE_SLASHED, MoveKind.PAYOUT_CREDITED, MoveKind.RESOLVED]
    for k in (MoveKind.OP_PICKED, MoveKind.SHAPE_REVEALED, MoveKind.CHUNK_REVEALED,
              MoveKind.ELEMENT_NAMED, MoveKind.PROGRAM_POSTED, MoveKind.STEP_CHECKED):
        assert kinds.count(k) >= 1, (k, kinds)
    game_events = referee.events(did, ["TracePosted", "Split", "Picked", "ShapeRevealed",
                                       "ChunkRevealed", "ElementNamed", "ProgramPosted",
                                       "StepChecked"])
    assert len(game_events) == len(kinds) - 4, "every move of the game is a timeline row"

    # books to the wei against the contracts' views
    slash = p.dispute_slash(task)
    received = int(resolved.args["slashed"])
    bond = referee.challenge_bond()
    challenger = auditor.protocol.me
    assert d.slashed == str(received)
    assert d.payouts == {challenger: str(bond + received)}
    # the auditor bot pulled its payout as the game ended: credited = still owed + pulled
    pulled = sum(int(e["args"]["amount"]) for e in p.referee.events(
        "PayoutClaimed", from_block=p.addresses.deployBlock, account=challenger))
    assert int(d.payouts[challenger]) == referee.owed(challenger) + pulled
    # the account's row: credited, claimed (PayoutClaimed), still owed, as the adjudicator says
    row = queries.node(conn, challenger)
    assert (int(row.payouts), int(row.claimed), int(row.owed)) == (
        bond + received, pulled, referee.owed(challenger))
    assert referee.total_held() == referee.owed(challenger)
    share = slash * int(p.market_params().requesterShareBps) // 10_000
    assert slash - received == share
    acc = conn.execute("SELECT * FROM accounts WHERE address = ?", (node.protocol.me,)).fetchone()
    info = p.stake_info(node.protocol.me)
    assert (int(acc["slashed"]), int(acc["staked"]), int(acc["locked"])) == (
        slash, int(info.staked), int(info.locked))
    assert acc["jailed_until"] > 0 and p.is_jailed(node.protocol.me)

    # the two disputes 1 kept apart; each task says who settles it
    jd = queries.dispute(conn, jury_did, Court.JURY)
    assert (jd.taskId, jd.open, [m.kind for m in jd.moves]) == (jury_task, True,
                                                                [MoveKind.OPENED])
    with pytest.raises(queries.AmbiguousDisputeError):
        queries.dispute(conn, 1)
    access = queries.Access("http://rpc", "http://ipfs", None)
    t, jt = queries.task(conn, task, access), queries.task(conn, jury_task, access)
    root = graph.as_struct()["graphRoot"]
    assert isinstance(root, bytes)
    assert (t.court, t.graphRoot) == (Court.REFEREE, "0x" + root.hex())
    assert (jt.court, jt.graphRoot) == (Court.JURY, None)

    # the fold as it went equals a fold from scratch
    before = _tables(conn)
    with conn:
        refold(conn)
    assert _tables(conn) == before
    ix.close()

    # the dispute page in a real browser
    addresses = world.tmp / "addresses.json"
    p.addresses.save(addresses)
    cfg = ExplorerConfig(rpc_url=world.anvil.url, ipfs_api=None, addresses_file=addresses,
                         db_path=world.tmp / "index.sqlite", port=0, poll_s=0.2)
    with Explorer(cfg) as ex:
        page = browser.new_page()
        assert page.goto(f"{ex.url}/disputes/referee/{did}").status == 200
        assert f.claimedHex in page.inner_text("#fault-claimed")
        assert f.computedHex in page.inner_text("#fault-computed")
        assert f.opcodeName in page.inner_text("#fault-scalar")
        assert str(f.element) in page.inner_text("#fault-element")
        timeline = page.inner_text("#timeline")
        assert "step-checked" in timeline and "trace-posted" in timeline
        if os.environ.get("VERITRAIN_EXPLORER_REFEREE_SCREENSHOT"):
            page.screenshot(path=os.environ["VERITRAIN_EXPLORER_REFEREE_SCREENSHOT"],
                            full_page=True)
        assert page.goto(f"{ex.url}/disputes/jury/{jury_did}").status == 200
        assert "jury" in page.inner_text("#court")
        assert page.goto(f"{ex.url}/disputes/{did}").status == 409
        assert page.goto(f"{ex.url}/disputes?court=referee").status == 200
        assert page.locator(f'a[href="/disputes/referee/{did}"]').count() == 1
        assert page.locator(f'a[href="/disputes/jury/{jury_did}"]').count() == 0
        assert page.goto(f"{ex.url}/disputes?court=bogus").status == 400
        assert page.goto(f"{ex.url}/tasks/{task}").status == 200
        assert "referee" in page.inner_text("#task-court")
        assert page.locator(f'a[href="/disputes/referee/{did}"]').count() >= 1
        api = requests.get(f"{ex.url}/api/disputes/referee/{did}", timeout=10).json()
        assert api["fault"]["scalarStep"] == c["s"]


def test_explorer_shows_a_silent_node_losing_its_game_by_resolve(world: Any) -> None:
    """A refereed task whose node commits and then never posts its trace: the challenger's
    game is resolved after the Trace deadline. The timeline ends timed-out (phase trace, the
    node lost), and the books agree with the referee and StakeManager to the wei."""
    p = world.protocol(REQUESTER)
    task, _ = _referee_task(world)
    node = world.protocol(NODE)
    leaves = _made_up_commit(world, node, task)
    challenger = Referee(world.protocol(CHALLENGER))
    did = challenger.open_dispute(task, 0, 2, leaves[1], merkle.proof(leaves, 1))
    world.anvil.mine(int(challenger.params().moveBlocks) + 1)
    challenger.resolve(did)
    ix = Indexer(Chain(world.anvil.url), p.addresses, world.tmp / "index.sqlite")
    _sync(ix)
    d = queries.dispute(ix.conn, did, Court.REFEREE)
    kinds = [m.kind for m in d.moves]
    assert kinds == [MoveKind.OPENED, MoveKind.TIMED_OUT, MoveKind.NODE_SLASHED,
                     MoveKind.PAYOUT_CREDITED, MoveKind.RESOLVED], kinds
    assert d.moves[1].detail == {"phase": "trace", "nodeLost": True}
    assert d.fault is not None and (d.fault.timedOut, d.fault.nodeLost) == ("trace", True)
    assert "the node missed its trace move" in d.faultFound and d.outcome == "node_wrong"
    (resolved,) = challenger.events(did, ["DisputeResolved"])
    received, slash = int(resolved.args["slashed"]), p.dispute_slash(task)
    owed = challenger.owed(challenger.me)
    assert d.payouts == {challenger.me: str(owed)}
    assert owed == challenger.challenge_bond() + received == challenger.total_held()
    acc = ix.conn.execute("SELECT * FROM accounts WHERE address = ?", (node.me,)).fetchone()
    info = p.stake_info(node.me)
    assert (int(acc["slashed"]), int(acc["staked"]), int(acc["locked"])) == (
        slash, int(info.staked), int(info.locked))
    ix.close()
