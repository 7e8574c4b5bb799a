// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture, Traces} from "../shared/Fixture.sol";
import {FeeToken} from "./FeeToken.sol";
import {TraceMerkleBuilder} from "../support/TraceMerkleBuilder.sol";
import {IJuryAdjudicator} from "../../src/interfaces/IJuryAdjudicator.sol";
import {StakeManager} from "../../src/StakeManager.sol";
import {TaskMarket} from "../../src/TaskMarket.sol";
import {JuryAdjudicator} from "../../src/JuryAdjudicator.sol";
import {OneStepAdjudicator} from "../../src/OneStepAdjudicator.sol";
import {StepEvaluator} from "../../src/referee/StepEvaluator.sol";
import {StepPrograms} from "../../src/referee/StepPrograms.sol";
import {DeployParamsFile} from "../../script/DeployParams.sol";
import {TokenPull} from "../../src/libraries/TokenPull.sol";
import {TaskId, DisputeId, TaskParams, TaskStatus, Outcome, SegmentRoots} from "../../src/types/Ids.sol";

/// @notice Issue #15, read as a rational adversary: each test replays one finding's exploit on the
///         real contracts and checks that it now fails, by a named revert or by the books to the wei.
contract EconomicsTest is Fixture {
    address internal puppet;

    function setUp() public override {
        super.setUp();
        puppet = _actor("puppet", 0);
    }

    function _conserved() internal view {
        uint256 bal = token.balanceOf(address(stakes)) + token.balanceOf(address(market)) + token.balanceOf(address(jury));
        assertEq(bal, _held(), "conservation");
    }

    /// @dev Number of pool members that could sit on a jury now (free stake >= penalty, not a party).
    function _eligible(address party) internal view returns (uint256 n) {
        (address[] memory a, uint256[] memory w) = stakes.jurorPool();
        for (uint256 i; i < a.length; ++i) {
            if (a[i] != party && w[i] >= JUROR_PENALTY) ++n;
        }
    }

    /// @dev Finding 1, jury starvation: the cheater draws dummy disputes on its own task until no
    ///      quorum is left for the real dispute. The draw is refused, the dispute expires Void, the
    ///      wrong segment never becomes final: the cheater is not paid, the requester gets the whole
    ///      reward back, the honest challenger its whole bond.
    function test_starveJury_voidNotDefault_succeeds() public {
        TaskId real = _createAndClaim();
        _commit(real, 0, 3, node); // wrong from step 3
        DisputeId d = _openEndState(real, 0);
        // The cheater's dummy task, with segments its puppet disputes to lock jurors' stake.
        TaskParams memory p = taskParams();
        p.challengeWindow = dp.market.maxChallengeWindow;
        vm.prank(node2);
        TaskId dummy = market.createTask("dummy", keccak256("dummy"), 0, p);
        vm.prank(node2);
        market.claimTask(dummy);
        bytes32[] memory l = _commit(dummy, 0, 0, node2);
        token.mint(puppet, 100 * BOND);
        for (uint256 i; i < 60 && _eligible(challenger) >= dp.jury.quorum; ++i) {
            uint256 idx = i % SEG;
            vm.prank(puppet);
            DisputeId x = jury.openDispute(dummy, 0, _roots(dummy, 0), _previous(dummy, 0), idx + 1, l[idx], _proof(l, idx));
            vm.roll(block.number + dp.jury.drawDelay);
            jury.drawJury(x);
        }
        vm.expectRevert(
            abi.encodeWithSelector(IJuryAdjudicator.QuorumUnavailable.selector, d, _eligible(challenger), dp.jury.quorum)
        );
        jury.drawJury(d);
        vm.roll(jury.dispute(d).drawAfter + dp.jury.drawExpiry + 1);
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.Void));
        assertFalse(market.isFinal(real, 0), "the wrong segment is not final");
        assertEq(market.task(real).nextSegment, 0);
        assertEq(jury.owed(challenger), BOND, "the honest challenger's bond is back");
        assertEq(jury.owed(node), 0, "nothing for the cheater");
        uint256 before = token.balanceOf(requester);
        vm.prank(requester);
        market.cancelTask(real);
        assertEq(token.balanceOf(requester) - before, REWARD, "the requester's whole reward back");
        _conserved();
    }

    /// @dev Finding 4: a wrong segment always costs a slash (nodeStake >= minNodeStake), and the jurors
    ///      who replay are paid even when the node is right.
    function test_zeroStakeTask_refusedAndJurorsPaid_succeeds() public {
        TaskParams memory p = taskParams();
        p.nodeStake = 0;
        vm.expectRevert();
        vm.prank(requester);
        market.createTask("x", keccak256("s"), REWARD, p);
        TaskId id = _createAndClaim();
        bytes32[] memory l = _commit(id, 0, 0, node);
        DisputeId d = _open(id, 0, 4, l);
        address[] memory js = _draw(d);
        _voteAll(d, js, l[3]);
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.NodeRight));
        uint256 perJuror = _fee() / js.length;
        for (uint256 i; i < js.length; ++i) assertGe(jury.owed(js[i]), perJuror, "juror paid");
    }

    /// @dev Finding 5, penalty farming: the farmer is requester, node and (through a puppet) challenger;
    ///      the jurors stay silent. The penalties go to the treasury; the farmer's node and puppet end
    ///      with exactly what they put in, to the wei.
    function test_penaltyFarming_potToTreasury_succeeds() public {
        vm.prank(node);
        TaskId id = market.createTask("farm", keccak256("farm"), 0, taskParams());
        vm.prank(node);
        market.claimTask(id);
        _commit(id, 0, 0, node);
        vm.prank(puppet);
        DisputeId d = jury.openEndStateDispute(id, 0, _roots(id, 0), _previous(id, 0));
        for (uint256 round; round < 2; ++round) {
            _draw(d);
            vm.roll(jury.dispute(d).revealDeadline + 1);
            jury.resolve(d);
        }
        assertEq(uint256(jury.outcome(d)), uint256(Outcome.Void));
        assertEq(jury.owed(puppet), BOND, "the puppet's bond back, nothing more");
        assertEq(jury.owed(node), 0, "nothing to the farmer's node");
        assertEq(jury.owed(treasury), 6 * JUROR_PENALTY, "every penalty to the treasury");
        assertEq(stakes.stakeInfo(node).staked, 3 * NODE_STAKE, "node stake untouched");
        _conserved();
    }

    /// @dev Finding 6, stall escape: with a dispute open, the node stalls and withdraws everything
    ///      free. The dispute still slashes the full amount from the lock the stall kept.
    function test_stallEscape_disputeStillSlashes_succeeds() public {
        TaskParams memory p = taskParams();
        p.segmentDeadline = 20;
        vm.prank(requester);
        TaskId id = market.createTask("bafyspec", keccak256("spec"), REWARD, p);
        vm.prank(node);
        market.claimTask(id);
        _commit(id, 0, 3, node);
        DisputeId d = _openEndState(id, 0);
        uint256 reqBefore = token.balanceOf(requester);
        vm.roll(market.task(id).segmentDueBlock + 1);
        market.timeoutStall(id);
        uint256 free = stakes.freeStake(node);
        vm.prank(node);
        stakes.requestWithdrawal(free);
        assertEq(stakes.stakeInfo(node).locked, SLASH, "what the dispute can slash stays locked");
        address[] memory js = _draw(d);
        _voteAll(d, js, Traces.honestLeaf(1, SEG));
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.NodeWrong));
        assertEq(token.balanceOf(requester) - reqBefore, SLASH_TO_REQUESTER, "requester");
        assertEq(token.balanceOf(treasury), STALL_SLASH, "treasury: the stall slash (#14)");
        assertEq(jury.owed(challenger), _challengerWin(), "challenger");
        assertEq(stakes.stakeInfo(node).staked, 0, "node: everything else was withdrawn");
        assertEq(stakes.stakeInfo(node).locked, 0);
        assertEq(stakes.stakeInfo(node).pending, 3 * NODE_STAKE - STALL_SLASH - SLASH, "pending untouched");
        _conserved();
    }

    /// @dev Finding 8, sock-puppet exit: leaving a task through a lost dispute on its own wrong
    ///      segment costs the node and its puppet at least a stall, and pays the requester at least
    ///      what a stall would.
    function test_sockPuppetExit_costsAtLeastStall_succeeds() public {
        TaskId id = _createAndClaim();
        _commit(id, 0, 3, node);
        uint256 reqBefore = token.balanceOf(requester);
        uint256 puppetBefore = token.balanceOf(puppet);
        vm.prank(puppet);
        DisputeId d = jury.openEndStateDispute(id, 0, _roots(id, 0), _previous(id, 0));
        _voteAll(d, _draw(d), Traces.honestLeaf(1, SEG));
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.NodeWrong));
        vm.prank(puppet);
        jury.claimPayout();
        uint256 puppetGain = token.balanceOf(puppet) - puppetBefore;
        uint256 nodeLoss = 3 * NODE_STAKE - stakes.stakeInfo(node).staked;
        assertEq(nodeLoss, SLASH);
        assertGe(nodeLoss - puppetGain, STALL_SLASH, "the exit costs at least a stall");
        assertGe(token.balanceOf(requester) - reqBefore, STALL_SLASH, "the requester gets at least a stall's slash");
    }

    /// @dev Finding 10: a fee-on-transfer token is refused at the first transfer in.
    function test_feeOnTransferToken_reverts() public {
        FeeToken fee = new FeeToken();
        StakeManager s = new StakeManager(address(fee), dp.unbondingBlocks, dp.minJurorStake);
        TaskMarket m = new TaskMarket(address(fee), address(s), dp.market);
        JuryAdjudicator j = new JuryAdjudicator(address(fee), address(s), address(m), address(rng), dp.jury);
        OneStepAdjudicator r = new OneStepAdjudicator(
            address(fee), address(s), address(m), new StepEvaluator(new StepPrograms()), DeployParamsFile.referee(vm)
        );
        s.wire(address(m), address(j), address(r));
        m.setAdjudicators(address(j), address(r));
        fee.mint(requester, 1000e18);
        vm.startPrank(requester);
        fee.approve(address(s), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(TokenPull.FeeOnTransferToken.selector, 100e18, 99e18));
        s.deposit(100e18);
        vm.stopPrank();
    }

    /// @dev Finding 11: the commit window of a dispute grows with the replay cost of its segment.
    function test_commitWindow_scalesWithSegment_succeeds() public {
        TaskParams memory p = taskParams();
        p.segmentSteps = uint64(dp.market.maxSegmentSteps);
        p.totalSteps = p.segmentSteps;
        vm.prank(requester);
        TaskId id = market.createTask("long", keccak256("long"), REWARD, p);
        vm.prank(node);
        market.claimTask(id);
        vm.prank(node);
        bytes32[] memory l = Traces.leaves(TaskId.unwrap(id), 0, p.segmentSteps, 0);
        market.commitSegment(id, 0, TraceMerkleBuilder.computeRoot(l), keccak256("end"), "c", "l", l);
        committedRoots[id][0] = SegmentRoots(TraceMerkleBuilder.computeRoot(l), keccak256("end"));
        DisputeId d = _openEndState(id, 0);
        _draw(d);
        uint256 replay = p.segmentSteps / dp.jury.replayStepsPerBlock;
        assertEq(jury.dispute(d).replayBlocks, replay);
        assertEq(jury.dispute(d).commitDeadline, block.number + dp.jury.commitWindow + replay);
    }

    function _proof(bytes32[] memory l, uint256 idx) internal pure returns (bytes32[] memory) {
        return TraceMerkleBuilder.buildProof(l, idx);
    }
}
