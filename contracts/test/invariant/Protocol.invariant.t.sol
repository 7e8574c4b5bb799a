// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {ProtocolHandler} from "./handlers/ProtocolHandler.sol";
import {VeriToken} from "../../src/VeriToken.sol";
import {StakeManager} from "../../src/StakeManager.sol";
import {TaskMarket} from "../../src/TaskMarket.sol";
import {JuryAdjudicator} from "../../src/JuryAdjudicator.sol";
import {OneStepAdjudicator} from "../../src/OneStepAdjudicator.sol";
import {StepEvaluator} from "../../src/referee/StepEvaluator.sol";
import {StepPrograms} from "../../src/referee/StepPrograms.sol";
import {PrevrandaoRandomness} from "../../src/PrevrandaoRandomness.sol";
import {DeployParams, DeployParamsFile} from "../../script/DeployParams.sol";
import {TaskId, TaskStatus, DisputeId, DisputeView, DisputePhase} from "../../src/types/Ids.sol";

/// @notice Handler-based invariants over the whole protocol (default profile: runs x depth from
///         foundry.toml [profile.default.invariant]; ci profile: many more).
contract ProtocolInvariantTest is Test {
    VeriToken internal token;
    StakeManager internal stakes;
    TaskMarket internal market;
    JuryAdjudicator internal jury;
    ProtocolHandler internal handler;
    address[] internal cast;

    function setUp() public {
        vm.roll(1000);
        DeployParams memory p = DeployParamsFile.load(vm, makeAddr("treasury"));
        token = new VeriToken(0);
        stakes = new StakeManager(address(token), p.unbondingBlocks, p.minJurorStake);
        market = new TaskMarket(address(token), address(stakes), p.market);
        PrevrandaoRandomness rng = new PrevrandaoRandomness();
        jury = new JuryAdjudicator(address(token), address(stakes), address(market), address(rng), p.jury);
        OneStepAdjudicator referee =
            new OneStepAdjudicator(
            address(token), address(stakes), address(market), new StepEvaluator(new StepPrograms()), DeployParamsFile.referee(vm)
        );
        stakes.wire(address(market), address(jury), address(referee));
        market.setAdjudicators(address(jury), address(referee));

        string[11] memory names = [
            "requester", "honestNode", "badNode", "honestChallenger", "liarChallenger",
            "silentJuror", "copycat", "juror0", "juror1", "juror2", "treasury"
        ];
        for (uint256 i; i < names.length; ++i) {
            address a = makeAddr(names[i]);
            cast.push(a);
            token.mint(a, 1_000_000e18);
            vm.startPrank(a);
            token.approve(address(stakes), type(uint256).max);
            token.approve(address(market), type(uint256).max);
            token.approve(address(jury), type(uint256).max);
            if (i == 1 || i == 2) stakes.deposit(5000e18);
            if (i >= 5 && i <= 9) {
                stakes.deposit(200e18);
                stakes.optInJuror();
            }
            vm.stopPrank();
        }
        handler = new ProtocolHandler(token, stakes, market, jury, cast);
        targetContract(address(handler));
        // The actions an actor takes (stepDispute/commitNext are building blocks of playDispute/commitSegments).
        bytes4[] memory sel = new bytes4[](22);
        sel[0] = ProtocolHandler.createTask.selector;
        sel[1] = ProtocolHandler.claim.selector;
        sel[2] = ProtocolHandler.workTask.selector;
        sel[3] = ProtocolHandler.commitSegments.selector;
        sel[4] = ProtocolHandler.dispute.selector;
        sel[5] = ProtocolHandler.playDispute.selector;
        sel[6] = ProtocolHandler.draw.selector;
        sel[7] = ProtocolHandler.commitVotes.selector;
        sel[8] = ProtocolHandler.revealVotes.selector;
        sel[9] = ProtocolHandler.resolve.selector;
        sel[10] = ProtocolHandler.timeoutStall.selector;
        sel[11] = ProtocolHandler.claimReward.selector;
        sel[12] = ProtocolHandler.claimPayout.selector;
        sel[13] = ProtocolHandler.roll.selector;
        sel[14] = ProtocolHandler.cancel.selector;
        sel[15] = ProtocolHandler.endStateDispute.selector;
        sel[16] = ProtocolHandler.createHostileTask.selector;
        sel[17] = ProtocolHandler.togglePool.selector;
        sel[18] = ProtocolHandler.expireDraw.selector;
        sel[19] = ProtocolHandler.withdrawAll.selector;
        sel[20] = ProtocolHandler.withdrawAll.selector;
        sel[21] = ProtocolHandler.release.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: sel}));
        for (uint256 i; i < cast.length; ++i) excludeSender(cast[i]);
    }

    /// @notice Tokens held by the contracts == stakes + escrowed rewards + bonds, pots and unclaimed payouts.
    function invariant_tokenConservation() public view {
        assertEq(token.balanceOf(address(stakes)), stakes.totalHeld(), "stake manager");
        assertEq(token.balanceOf(address(market)), market.totalEscrow(), "market");
        assertEq(token.balanceOf(address(jury)), jury.totalHeld(), "adjudicator");
        assertEq(market.totalEscrow(), handler.escrowIn() - handler.escrowOut(), "escrow ghost");
        uint256 sum;
        for (uint256 i; i < cast.length; ++i) sum += token.balanceOf(cast[i]);
        sum += token.balanceOf(address(stakes)) + token.balanceOf(address(market)) + token.balanceOf(address(jury));
        assertEq(sum, token.totalSupply(), "no token created or lost");
    }

    /// @notice A segment with an unresolved dispute is never final.
    function invariant_disputedSegmentNeverFinal() public view {
        uint256 n = handler.disputeCountGhost();
        for (uint256 i; i < n; ++i) {
            DisputeId d = DisputeId.wrap(handler.disputeIds(i));
            DisputeView memory v = jury.dispute(d);
            if (v.phase != DisputePhase.Resolved) assertFalse(market.isFinal(v.taskId, v.segment), "final while disputed");
        }
    }

    /// @notice An honest node (every leaf replays) never loses a dispute.
    function invariant_honestNodeNeverSlashed() public view {
        assertFalse(handler.honestNodeSlashedByDispute());
    }

    /// @notice No double claim of a reward or a payout; every credit is either owed or paid.
    function invariant_noDoubleClaim() public view {
        uint256 n = market.taskCount();
        for (uint256 id = 1; id <= n; ++id) assertLe(handler.rewardClaims(id), 1, "reward claimed twice");
        assertFalse(handler.doublePayout(), "payout claimed twice");
        for (uint256 i; i < cast.length; ++i) {
            assertEq(handler.paid(cast[i]) + jury.owed(cast[i]), handler.credited(cast[i]), "credits");
        }
    }

    /// @notice Findings 2, 4, 5, 7: no task outside the market's bounds is ever accepted.
    function invariant_tasksWithinBounds() public view {
        assertFalse(handler.acceptedOutOfBounds(), "out-of-bounds task accepted");
    }

    /// @notice Finding 1: every seated jury has at least a quorum of jurors.
    function invariant_juryNeverBelowQuorum() public view {
        uint256 n = handler.disputeCountGhost();
        uint256 quorum = jury.params().quorum;
        for (uint256 i; i < n; ++i) {
            DisputeView memory v = jury.dispute(DisputeId.wrap(handler.disputeIds(i)));
            if (v.jurorCount != 0) assertGe(v.jurorCount, quorum, "jury below quorum");
        }
    }

    /// @notice Finding 5: every juror penalty is credited to the treasury, never to a party.
    function invariant_penaltiesOnlyToTreasury() public view {
        assertEq(handler.credited(handler.treasury()), handler.penaltiesTaken(), "treasury credits");
    }

    /// @notice #14: missing data never pays the requester: no stall slash reaches it, and a cancel or
    ///         the last release refunds at most the task's escrow.
    function invariant_withholdingNeverPaysTheRequester() public view {
        assertFalse(handler.requesterPaidByWithholding(), "the requester profited from a stall or an end");
    }

    /// @dev #14: the handler's release gives the task back for free (both nodes), then the requester
    ///      cancels for its escrow and nothing more.
    function test_handler_releaseThenCancel_succeeds() public {
        handler.createTask(100e18);
        handler.claim(1, true, 0);
        handler.release(1, false);
        handler.claim(1, false, 0);
        handler.release(1, false);
        assertEq(handler.counters().releases, 2, "two releases");
        assertEq(uint256(market.task(TaskId.wrap(1)).status), uint256(TaskStatus.Open));
        assertEq(stakes.stakeInfo(handler.honestNode()).locked, 0, "nothing left locked");
        handler.cancel(1);
        assertEq(handler.counters().cancels, 1);
        assertFalse(handler.requesterPaidByWithholding());
        invariant_tokenConservation();
    }

    /// @notice Finding 4: a juror that revealed with the decision is paid in every final outcome.
    function invariant_revealingJurorsPaid() public view {
        assertFalse(handler.unpaidRevealingJuror(), "a revealing juror went unpaid");
    }

    /// @notice Finding 10: per-obligation locks add up to each account's locked stake, so no
    ///         obligation's slash or unlock can touch another's.
    function invariant_locksAddUp() public view {
        uint256 tasks = market.taskCount();
        uint256 disputes = jury.disputeCount();
        for (uint256 a; a < cast.length; ++a) {
            address who = cast[a];
            uint256 sum;
            for (uint256 id = 1; id <= tasks; ++id) {
                uint32 epochs = market.task(TaskId.wrap(id)).epoch;
                for (uint32 e; e <= epochs; ++e) {
                    sum += stakes.lockedFor(who, address(market), keccak256(abi.encode(TaskId.wrap(id), e)));
                }
            }
            for (uint256 d = 1; d <= disputes; ++d) {
                for (uint256 r; r < 2; ++r) {
                    sum += stakes.lockedFor(who, address(jury), keccak256(abi.encode("juror", DisputeId.wrap(d), r)));
                }
            }
            assertEq(sum, stakes.stakeInfo(who).locked, "locks add up");
        }
    }

    /// @notice The handler's end-state action really opens disputes that the jury decides (a guard
    ///         against an action that always reverts silently inside its try/catch).
    /// @dev A wrong end state is disputed and the bad node loses.
    function test_handler_endStateDisputeWrongNode_succeeds() public {
        handler.createTask(100e18);
        handler.claim(1, false, 2); // the bad node diverges inside segment 0
        handler.commitSegments(1, 1);
        handler.endStateDispute(1, 0, true); // honest challenger: the end state is wrong
        assertEq(handler.counters().endStateDisputes, 1, "end-state dispute opened");
        handler.endStateDispute(1, 0, false); // one per commitment while unresolved
        assertEq(handler.counters().endStateDisputes, 1, "second one refused");
        for (uint256 i; i < 8 && handler.counters().resolves == 0; ++i) handler.playDispute(0, 4);
        assertEq(handler.counters().nodeWrong, 1, "the bad node lost");
        assertFalse(handler.honestNodeSlashedByDispute());
        invariant_tokenConservation();
    }

    /// @dev A liar's end-state dispute on an honest node ends NodeRight.
    function test_handler_endStateDisputeHonestNode_succeeds() public {
        handler.createTask(100e18);
        handler.claim(1, true, 0);
        handler.commitSegments(1, 2);
        handler.endStateDispute(1, 1, false); // the liar disputes an honest end state
        assertEq(handler.counters().endStateDisputes, 1);
        for (uint256 i; i < 8 && handler.counters().resolves == 0; ++i) handler.playDispute(0, 4);
        assertEq(handler.counters().nodeRight, 1, "the honest node won");
        assertFalse(handler.honestNodeSlashedByDispute());
        invariant_tokenConservation();
    }

    /// @dev Finding 1: with the pool starved below a quorum the draw is refused and the dispute expires Void.
    function test_handler_starvedDrawExpiresVoid_succeeds() public {
        handler.createTask(100e18);
        handler.claim(1, false, 2);
        handler.commitSegments(1, 1);
        handler.endStateDispute(1, 0, true);
        for (uint256 i = 5; i <= 8; ++i) handler.togglePool(i); // four of five jurors leave
        handler.playDispute(0, 1);
        assertEq(handler.counters().quorumRefused, 1, "draw refused below quorum");
        handler.expireDraw(0);
        assertEq(handler.counters().voids, 1, "expired Void");
        invariant_tokenConservation();
        invariant_locksAddUp();
    }

    /// @notice After every run, public calls alone bring every dispute to a terminal state within
    ///         jury.longestDispute() blocks (a draw that finds no quorum expires Void).
    function afterInvariant() external {
        uint256 n = handler.disputeCountGhost();
        uint256 drawWindow = jury.params().drawDelay + jury.params().drawExpiry + 1;
        uint256 voteWindow = jury.params().commitWindow + jury.params().revealWindow + 2 + 1;
        for (uint256 round; round < 2; ++round) {
            vm.roll(block.number + jury.params().drawDelay);
            for (uint256 i; i < n; ++i) {
                DisputeId d = DisputeId.wrap(handler.disputeIds(i));
                if (jury.phase(d) == DisputePhase.AwaitingDraw) {
                    try jury.drawJury(d) {} catch {}
                }
            }
            vm.roll(block.number + drawWindow);
            for (uint256 i; i < n; ++i) {
                DisputeId d = DisputeId.wrap(handler.disputeIds(i));
                if (jury.phase(d) == DisputePhase.AwaitingDraw) jury.resolve(d); // expired: Void
            }
            vm.roll(block.number + voteWindow);
            for (uint256 i; i < n; ++i) {
                DisputeId d = DisputeId.wrap(handler.disputeIds(i));
                if (jury.phase(d) == DisputePhase.Resolvable) jury.resolve(d);
            }
        }
        for (uint256 i; i < n; ++i) {
            DisputeId d = DisputeId.wrap(handler.disputeIds(i));
            assertEq(uint256(jury.phase(d)), uint256(DisputePhase.Resolved), "dispute not terminal");
        }
        invariant_tokenConservation();
    }
}
