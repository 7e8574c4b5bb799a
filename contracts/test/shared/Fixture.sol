// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {VeriToken} from "../../src/VeriToken.sol";
import {StakeManager} from "../../src/StakeManager.sol";
import {TaskMarket} from "../../src/TaskMarket.sol";
import {JuryAdjudicator} from "../../src/JuryAdjudicator.sol";
import {OneStepAdjudicator} from "../../src/OneStepAdjudicator.sol";
import {StepEvaluator} from "../../src/referee/StepEvaluator.sol";
import {StepPrograms} from "../../src/referee/StepPrograms.sol";
import {PrevrandaoRandomness} from "../../src/PrevrandaoRandomness.sol";
import {TraceMerkle} from "../../src/libraries/TraceMerkle.sol";
import {TraceMerkleBuilder} from "../support/TraceMerkleBuilder.sol";
import {DeployParams, DeployParamsFile} from "../../script/DeployParams.sol";
import {TaskId, DisputeId, TaskParams, JuryParams, MarketParams, SegmentRoots} from "../../src/types/Ids.sol";

/// @notice Deterministic fake training traces: the honest state hash of step t, and a node that
///         diverges from step `wrongFrom` on (0: honest).
library Traces {
    function stateHash(uint256 taskId, uint256 t) internal pure returns (bytes32) {
        return keccak256(abi.encode("honest-state", taskId, t));
    }

    function badStateHash(uint256 taskId, uint256 t) internal pure returns (bytes32) {
        return keccak256(abi.encode("divergent-state", taskId, t));
    }

    /// @notice State hash after step `t` of a node that diverges from step `wrongFrom` on (0: honest).
    function stateHashOf(uint256 taskId, uint256 t, uint256 wrongFrom) internal pure returns (bytes32) {
        return (wrongFrom != 0 && t >= wrongFrom) ? badStateHash(taskId, t) : stateHash(taskId, t);
    }

    function honestLeaf(uint256 taskId, uint256 t) internal pure returns (bytes32) {
        return TraceMerkle.leaf(taskId, t, stateHash(taskId, t));
    }

    /// @notice Leaves of segment k (S steps) of a node that diverges from step `wrongFrom` on.
    function leaves(uint256 taskId, uint256 k, uint256 s, uint256 wrongFrom)
        internal
        pure
        returns (bytes32[] memory l)
    {
        l = new bytes32[](s);
        for (uint256 i; i < s; ++i) {
            uint256 t = k * s + i + 1;
            l[i] = TraceMerkle.leaf(taskId, t, stateHashOf(taskId, t, wrongFrom));
        }
    }
}

