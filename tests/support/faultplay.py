"""One named node fault played through a task's whole life on the real stack: the cheater
commits, the auditor disputes, the jurors out-vote it, an honest node takes over and is paid, and
every party's books are checked to the wei. Used by tests/adversarial/test_adv_node_faults.py and
test_adv_checkpoint_meaning.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from challenger.journal import AuditStatus
from ledger.disputes import dispute_phase
from ledger.protocol import DisputePhase, Outcome, TaskStatus
from tests.support import chain
from tests.support.actors import E18, DishonestNode, Fault, HonestNode, Requester
from tests.support.cast import Book

REQUESTER, CHEATER, HONEST, CHALLENGER, JURORS = 1, 2, 3, 4, (6, 7, 8)
REWARD, NODE_STAKE, JUROR_STAKE, WINDOW = 100 * E18, 1000 * E18, 100 * E18, 12


def drive(anvil: Any, bots: list[Any], until: Callable[[], bool], max_blocks: int = 150) -> None:
    chain.drive(anvil, bots, until, max_blocks)


def play(fault: Fault, step: int, anvil: Any, protocol: Callable[[int], Any], store_url: str,
         published: Any, tmp: Path, cache: Path, withhold_leaves: bool = False,
         after_commit: Callable[[Any, int], None] | None = None) -> None:
    """The cheater commits segment 0 with ``fault`` (``after_commit(client, task)`` then runs,
    e.g. a consumer trying to pull it), is disputed, slashed; an honest node finishes, paid."""
    from challenger.auditor import Auditor
    from challenger.juror import Juror
    from challenger.policy import AuditPolicy
    from store.client import Client

    with Client(store_url) as client:
        jurors = [Juror(protocol(i), client, tmp / f"juror{i}", cache_dir=cache,
                        stake=JUROR_STAKE) for i in JURORS]
        for j in jurors:
            j.opt_in()
        auditor = Auditor(protocol(CHALLENGER), client, tmp / "auditor",
                          AuditPolicy(probability=1.0),
                          cache_dir=cache)
        cheater = DishonestNode(protocol(CHEATER), client, tmp / "cheater", fault=fault, step=step,
                                cache_dir=cache,
                                withhold_leaves=withhold_leaves)
        honest = HonestNode(protocol(HONEST), client, tmp / "honest", cache_dir=cache)
        for n in (cheater, honest):
            n.protocol.deposit(NODE_STAKE)
        p = protocol(0)
        names = {"requester": protocol(REQUESTER).me, "cheater": cheater.protocol.me,
                 "honest": honest.protocol.me, "challenger": auditor.protocol.me,
                 **{f"juror{i}": j.protocol.me for i, j in enumerate(jurors)}}
        book = Book(p, names)
        book.snap()
        task = Requester(protocol(REQUESTER), client).post(published, reward=REWARD,
                                                           challenge_window=WINDOW,
                                                           node_stake=NODE_STAKE)
        cheater.claim(task)
        cheater.commit(task, 0)
        if after_commit is not None:
            after_commit(client, task)
        auditor.run_once()
        (row,) = auditor.journal.rows("SELECT * FROM disputes")
        S = published.spec.segment_steps
        assert row["step"] == fault.disputed_step(0, S, step, withhold_leaves), row["reason"]
        did = int(row["dispute_id"])
        assert (p.end_state_dispute_of(task, 0) == did) == fault.end_state_disputed(withhold_leaves)
        drive(anvil, [auditor, *jurors], lambda: dispute_phase(p, did) == DisputePhase.RESOLVED)
        d = p.dispute(did)
        assert int(d.outcome) == Outcome.NODE_WRONG
        assert p.is_jailed(cheater.protocol.me)
        t = p.task(task)
        assert int(t.status) == TaskStatus.OPEN and int(t.nextSegment) == 0
        # the honest node takes over; the auditor checks it and must not dispute
        honest.claim(task)
        for k in range(published.spec.num_segments()):
            honest.commit(task, k)
        drive(anvil, [auditor, *jurors], lambda: all(p.is_final(task, k) for k in range(2)))
        audited = auditor.journal.one("SELECT COUNT(*) AS n FROM audits WHERE "
                                      "status = ? AND node = ?",
                                      AuditStatus.OK, honest.protocol.me)["n"]
        # both honest segments are audited, segment 0 too when it has the cheater's (honest) root:
        # a recommit after a reopen is a new commitment
        # (see test_reused_root_after_reopen_is_audited)
        assert audited == 2, audited
        assert p.dispute_count() == 1, "the honest node was disputed"
        honest.protocol.claim_reward(task)
        drive(anvil, [auditor, *jurors], lambda: p.owed(auditor.protocol.me) == 0 and
              all(p.owed(j.protocol.me) == 0 for j in jurors), max_blocks=5)
        params, mp = p.jury_params(), p.market_params()
        slash = p.dispute_slash(task)
        to_requester = slash * int(mp.requesterShareBps) // 10_000
        share = (slash - to_requester) * int(params.challengerShareBps) // 10_000
        fee = int(params.challengeBond) * int(params.jurorFeeBps) // 10_000
        drawn = [a.lower() for a in p.jurors(did)]
        pot = slash - to_requester - share + fee
        per = pot // len(drawn)
        dust = pot - per * len(drawn)
        exp: dict[str, dict[str, int]] = {}
        for i, j in enumerate(jurors):
            me = j.protocol.me.lower()
            gain = (per + (dust if me == drawn[0] else 0)) if me in drawn else 0
            exp[f"juror{i}"] = {"wallet": gain}  # stakes were deposited before the snapshot
        book.check(requester={"wallet": -REWARD + to_requester},
                   cheater={"staked": -slash}, honest={"wallet": REWARD},
                   challenger={"wallet": share - fee}, **exp)
