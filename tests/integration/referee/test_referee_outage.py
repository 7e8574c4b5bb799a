"""A real RPC outage in the middle of a referee game: both bots reach anvil through a TCP proxy
(``tests/support/proxy.py``) that the test takes down for some blocks while the chain goes on
mining, then brings back on the same port; a second outage starts inside a move (the node's
transaction is mined, its answer never arrives). Neither bot sends anything while it is down,
both ride it out as their loops do, and they finish the game with exact books and no move sent
twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ledger.chain import Chain
from ledger.protocol import Outcome
from ledger.referee import GamePhase, Referee
from tests.support.actors import E18
from tests.support.cast import Book
from tests.support.proxy import Proxy
from tests.support.referee import Moves, Riding, SteppedNode, one_ulp, refereed_task

REQUESTER, NODE, CHALLENGER = 0, 1, 2
REWARD, NODE_STAKE = 100 * E18, 1000 * E18
FAULT_STEP = 3
#: Blocks the RPC stays away (each move has moveBlocks = 30), between moves and in one.
OUTAGE_BLOCKS, CUT_BLOCKS = 8, 4


@pytest.fixture
def proxy(world: Any) -> Iterator[Proxy]:
    p = Proxy(world.anvil.url)
    try:
        yield p
    finally:
        p.close()


def test_both_bots_ride_out_a_real_rpc_outage_mid_game(world: Any, proxy: Proxy) -> None:
    from challenger.auditor import Auditor
    from challenger.policy import AuditPolicy

    def via_proxy(i: int) -> Any:
        # fail fast while it is down: one retry, short backoff (the loop's next try is the retry)
        chain = Chain(proxy.url, world.anvil.accounts[i], retries=1, backoff=0.05, timeout=5.0)
        return world.protocol(i).as_account(chain)

    node = SteppedNode(via_proxy(NODE), world.client, world.tmp / "node", world.cache,
                       fault_step=FAULT_STEP, mutate=one_ulp)
    auditor = Auditor(via_proxy(CHALLENGER), world.client, world.tmp / "auditor",
                      AuditPolicy(probability=1.0), cache_dir=world.cache)
    p = world.protocol(REQUESTER)  # the test's own reads go to anvil directly
    book = Book(p, {"requester": p.me, "node": node.protocol.me, "auditor": auditor.protocol.me})
    node.protocol.deposit(NODE_STAKE)
    book.snap()
    task = refereed_task(world, REWARD, NODE_STAKE)
    node.protocol.claim_task(task)
    node.commit(task, 0)
    auditor.run_once()
    (row,) = auditor.journal.rows("SELECT * FROM disputes")
    did = int(row["dispute_id"])
    referee = Referee(p)
    node_bot, auditor_bot = Riding(Moves(node.bot(), did)), Riding(auditor)
    bots = [node_bot, auditor_bot]
    # into the op rounds: the trace posted, one round played, the node's split due
    world.drive(bots, lambda: bool(referee.events(did, ["Picked"])), max_blocks=30)
    at = referee.game(did)
    assert at.phase == GamePhase.OP_SPLIT
    moves = len(node_bot.bot.bot.moves.rows(did))
    proxy.down()
    for _ in range(OUTAGE_BLOCKS):  # the chain mines on; every call of both bots fails
        for b in bots:
            b.run_once()
        world.anvil.mine(1)
    assert node_bot.failures == OUTAGE_BLOCKS and auditor_bot.failures == OUTAGE_BLOCKS
    during = referee.game(did)
    assert (during.phase, during.depthLeft, during.index) == (at.phase, at.depthLeft, at.index)
    assert len(node_bot.bot.bot.moves.rows(did)) == moves
    assert world.anvil.rpc("eth_blockNumber") and not proxy.is_up
    proxy.up()
    # a second outage starts inside the node's next move: its split reaches anvil and is mined,
    # the proxy goes down before the answer, and the node never hears it
    proxy.cut_after(b"eth_sendRawTransaction")
    node_bot.run_once()
    assert len(proxy.cut) == 1 and not proxy.is_up and node_bot.failures == OUTAGE_BLOCKS + 1
    landed = referee.game(did)
    assert landed.phase == GamePhase.OP_PICK and len(referee.events(did, ["Split"])) == 2
    for _ in range(CUT_BLOCKS):
        for b in bots:
            b.run_once()
        world.anvil.mine(1)
    proxy.up()
    world.drive(bots, lambda: referee.game(did).phase == GamePhase.RESOLVED, max_blocks=60)
    assert node_bot.failures == OUTAGE_BLOCKS + 1 + CUT_BLOCKS
    assert auditor_bot.failures == OUTAGE_BLOCKS + CUT_BLOCKS
    assert referee.outcome(did) == Outcome.NODE_WRONG
    assert not referee.events(did, ["MoveTimedOut"])  # settled by a check, not a deadline
    (checked,) = referee.events(did, ["StepChecked"])
    assert checked.args["computed"] != checked.args["claimed"]
    sent = node_bot.bot.bot.moves.rows(did)
    assert len(sent) == len({m.move for m in sent}), "a move was sent twice"
    auditor.run_once()  # records the outcome, pulls the payout (through the proxy, back up)
    slash = p.dispute_slash(task)
    share = slash * int(p.market_params().requesterShareBps) // 10_000
    book.check(requester={"wallet": -REWARD + share}, node={"staked": -slash},
               auditor={"wallet": slash - share})
    assert referee.total_held() == 0
    assert proxy.forwarded > 0
