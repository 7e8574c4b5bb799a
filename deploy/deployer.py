"""Deploy and wire the veritrain contracts on any EVM chain. One code path for the devnet,
`veritrain deploy` and the tests. Order and arguments: docs/protocol.md, "Deployment".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from ledger.chain import Chain
from ledger.protocol import Addresses
from veritrain.errors import DeployError

E18 = 10**18


@dataclass(frozen=True)
class JuryConfig:
    """Jury parameters (JuryParams); time in blocks, shares in basis points."""

    challenge_bond: int = 100 * E18
    slash_amount: int = 500 * E18
    juror_penalty: int = 10 * E18
    draw_delay: int = 2
    commit_window: int = 30
    reveal_window: int = 30
    jail_blocks: int = 1000
    challenger_share_bps: int = 5000
    juror_fee_bps: int = 2000
    jury_size: int = 3

    def as_tuple(self) -> tuple[int, ...]:
        return (self.challenge_bond, self.slash_amount, self.juror_penalty, self.draw_delay,
                self.commit_window, self.reveal_window, self.jail_blocks, self.challenger_share_bps,
                self.juror_fee_bps, self.jury_size)


@dataclass(frozen=True)
class DeployConfig:
    """Everything fixed at deployment (defaults: docs/protocol.md)."""

    #: Existing ERC20 to stake with; None deploys the devnet VeriToken.
    token: str | None = None
    #: VeriToken supply minted to the deployer (devnet token only).
    initial_supply: int = 1_000_000 * E18
    #: Blocks between requestWithdrawal and withdraw.
    unbonding_blocks: int = 200
    #: Share of nodeStake slashed to the requester on a stall (basis points).
    stall_slash_bps: int = 1000
    #: Jury parameters.
    jury: JuryConfig = field(default_factory=JuryConfig)


def deploy_all(chain: Chain, config: DeployConfig | None = None) -> Addresses:
    """Deploy token (unless given), StakeManager, TaskMarket, randomness and JuryAdjudicator, then wire."""
    config = config or DeployConfig()
    start = chain.block_number()
    if config.token is None:
        token = chain.deploy("VeriToken", config.initial_supply).address
    else:
        token = config.token
        if not chain.retry(lambda: chain.w3.eth.get_code(chain.w3.to_checksum_address(token))):
            raise DeployError(f"no contract at token address {token} on chain {chain.chain_id}",
                              hint="pass the address of a deployed ERC20, or omit --token to deploy one")
    stake = chain.deploy("StakeManager", token, config.unbonding_blocks)
    market = chain.deploy("TaskMarket", token, stake.address, config.stall_slash_bps)
    randomness = chain.deploy("PrevrandaoRandomness")
    jury = chain.deploy("JuryAdjudicator", token, stake.address, market.address, randomness.address,
                        config.jury.as_tuple())
    stake.transact("wire", market.address, jury.address)
    market.transact("setAdjudicator", jury.address)
    return Addresses(chainId=chain.chain_id, token=token, stakeManager=stake.address,
                     taskMarket=market.address, adjudicator=jury.address,
                     randomness=randomness.address, deployBlock=start)


def verify_code(chain: Chain, addresses: Addresses) -> None:
    """Check that every address of ``addresses`` holds contract code on ``chain``."""
    if addresses.chainId != chain.chain_id:
        raise DeployError(f"addresses are for chain {addresses.chainId}, the RPC serves chain {chain.chain_id}",
                          hint="use the addresses file written for this chain")
    for name in ("token", "stakeManager", "taskMarket", "adjudicator", "randomness"):
        addr = chain.w3.to_checksum_address(getattr(addresses, name))
        if not chain.retry(partial(chain.w3.eth.get_code, addr)):
            raise DeployError(f"no contract code at {name} address {addr} on chain {chain.chain_id}",
                              hint="the deployment did not land or the addresses file is stale; deploy again")
