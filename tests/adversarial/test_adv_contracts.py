"""Protocol-level attacks on the real contracts (anvil), no training needed.

Each test asserts what must happen (which named revert, who is slashed, which bond is lost,
that nothing is paid) and that every party's token position changed by exactly what the
rules say (``Book.check``: wallet, staked, pending withdrawal, adjudicator credit; all else 0).
"""

from __future__ import annotations

import pytest
from eth_hash.auto import keccak

from deploy.deployer import JuryConfig, MarketConfig
from ledger.errors import revert_error
from ledger.protocol import Outcome, TaskStatus
from prover import merkle
from tests.support.cast import (
    DEADLINE,
    E18,
    NODE_STAKE,
    REWARD,
    SEG,
    WINDOW,
    Cast,
    honest_hash,
    trace,
)

_J, _M = JuryConfig(), MarketConfig()  # what the session deployment uses (deploy/params.json)
BOND, PENALTY = _J.challenge_bond, _J.juror_penalty
SLASH = NODE_STAKE * _M.dispute_slash_bps // 10_000  # a lost dispute, on a NODE_STAKE task
TO_REQUESTER = SLASH * _M.requester_share_bps // 10_000  # compensates the requester
SHARE = (SLASH - TO_REQUESTER) * _J.challenger_share_bps // 10_000  # challenger's share
FEE = BOND * _J.juror_fee_bps // 10_000  # jurors' fee from the bond, in every outcome
WIN = BOND - FEE + SHARE  # a winning challenger's credit
JURORS_WIN = SLASH - TO_REQUESTER - SHARE + FEE  # the majority jurors' total on NodeWrong


def _claimed(w: Cast) -> int:
    task = w.post()
    w.node.claim_task(task)
    return task


def test_commit_out_of_order_and_twice(world: Cast) -> None:
    w = world
    task = _claimed(w)
    w.book.snap()
    with pytest.raises(revert_error("SegmentOutOfOrder")) as exc:
        w.commit(w.node, task, 1)
    assert exc.value.error_args["expected"] == 0
    w.commit(w.node, task, 0)
    with pytest.raises(revert_error("SegmentOutOfOrder")):
        w.commit(w.node, task, 0)  # the same segment twice
    with pytest.raises(revert_error("NotTaskNode")):
        w.commit(w.node2, task, 1)  # someone else commits for the node
    assert w.node.task(task).nextSegment == 1
    assert w.node.segment(task, 0).traceRoot == merkle.trace_root(trace(task, 0))
    w.book.check()  # nothing moved


def test_dispute_with_forged_or_malformed_proof_takes_no_bond(world: Cast) -> None:
    w = world
    task = _claimed(w)
    leaves = w.commit(w.node, task, 0)
    w.book.snap()
    forged = keccak(b"what I claim the node committed")
    with pytest.raises(revert_error("InvalidProof")):
        w.challenger.open_dispute(task, 0, 3, forged, merkle.proof(leaves, 2))
    with pytest.raises(revert_error("InvalidProof")):  # a real leaf at the wrong index
        w.challenger.open_dispute(task, 0, 3, leaves[3], merkle.proof(leaves, 3))
    with pytest.raises(revert_error("ProofLength")):
        w.challenger.open_dispute(task, 0, 3, leaves[2], merkle.proof(leaves, 2)[:-1])
    with pytest.raises(revert_error("StepOutOfRange")):
        w.challenger.open_dispute(task, 0, SEG + 1, leaves[0], merkle.proof(leaves, 0))
    with pytest.raises(revert_error("ChallengerIsNode")):
        w.node.open_dispute(task, 0, 3, leaves[2], merkle.proof(leaves, 2))
    with pytest.raises(revert_error("SegmentNotCommitted")):
        w.challenger.open_dispute(task, 1, SEG + 1, leaves[0], merkle.proof(leaves, 0))
    assert w.deployer.dispute_count() == 0
    w.book.check()  # approvals aside, no bond was pulled


def test_dispute_after_the_window_is_refused(world: Cast) -> None:
    w = world
    task = _claimed(w)
    leaves = w.commit(w.node, task, 0, wrong_from=3)
    w.anvil.mine(WINDOW + 1)
    w.book.snap()
    with pytest.raises(revert_error("ChallengeWindowClosed")):
        w.dispute(w.challenger, task, 0, 3, leaves)
    assert w.node.is_final(task, 0), "a final segment stays final, even a wrong one"
    w.book.check()


