"""Jury collusion (own deployment with a 5-juror jury) and replay of signed transactions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from web3 import Web3

from ledger.protocol import Outcome
from prover import merkle
from tests.adversarial.test_adv_contracts import (
    BOND,
    FEE,
    JURORS_WIN,
    PENALTY,
    SLASH,
    TO_REQUESTER,
    WIN,
)
from tests.support.cast import E18, Cast, honest_hash, make_cast
from tests.support.chain import accounts, from_snapshot, snapshot_base


@pytest.fixture(scope="module")
def world5_base(anvil_node: Any) -> Iterator[tuple[Cast, list[str]]]:
    """The protocol deployed again with jurySize 5 and a pool of exactly 5 jurors (accounts 5-9)."""
    from deploy.deployer import DeployConfig, JuryConfig, deploy_all
    from ledger.chain import Chain

    def build() -> Cast:
        addrs = deploy_all(Chain(anvil_node.url, anvil_node.accounts[0]),
                           DeployConfig(jury=JuryConfig(commit_window=10, reveal_window=10,
                                                        jury_size=5,
                                                        quorum=3)))
        return make_cast(anvil_node, accounts(anvil_node, addrs), jurors=5, first_juror=5)

    yield from snapshot_base(anvil_node, build)


@pytest.fixture
def world5(anvil_node: Any, world5_base: tuple[Cast, list[str]]) -> Iterator[Cast]:
    yield from from_snapshot(anvil_node, world5_base)


def _wrong_segment(w: Cast) -> tuple[int, int, list[bytes]]:
    task = w.post()
    w.node.claim_task(task)
    leaves = w.commit(w.node, task, 0, wrong_from=3)
    w.book.snap()
    return task, w.dispute(w.challenger, task, 0, 3, leaves), leaves


def _names(w: Cast) -> dict[str, str]:
    return {j.me: f"juror{i}" for i, j in enumerate(w.jurors)}


def test_colluding_minority_is_outvoted_and_penalised(world5: Cast) -> None:
    """Two of five jurors side with a cheating node (they vote its committed, wrong leaf)."""
    w = world5
    task, d, leaves = _wrong_segment(w)
    colluders = {w.jurors[0].me, w.jurors[1].me}
    honest = merkle.leaf(task, 3, honest_hash(task, 3))
    drawn = w.run_jury(d, lambda i, a: leaves[2] if a in colluders else honest)
    assert len(drawn) == 5
    assert w.deployer.dispute(d).outcome == Outcome.NODE_WRONG
    names = _names(w)
    majority = [a for a in drawn if a not in colluders]
    total = JURORS_WIN
    per = total // 3
    exp: dict[str, dict[str, int]] = {names[a]: {"staked": -PENALTY} for a in colluders}
    for a in majority:
        exp[names[a]] = {"owed": per + (total - 3 * per if a == majority[0] else 0)}
    w.book.check(node={"staked": -SLASH}, challenger={"wallet": -BOND, "owed": WIN},
                 requester={"wallet": TO_REQUESTER}, treasury={"owed": 2 * PENALTY}, **exp)
    assert w.node.is_jailed()


def test_colluding_majority_breaks_the_honest_majority_assumption(world5: Cast) -> None:
    """Out of the threat model, shown so the assumption is explicit: if 3 of 5 drawn jurors
    collude with the node, a wrong segment is upheld and the honest challenger loses its bond.
    (Defence: stake-weighted random draws make buying a majority of a random jury expensive.)"""
    w = world5
    task, d, leaves = _wrong_segment(w)
    colluders = {j.me for j in w.jurors[:3]}
    honest = merkle.leaf(task, 3, honest_hash(task, 3))
    drawn = w.run_jury(d, lambda i, a: leaves[2] if a in colluders else honest)
    assert w.deployer.dispute(d).outcome == Outcome.NODE_RIGHT
    names = _names(w)
    total = FEE
    per = total // 3
    maj = [a for a in drawn if a in colluders]
    exp: dict[str, dict[str, int]] = {names[a]: {"staked": -PENALTY}
                                      for a in drawn if a not in colluders}
    for a in maj:
        exp[names[a]] = {"owed": per + (total - 3 * per if a == maj[0] else 0)}
    w.book.check(challenger={"wallet": -BOND}, node={"owed": BOND - FEE},
                 treasury={"owed": 2 * PENALTY},
                 **exp)


# ---- replay of signed transactions -------------------------------------------------------
def _signed_transfer(w: Cast, to: str, amount: int, nonce: int, chain_id: int) -> bytes:
    acct = w.anvil.accounts[1]  # the requester's key
    w3 = w.requester.chain.w3
    fn = w.requester.token.web3_contract.functions.transfer(Web3.to_checksum_address(to), amount)
    tx = fn.build_transaction({"from": acct.address, "nonce": nonce, "gas": 100_000,
                               "chainId": chain_id, "maxFeePerGas": w3.eth.gas_price * 2,
                               "maxPriorityFeePerGas": 1})
    return bytes(acct.sign_transaction(tx).raw_transaction)


def test_replayed_signed_transaction_is_rejected(world5: Cast) -> None:
    w = world5
    w3 = w.requester.chain.w3
    w.book.snap()
    nonce = w3.eth.get_transaction_count(w.requester.me)
    raw = _signed_transfer(w, w.node2.me, 7 * E18, nonce, w3.eth.chain_id)
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw))
    assert receipt["status"] == 1
    w.anvil.mine(1)
    with pytest.raises(Exception, match=r"(?i)nonce|already|known"):
        w3.eth.send_raw_transaction(raw)  # the exact same signed bytes again
    w.anvil.mine(2)
    other_chain = _signed_transfer(w, w.node2.me, 7 * E18, nonce + 1, 1)  # signed for mainnet
    with pytest.raises(Exception, match=r"(?i)chain"):
        w3.eth.send_raw_transaction(other_chain)
    w.anvil.mine(2)
    gas = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert gas >= 0  # gas is paid in ETH, not VERI
    w.book.check(requester={"wallet": -7 * E18}, node2={"wallet": 7 * E18})


def test_resending_a_dispute_opens_a_second_one_for_a_second_bond(world5: Cast) -> None:
    """A signed openDispute cannot be replayed (nonce); sending the same call again as a new
    transaction opens a second dispute on the same step and pulls a second bond: nothing free."""
    w = world5
    task, d, leaves = _wrong_segment(w)
    d2 = w.dispute(w.challenger, task, 0, 3, leaves)
    assert d2 == d + 1 and w.deployer.dispute_count() == 2
    assert w.node.segment(task, 0).openDisputes == 2
    w.book.check(challenger={"wallet": -2 * BOND})