/// @notice Deploys the whole protocol with the parameters of deploy/params.json (the one source)
///         and funds a cast of actors.
abstract contract Fixture is Test {
    uint256 internal constant NODE_STAKE = 1000e18;
    uint256 internal constant REWARD = 5000e18;
    uint256 internal constant JUROR_STAKE = 200e18;
    uint64 internal constant SEG = 16;
    uint64 internal constant TOTAL = 64;
    uint64 internal constant WINDOW = 40;
    uint64 internal constant DEADLINE = 200;
    uint256 internal constant N_JURORS = 5;
    uint256 internal constant BPS = 10_000;

    /// @dev Deployment parameters (deploy/params.json) and the amounts tests check books against.
    DeployParams internal dp;
    uint256 internal BOND;
    uint256 internal JUROR_PENALTY;
    /// @dev What a lost dispute slashes on a fixture task, and the requester's share of it.
    uint256 internal SLASH;
    uint256 internal SLASH_TO_REQUESTER;
    /// @dev What a stall slashes on a fixture task (all of it to the treasury).
    uint256 internal STALL_SLASH;

    VeriToken internal token;
    StakeManager internal stakes;
    TaskMarket internal market;
    PrevrandaoRandomness internal rng;
    JuryAdjudicator internal jury;
    /// @dev The market's other adjudicator (tasks created with a step graph).
    OneStepAdjudicator internal referee;

    address internal deployer = address(this);
    address internal treasury = makeAddr("treasury");
    address internal requester;
    address internal node;
    address internal node2;
    address internal challenger;
    address[] internal pool;
    /// @dev The roots of the latest commitment of each segment the fixture made (the market keeps
    ///      only their digest; a challenger reads them from SegmentCommitted).
    mapping(TaskId id => mapping(uint256 k => SegmentRoots)) internal committedRoots;

    function juryParams() internal view returns (JuryParams memory) {
        return dp.jury;
    }

    function marketParams() internal view returns (MarketParams memory) {
        return dp.market;
    }

    function taskParams() internal pure returns (TaskParams memory) {
        return TaskParams({
            totalSteps: TOTAL,
            segmentSteps: SEG,
            challengeWindow: WINDOW,
            segmentDeadline: DEADLINE,
            nodeStake: uint128(NODE_STAKE)
        });
    }

    function setUp() public virtual {
        vm.roll(100);
        dp = DeployParamsFile.load(vm, treasury);
        BOND = dp.jury.challengeBond;
        JUROR_PENALTY = dp.jury.jurorPenalty;
        SLASH = NODE_STAKE * dp.market.disputeSlashBps / BPS;
        SLASH_TO_REQUESTER = SLASH * dp.market.requesterShareBps / BPS;
        STALL_SLASH = NODE_STAKE * dp.market.stallSlashBps / BPS;
        token = _newToken();
        stakes = new StakeManager(address(token), dp.unbondingBlocks, dp.minJurorStake);
        market = new TaskMarket(address(token), address(stakes), dp.market);
        rng = new PrevrandaoRandomness();
        jury = new JuryAdjudicator(address(token), address(stakes), address(market), address(rng), dp.jury);
        referee = new OneStepAdjudicator(
            address(token),
            address(stakes),
            address(market),
            new StepEvaluator(new StepPrograms()),
            DeployParamsFile.referee(vm)
        );
        stakes.wire(address(market), address(jury), address(referee));
        market.setAdjudicators(address(jury), address(referee));

        requester = _actor("requester", 0);
        node = _actor("node", 3 * NODE_STAKE);
        node2 = _actor("node2", 3 * NODE_STAKE);
        challenger = _actor("challenger", 0);
        for (uint256 i; i < N_JURORS; ++i) {
            address j = _actor(string.concat("juror", vm.toString(i)), JUROR_STAKE);
            vm.prank(j);
            stakes.optInJuror();
            pool.push(j);
        }
    }

    /// @dev The staking token the fixture deploys; suites with a hostile token override it.
    function _newToken() internal virtual returns (VeriToken) {
        return new VeriToken(0);
    }

    /// @dev A funded actor with approvals to every contract and `stake` deposited.
    function _actor(string memory name, uint256 stake) internal returns (address a) {
        a = makeAddr(name);
        token.mint(a, 100_000e18);
        vm.startPrank(a);
        token.approve(address(stakes), type(uint256).max);
        token.approve(address(market), type(uint256).max);
        token.approve(address(jury), type(uint256).max);
        if (stake != 0) stakes.deposit(stake);
        vm.stopPrank();
    }

    function _createTask() internal returns (TaskId id) {
        vm.prank(requester);
        id = market.createTask("bafyspec", keccak256("spec"), REWARD, taskParams());
    }

    function _createAndClaim() internal returns (TaskId id) {
        id = _createTask();
        vm.prank(node);
        market.claimTask(id);
    }

    /// @dev `who` commits segment k of a trace diverging from `wrongFrom` (0: honest); returns the leaves.
    ///      The end state hash is the trace's state after the segment's last step.
    function _commit(TaskId id, uint256 k, uint256 wrongFrom, address who) internal returns (bytes32[] memory l) {
        l = Traces.leaves(TaskId.unwrap(id), k, SEG, wrongFrom);
        bytes32 root = TraceMerkleBuilder.computeRoot(l);
        bytes32 end = Traces.stateHashOf(TaskId.unwrap(id), (k + 1) * SEG, wrongFrom);
        vm.prank(who);
        market.commitSegment(id, k, root, end, "bafyckpt", "bafyleaves", l);
        committedRoots[id][k] = SegmentRoots(root, end);
    }

    /// @dev The roots the fixture committed for segment k (zeros if it committed none).
    function _roots(TaskId id, uint256 k) internal view returns (SegmentRoots memory) {
        return committedRoots[id][k];
    }

    /// @dev The roots of segment k-1 (zeros for k == 0): what an adjudicator may anchor at.
    function _previous(TaskId id, uint256 k) internal view returns (SegmentRoots memory r) {
        if (k != 0) r = committedRoots[id][k - 1];
    }

    /// @dev The challenger opens an end-state dispute on segment k.
    function _openEndState(TaskId id, uint256 k) internal returns (DisputeId d) {
        vm.prank(challenger);
        d = jury.openEndStateDispute(id, k, _roots(id, k), _previous(id, k));
    }

    /// @dev The challenger disputes step `step` of segment k (leaves = the node's committed leaves).
    function _open(TaskId id, uint256 k, uint256 step, bytes32[] memory l) internal returns (DisputeId d) {
        uint256 idx = step - k * SEG - 1;
        bytes32[] memory proof = TraceMerkleBuilder.buildProof(l, idx);
        vm.prank(challenger);
        d = jury.openDispute(id, k, _roots(id, k), _previous(id, k), step, l[idx], proof);
    }

    function _draw(DisputeId d) internal returns (address[] memory js) {
        vm.roll(block.number + juryParams().drawDelay);
        jury.drawJury(d);
        js = jury.jurors(d);
    }

    function _salt(address j) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", j));
    }

    function _commitVote(DisputeId d, address j, bytes32 leaf) internal {
        vm.prank(j);
        jury.commitVote(d, keccak256(abi.encode(d, leaf, _salt(j), j)));
    }

    function _reveal(DisputeId d, address j, bytes32 leaf) internal {
        vm.prank(j);
        jury.revealVote(d, leaf, _salt(j));
    }

    /// @dev Every juror commits and reveals `leaf`.
    function _voteAll(DisputeId d, address[] memory js, bytes32 leaf) internal {
        for (uint256 i; i < js.length; ++i) {
            _commitVote(d, js[i], leaf);
        }
        for (uint256 i; i < js.length; ++i) {
            _reveal(d, js[i], leaf);
        }
    }

    /// @dev Commit window of a dispute on a fixture task (the base window plus the replay allowance).
    function _commitWindow() internal view returns (uint256) {
        return dp.jury.commitWindow + (SEG + dp.jury.replayStepsPerBlock - 1) / dp.jury.replayStepsPerBlock;
    }

    /// @dev The jurors' fee out of the bond (paid in every outcome with someone to pay).
    function _fee() internal view returns (uint256) {
        return BOND * dp.jury.jurorFeeBps / BPS;
    }

    /// @dev What a winning challenger is credited: its bond less the fee, plus its share of what the
    ///      adjudicator received of the slash (the slash less the requester's share).
    function _challengerWin() internal view returns (uint256) {
        return BOND - _fee() + (SLASH - SLASH_TO_REQUESTER) * dp.jury.challengerShareBps / BPS;
    }

    function _held() internal view returns (uint256) {
        return stakes.totalHeld() + market.totalEscrow() + jury.totalHeld();
    }
}
