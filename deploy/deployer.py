"""Deploy and wire the veritrain contracts on any EVM chain. One code path for the devnet,
`veritrain deploy` and the tests. Order and arguments: docs/protocol.md, "Deployment".

The default parameters come from ``deploy/params.json``, the one file that the Foundry script
(``contracts/script/Deploy.s.sol``), the forge fixture and the invariant suite read too. Field
names here are the Solidity names in snake case; structs are sent to the contracts by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from functools import partial
from pathlib import Path
from typing import Any

from ledger.chain import Chain
from ledger.protocol import Addresses
from veritrain.errors import DeployError

E18 = 10**18
PARAMS_FILE = Path(__file__).with_name("params.json")
_PARAMS: dict[str, Any] = json.loads(PARAMS_FILE.read_text())


def _default(section: str, name: str) -> Any:
    """A dataclass default read from params.json (amounts are decimal strings there)."""
    return field(default=int(_PARAMS[section][name]))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _struct(contract: str, config: Any, **extra: Any) -> tuple[Any, ...]:
    """The struct argument of ``contract``'s constructor built from a config dataclass by field
    name, in the order of the compiled ABI (a renamed or missing field is a DeployError)."""
    from ledger import artifacts

    named = {**{_camel(f.name): getattr(config, f.name) for f in fields(config)}, **extra}
    ctor = next(i for i in artifacts.load(contract).abi if i.get("type") == "constructor")
    (arg,) = [i for i in ctor["inputs"] if i["type"] == "tuple"]
    want = [c["name"] for c in arg["components"]]
    if sorted(want) != sorted(named):
        raise DeployError(f"{contract}'s {arg['name']} has fields {want}, the config "
                          f"gives {sorted(named)}",
                          hint="rebuild the contracts (`forge build`) or update deploy/deployer.py")
    return tuple(named[n] for n in want)


@dataclass(frozen=True)
class JuryConfig:
    """Jury parameters (JuryParams); time in blocks, shares in basis points."""

    #: Bond a challenger escrows to open a dispute.
    challenge_bond: int = _default("jury", "challengeBond")
    #: Stake each drawn juror locks; silent and minority jurors lose it to the treasury.
    juror_penalty: int = _default("jury", "jurorPenalty")
    #: Blocks between opening (or a redraw) and the draw.
    draw_delay: int = _default("jury", "drawDelay")
    #: Blocks after drawAfter during which a quorum can be drawn; later the dispute is Void.
    draw_expiry: int = _default("jury", "drawExpiry")
    #: Commit window before the replay allowance.
    commit_window: int = _default("jury", "commitWindow")
    #: Steps a juror is expected to replay per block (the commit window grows with the segment).
    replay_steps_per_block: int = _default("jury", "replayStepsPerBlock")
    #: Reveal window.
    reveal_window: int = _default("jury", "revealWindow")
    #: Blocks a node that lost a dispute cannot claim.
    jail_blocks: int = _default("jury", "jailBlocks")
    #: Share of the adjudicator's part of a slash paid to a winning challenger.
    challenger_share_bps: int = _default("jury", "challengerShareBps")
    #: Share of the bond paid to the revealing (majority) jurors in every outcome.
    juror_fee_bps: int = _default("jury", "jurorFeeBps")
    #: Jurors drawn per round.
    jury_size: int = _default("jury", "jurySize")
    #: Fewest jurors a draw may seat (a strict majority of jury_size at least).
    quorum: int = _default("jury", "quorum")


@dataclass(frozen=True)
class RefereeConfig:
    """Referee parameters (RefereeParams); time in blocks."""

    #: Bond a challenger escrows; a challenger that loses pays it to the node.
    challenge_bond: int = _default("referee", "challengeBond")
    #: Blocks each move may take; the party that misses its move loses the game.
    move_blocks: int = _default("referee", "moveBlocks")
    #: Blocks a node that lost a game cannot claim tasks.
    jail_blocks: int = _default("referee", "jailBlocks")


@dataclass(frozen=True)
class MarketConfig:
    """Task-market parameters (MarketParams): slash shares and the bounds createTask enforces."""

    #: Share of nodeStake slashed on a stall (to the treasury: never the requester).
    stall_slash_bps: int = _default("market", "stallSlashBps")
    #: Share of nodeStake slashed when a dispute is lost.
    dispute_slash_bps: int = _default("market", "disputeSlashBps")
    #: Share of a dispute slash paid to the requester (at least a stall's slash in total).
    requester_share_bps: int = _default("market", "requesterShareBps")
    #: Largest segmentSteps a task may ask for (a power of two).
    max_segment_steps: int = _default("market", "maxSegmentSteps")
    #: Largest challengeWindow a task may ask for.
    max_challenge_window: int = _default("market", "maxChallengeWindow")
    #: Largest segmentDeadline a task may ask for.
    max_segment_deadline: int = _default("market", "maxSegmentDeadline")
    #: Smallest nodeStake a task may ask for.
    min_node_stake: int = _default("market", "minNodeStake")
    #: Free releases per task (distinct nodes whose inputs are unavailable); the last ends it.
    max_releases: int = _default("market", "maxReleases")
    #: Blocks after a claim during which the node may release the task for free.
    release_window: int = _default("market", "releaseWindow")


@dataclass(frozen=True)
class DeployConfig:
    """Everything fixed at deployment (defaults: deploy/params.json)."""

    #: Existing ERC20 to stake with; None deploys the devnet VeriToken. Fee-on-transfer and
    #: rebasing tokens are refused by the contracts (docs/protocol.md, "Supported tokens").
    token: str | None = None
    #: VeriToken supply minted to the deployer (devnet token only).
    initial_supply: int = 1_000_000 * E18
    #: Blocks between requestWithdrawal and withdraw (must outlast the longest dispute).
    unbonding_blocks: int = _default("stake", "unbondingBlocks")
    #: Stake a juror needs to join and stay in the pool.
    min_juror_stake: int = _default("stake", "minJurorStake")
    #: Stake an account needs to attest audits in the AuditRegistry.
    min_auditor_stake: int = _default("audit", "minAuditorStake")
    #: Receives juror penalties, stall slashes and forfeited segment pay; None: the deployer.
    treasury: str | None = None
    #: Task-market parameters.
    market: MarketConfig = field(default_factory=MarketConfig)
    #: Jury parameters.
    jury: JuryConfig = field(default_factory=JuryConfig)
    #: Referee parameters.
    referee: RefereeConfig = field(default_factory=RefereeConfig)
    #: Requesters create tasks of profiles with a step graph with it (the referee) by default.
    step_graph_by_default: bool = bool(_PARAMS["tasks"]["stepGraphByDefault"])


def deploy_all(chain: Chain, config: DeployConfig | None = None) -> Addresses:
    """Deploy token (unless given), StakeManager, TaskMarket, randomness, JuryAdjudicator and
    the referee (StepPrograms, StepEvaluator, OneStepAdjudicator), wire the market to both
    (each task's adjudicator is fixed at creation:
    the referee for a task created with its step graph, the jury otherwise), then deploy the
    AuditRegistry over the market and the stakes. A parameter outside the documented bounds
    reverts ParamOutOfBounds(name, value, min, max)."""
    config = config or DeployConfig()
    start = chain.block_number()
    if config.token is None:
        token = chain.deploy("VeriToken", config.initial_supply).address
    else:
        token = config.token
        if not chain.retry(lambda: chain.w3.eth.get_code(chain.w3.to_checksum_address(token))):
            raise DeployError(f"no contract at token address {token} on chain {chain.chain_id}",
                              hint="pass the address of a deployed ERC20, or omit "
                                   "--token to deploy one")
    stake = chain.deploy("StakeManager", token, config.unbonding_blocks, config.min_juror_stake)
    treasury = config.treasury or chain.address
    market = chain.deploy("TaskMarket", token, stake.address,
                          _struct("TaskMarket", config.market, treasury=treasury))
    randomness = chain.deploy("PrevrandaoRandomness")
    jury = chain.deploy("JuryAdjudicator", token, stake.address, market.address, randomness.address,
                        _struct("JuryAdjudicator", config.jury, treasury=treasury))
    # The referee is three contracts (EIP-170): the programs, the evaluator over them, the game.
    programs = chain.deploy("StepPrograms")
    evaluator = chain.deploy("StepEvaluator", programs.address)
    referee = chain.deploy("OneStepAdjudicator", token, stake.address, market.address,
                           evaluator.address, _struct("OneStepAdjudicator", config.referee))
    stake.transact("wire", market.address, jury.address, referee.address)
    market.transact("setAdjudicators", jury.address, referee.address)
    return with_audit_registry(chain, Addresses(
        chainId=chain.chain_id, token=token, stakeManager=stake.address, taskMarket=market.address,
        adjudicator=jury.address, randomness=randomness.address, deployBlock=start,
        referee=referee.address, stepGraphByDefault=config.step_graph_by_default), config)


def with_audit_registry(chain: Chain, addresses: Addresses,
                        config: DeployConfig | None = None) -> Addresses:
    """``addresses`` with an AuditRegistry over its market and stakes (deployed unless it names
    one already): what an addresses file written before audit attestations gains."""
    if addresses.auditRegistry:
        return addresses
    config = config or DeployConfig()
    audits = chain.deploy("AuditRegistry", addresses.taskMarket, addresses.stakeManager,
                          config.min_auditor_stake)
    return replace(addresses, auditRegistry=audits.address)


def verify_code(chain: Chain, addresses: Addresses) -> None:
    """Check that every address of ``addresses`` holds contract code on ``chain``."""
    if addresses.chainId != chain.chain_id:
        raise DeployError(f"addresses are for chain {addresses.chainId}, the RPC serves "
                          f"chain {chain.chain_id}",
                          hint="use the addresses file written for this chain")
    names = ("token", "stakeManager", "taskMarket", "adjudicator", "randomness")
    extra = tuple(n for n in ("auditRegistry", "referee") if getattr(addresses, n))
    for name in names + extra:
        addr = chain.w3.to_checksum_address(getattr(addresses, name))
        if not chain.retry(partial(chain.w3.eth.get_code, addr)):
            raise DeployError(f"no contract code at {name} address {addr} on chain "
                              f"{chain.chain_id}",
                              hint="the deployment did not land or the addresses file "
                                   "is stale; deploy again")
