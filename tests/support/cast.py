"""A cast of funded actors on the session anvil for contract-level tests (the adversarial suite,
the explorer's and the event set's): fake (but correctly encoded) traces, a jury driver, and a
balance book that checks exact deltas. (Tests with real bots - nodes that train, auditors and
jurors that replay - use :class:`tests.support.bots.BotWorld` instead.)

Account map (anvil dev accounts): 1 requester, 2 node, 3 node2, 4 challenger, 5 challenger2,
6-9 jurors (opted in with JUROR_STAKE each; a test may opt in fewer or more).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_hash.auto import keccak

from prover import merkle

E18 = 10**18
REWARD = 300 * E18
NODE_STAKE = 1000 * E18
NODE_DEPOSIT = 2000 * E18
JUROR_STAKE = 100 * E18
SEG, TOTAL, WINDOW, DEADLINE = 8, 16, 10, 30


def honest_hash(task: int, t: int) -> bytes:
    return keccak(b"honest-state" + task.to_bytes(32, "big") + t.to_bytes(32, "big"))


def bad_hash(task: int, t: int) -> bytes:
    return keccak(b"divergent-state" + task.to_bytes(32, "big") + t.to_bytes(32, "big"))


def trace(task: int, k: int, wrong_from: int = 0) -> list[bytes]:
    """Leaves of segment k of a node that diverges from absolute step ``wrong_from`` (0: honest)."""
    steps = range(k * SEG + 1, (k + 1) * SEG + 1)
    return [merkle.leaf(task, t, bad_hash(task, t) if wrong_from and t >= wrong_from
                        else honest_hash(task, t)) for t in steps]


@dataclass
class Book:
    """Token positions of named accounts: wallet, staked, pending, owed (adjudicator credit)."""

    p: Any
    names: dict[str, str]
    before: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)

    def position(self, addr: str) -> tuple[int, int, int, int]:
        info = self.p.stake_info(addr)
        return (self.p.balance(addr), int(info.staked), int(info.pending), self.p.owed(addr))

    def snap(self) -> None:
        self.before = {n: self.position(a) for n, a in self.names.items()}

    def check(self, **expected: dict[str, int]) -> None:
        """Exact deltas since ``snap`` per account and component (wallet/staked/pending/owed);
        every component not named, of every account, must be unchanged."""
        comps = ("wallet", "staked", "pending", "owed")
        for name, addr in self.names.items():
            now = self.position(addr)
            want = expected.get(name, {})
            unknown = set(want) - set(comps)
            if unknown:
                raise ValueError(f"unknown components {unknown}")
            for i, c in enumerate(comps):
                got = now[i] - self.before[name][i]
                assert got == want.get(c, 0), (f"{name}.{c}: delta {got / E18} VERI, expected "
                                               f"{want.get(c, 0) / E18}")
        conserved(self.p)


def conserved(p: Any) -> None:
    """Tokens the contracts hold == what their books say (stakes + escrow + bonds/credits)."""
    held = sum(p.balance(c.address) for c in (p.stake, p.market, p.jury, p.referee))
    books = (int(p.stake.call("totalHeld")) + int(p.market.call("totalEscrow"))
             + int(p.jury.call("totalHeld")) + int(p.referee.call("totalHeld")))
    assert held == books, f"contracts hold {held}, books say {books}"


@dataclass
class Cast:
    anvil: Any
    deployer: Any
    requester: Any
    node: Any
    node2: Any
    challenger: Any
    challenger2: Any
    jurors: list[Any]
    params: Any
    book: Book

    def by_addr(self, addr: str) -> Any:
        for p in (self.requester, self.node, self.node2, self.challenger,
                  self.challenger2, *self.jurors):
            if p.me.lower() == addr.lower():
                return p
        raise KeyError(addr)

    def post(self, reward: int = REWARD) -> int:
        return self.requester.create_task("bafyspec", keccak(b"spec"), reward, total_steps=TOTAL,
                                          segment_steps=SEG, challenge_window=WINDOW,
                                          segment_deadline=DEADLINE, node_stake=NODE_STAKE)

    def commit(self, who: Any, task: int, k: int, wrong_from: int = 0,
               leaves: list[bytes] | None = None) -> list[bytes]:
        leaves = leaves if leaves is not None else trace(task, k, wrong_from)
        who.commit_segment(task, k, merkle.trace_root(leaves), keccak(b"end%d" % k), "bafyckpt",
                           "bafyleaves",
                           leaves=leaves)
        return leaves

    def dispute(self, who: Any, task: int, k: int, step: int, leaves: list[bytes]) -> int:
        i = step - k * SEG - 1
        return who.open_dispute(task, k, step, leaves[i], merkle.proof(leaves, i))

    def mine_past(self, block: int) -> None:
        """Mine until the chain is past ``block`` (a deadline)."""
        self.anvil.mine(max(0, block - self.deployer.chain.block_number() + 1))

    def run_jury(self, d: int, vote: Callable[[int, str], bytes | None]) -> list[str]:
        """Draw, then each drawn juror i (in draw order) commits and reveals ``vote(i, addr)``
        (None: silent); resolve. Returns the drawn jurors."""
        jp = self.params
        self.anvil.mine(int(jp.drawDelay))
        self.deployer.draw_jury(d)
        drawn = self.deployer.jurors(d)
        votes = {a: vote(i, a) for i, a in enumerate(drawn)}
        salts = {a: keccak(b"salt" + bytes.fromhex(a[2:])) for a in drawn}
        for a, leaf in votes.items():
            if leaf is not None:
                j = self.by_addr(a)
                j.commit_vote(d, j.vote_commitment(d, leaf, salts[a]))
        if any(v is None for v in votes.values()):
            self.mine_past(int(self.deployer.dispute(d).commitDeadline))
        for a, leaf in votes.items():
            if leaf is not None:
                self.by_addr(a).reveal_vote(d, leaf, salts[a])
        if any(v is None for v in votes.values()):
            self.mine_past(int(self.deployer.dispute(d).revealDeadline))
        self.deployer.resolve(d)
        return drawn


def make_cast(anvil: Any, protocol: Callable[[int], Any], jurors: int = 3,
               first_juror: int = 6) -> Cast:
    p = [protocol(i) for i in range(10)]
    p[2].deposit(NODE_DEPOSIT)
    p[3].deposit(NODE_DEPOSIT)
    js = p[first_juror:first_juror + jurors]
    for j in js:
        j.deposit(JUROR_STAKE)
        j.opt_in_juror()
    names = {"requester": p[1].me, "node": p[2].me, "node2": p[3].me, "challenger": p[4].me,
             "challenger2": p[5].me}
    # a juror is tracked once
    names = {n: a for n, a in names.items() if a not in {j.me for j in js}}
    names.update({f"juror{i}": j.me for i, j in enumerate(js)})
    names["treasury"] = p[0].me  # the deployer: juror penalties are credited to it
    w = Cast(anvil, p[0], p[1], p[2], p[3], p[4], p[5], js, p[0].jury_params(), Book(p[0], names))
    return w