def test_claim_reward_before_finality_pays_nothing(world: Cast) -> None:
    w = world
    task = _claimed(w)
    w.commit(w.node, task, 0)
    w.book.snap()
    with pytest.raises(revert_error("NotAllFinal")):
        w.node.claim_reward(task)  # segment 1 not committed
    w.commit(w.node, task, 1)
    with pytest.raises(revert_error("NotAllFinal")) as exc:
        w.node.claim_reward(task)  # committed, window still open
    assert exc.value.error_args["firstNonFinal"] == 0
    w.anvil.mine(WINDOW + 1)
    with pytest.raises(revert_error("NotTaskNode")):
        w.node2.claim_reward(task)
    w.book.check()
    w.node.claim_reward(task)
    with pytest.raises(revert_error("WrongStatus")):
        w.node.claim_reward(task)  # twice
    w.book.check(node={"wallet": REWARD})
    assert w.node.stake_info().locked == 0


def test_stall_past_deadline_slashes_and_reopens(world: Cast) -> None:
    w = world
    task = _claimed(w)
    w.commit(w.node, task, 0)
    w.book.snap()
    with pytest.raises(revert_error("NotStalled")):
        w.node2.timeout_stall(task)
    w.anvil.mine(DEADLINE + 1)
    with pytest.raises(revert_error("SegmentDeadlinePassed")):
        w.commit(w.node, task, 1)
    w.node2.timeout_stall(task)  # anyone may call it
    stall = NODE_STAKE * 1000 // 10_000
    t = w.node.task(task)
    assert t.status == TaskStatus.OPEN and t.nextSegment == 1 and t.epoch == 1
    w.book.check(node={"staked": -stall}, treasury={"wallet": stall})  # never the requester (#14)
    assert w.node.stake_info().locked == 0
    w.node2.claim_task(task)  # the next node continues from the final prefix
    w.commit(w.node2, task, 1)
    w.anvil.mine(WINDOW + 1)
    w.node2.claim_reward(task)
    w.book.check(node={"staked": -stall}, treasury={"wallet": stall}, node2={"wallet": REWARD})


def test_lost_dispute_slashes_jails_and_jailed_node_cannot_claim(world: Cast) -> None:
    w = world
    task = _claimed(w)
    leaves = w.commit(w.node, task, 0, wrong_from=5)
    w.book.snap()
    d = w.dispute(w.challenger, task, 0, 5, leaves)
    honest = merkle.leaf(task, 5, honest_hash(task, 5))
    drawn = w.run_jury(d, lambda i, a: honest)
    assert w.deployer.dispute(d).outcome == Outcome.NODE_WRONG
    t = w.node.task(task)
    assert t.status == TaskStatus.OPEN and t.nextSegment == 0 and t.node == "0x" + "00" * 20
    assert w.node.is_jailed()
    jurors_total = JURORS_WIN
    per = jurors_total // len(drawn)
    owed = {f"juror{[j.me for j in w.jurors].index(a)}": {"owed": per} for a in drawn}
    first = f"juror{[j.me for j in w.jurors].index(drawn[0])}"
    owed[first]["owed"] += jurors_total - per * len(drawn)  # rounding dust to the first
    w.book.check(node={"staked": -SLASH}, challenger={"wallet": -BOND, "owed": WIN},
                 requester={"wallet": TO_REQUESTER}, **owed)
    with pytest.raises(revert_error("NodeJailed")):
        w.node.claim_task(task)
    other = w.post()
    with pytest.raises(revert_error("NodeJailed")):
        w.node.claim_task(other)
    w.challenger.claim_payout()
    with pytest.raises(revert_error("NothingOwed")):
        w.challenger.claim_payout()
    w.book.check(node={"staked": -SLASH}, challenger={"wallet": WIN - BOND},
                 requester={"wallet": -REWARD + TO_REQUESTER}, **owed)


def test_disputing_an_honest_segment_loses_the_bond(world: Cast) -> None:
    w = world
    task = _claimed(w)
    leaves = w.commit(w.node, task, 0)
    w.book.snap()
    d = w.dispute(w.challenger, task, 0, 4, leaves)
    assert not w.node.is_final(task, 0)
    w.run_jury(d, lambda i, a: leaves[3])  # every juror replays the honest leaf
    assert w.deployer.dispute(d).outcome == Outcome.NODE_RIGHT
    per = FEE // 3
    owed = {f"juror{i}": {"owed": per + (FEE - 3 * per if a == w.deployer.jurors(d)[0] else 0)}
            for i, a in enumerate(j.me for j in w.jurors)}
    w.book.check(challenger={"wallet": -BOND}, node={"owed": BOND - FEE}, **owed)
    assert not w.node.is_jailed()
    w.anvil.mine(WINDOW + 1)
    assert w.node.is_final(task, 0)


def test_front_running_a_dispute_second_challenger_on_the_same_step(world: Cast) -> None:
    """Documented behaviour: a copycat who sees a dispute in the mempool can open its own on the
    same segment and step (no uniqueness per step). Both disputes run; the node, if wrong, is
    slashed once per lost dispute (the task is reopened by the first), and each challenger gets its
    bond back plus a share. The honest first challenger loses nothing to the copycat."""
    w = world
    task = _claimed(w)
    leaves = w.commit(w.node, task, 0, wrong_from=5)
    w.book.snap()
    d1 = w.dispute(w.challenger, task, 0, 5, leaves)
    d2 = w.dispute(w.challenger2, task, 0, 5, leaves)
    assert w.node.segment(task, 0).openDisputes == 2
    honest = merkle.leaf(task, 5, honest_hash(task, 5))
    w.run_jury(d1, lambda i, a: honest)
    w.run_jury(d2, lambda i, a: honest)
    assert w.deployer.dispute(d1).outcome == w.deployer.dispute(d2).outcome == Outcome.NODE_WRONG
    assert w.node.owed(w.challenger.me) == w.node.owed(w.challenger2.me) == WIN
    node_after = w.node.stake_info()
    assert int(node_after.staked) == 2000 * E18 - 2 * SLASH, "slashed once per lost dispute"
    assert int(node_after.locked) == 0, "the second slash took the lock the first one kept"
    assert w.node.task(task).epoch == 1, "reopened once"
    conserved_owed = sum(w.node.owed(j.me) for j in w.jurors)
    assert conserved_owed == 2 * JURORS_WIN


def test_random_and_silent_jurors_are_penalised(world: Cast) -> None:
    w = world
    task = _claimed(w)
    leaves = w.commit(w.node, task, 0, wrong_from=2)
    w.book.snap()
    d = w.dispute(w.challenger, task, 0, 2, leaves)
    honest = merkle.leaf(task, 2, honest_hash(task, 2))
    random_leaf = keccak(b"a juror that did not replay")
    # juror drawn first votes at random, second replays honestly, third stays silent: no strict
    # majority of the 3 drawn (1 honest vote) -> redraw; round 1 two honest votes decide.
    drawn = w.run_jury(d, lambda i, a: [random_leaf, honest, None][i])
    assert w.deployer.dispute(d).outcome == 0 and w.deployer.dispute(d).round == 1
    drawn2 = w.run_jury(d, lambda i, a: [honest, honest, None][i])
    assert w.deployer.dispute(d).outcome == Outcome.NODE_WRONG
    names = {j.me: f"juror{i}" for i, j in enumerate(w.jurors)}
    exp: dict[str, dict[str, int]] = {n: {"staked": 0, "owed": 0} for n in names.values()}
    # round 0 has no majority: only the silent juror is penalised (with no majority there is no
    # minority, so the random voter goes unpunished in that round); penalties go to the treasury
    exp[names[drawn[2]]]["staked"] -= PENALTY
    silent2 = drawn2[2]
    exp[names[silent2]]["staked"] -= PENALTY
    winners = drawn2[:2]
    total = JURORS_WIN
    per = total // 2
    exp[names[winners[0]]]["owed"] += per + (total - 2 * per)
    exp[names[winners[1]]]["owed"] += per
    w.book.check(node={"staked": -SLASH}, challenger={"wallet": -BOND, "owed": WIN},
                 requester={"wallet": TO_REQUESTER}, treasury={"owed": 2 * PENALTY}, **exp)


def test_juror_voting_without_replaying_is_a_penalised_minority(world: Cast) -> None:
    w = world
    task = _claimed(w)
    leaves = w.commit(w.node, task, 0, wrong_from=6)
    w.book.snap()
    d = w.dispute(w.challenger, task, 0, 6, leaves)
    honest = merkle.leaf(task, 6, honest_hash(task, 6))
    drawn = w.run_jury(d, lambda i, a: keccak(b"guess") if i == 0 else honest)
    assert w.deployer.dispute(d).outcome == Outcome.NODE_WRONG
    names = {j.me: f"juror{i}" for i, j in enumerate(w.jurors)}
    total = JURORS_WIN
    per = total // 2
    exp = {names[drawn[0]]: {"staked": -PENALTY},
           names[drawn[1]]: {"owed": per + (total - 2 * per)}, names[drawn[2]]: {"owed": per}}
    w.book.check(node={"staked": -SLASH}, challenger={"wallet": -BOND, "owed": WIN},
                 requester={"wallet": TO_REQUESTER}, treasury={"owed": PENALTY}, **exp)
