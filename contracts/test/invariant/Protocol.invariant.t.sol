// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {ProtocolHandler} from "./handlers/ProtocolHandler.sol";
import {VeriToken} from "../../src/VeriToken.sol";
import {StakeManager} from "../../src/StakeManager.sol";
import {TaskMarket} from "../../src/TaskMarket.sol";
import {JuryAdjudicator} from "../../src/JuryAdjudicator.sol";
import {PrevrandaoRandomness} from "../../src/PrevrandaoRandomness.sol";
import {TaskId, DisputeId, JuryParams, DisputeView, DisputePhase, Outcome} from "../../src/types/Ids.sol";

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
        token = new VeriToken(0);
        stakes = new StakeManager(address(token), 200);
        market = new TaskMarket(address(token), address(stakes), 1000);
        PrevrandaoRandomness rng = new PrevrandaoRandomness();
        JuryParams memory p = JuryParams({
            challengeBond: 100e18,
            slashAmount: 300e18,
            jurorPenalty: 10e18,
            drawDelay: 2,
            commitWindow: 30,
            revealWindow: 30,
            jailBlocks: 100,
            challengerShareBps: 5000,
            jurorFeeBps: 2000,
            jurySize: 3
        });
        jury = new JuryAdjudicator(address(token), address(stakes), address(market), address(rng), p);
        stakes.wire(address(market), address(jury));
        market.setAdjudicator(address(jury));

        string[10] memory names = [
            "requester", "honestNode", "badNode", "honestChallenger", "liarChallenger",
            "silentJuror", "copycat", "juror0", "juror1", "juror2"
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
            if (i >= 5) {
                stakes.deposit(200e18);
                stakes.optInJuror();
            }
            vm.stopPrank();
        }
        handler = new ProtocolHandler(token, stakes, market, jury, cast);
        targetContract(address(handler));
        // The actions an actor takes (stepDispute/commitNext are building blocks of playDispute/commitSegments).
        bytes4[] memory sel = new bytes4[](16);
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

    /// @notice The handler's end-state action really opens disputes that the jury decides (a guard
    ///         against an action that always reverts silently inside its try/catch).
    function test_handler_endStateDispute_opensAndDecides() public {
        handler.createTask(100e18);
        handler.claim(1, false, 2); // the bad node diverges inside segment 0
        handler.commitSegments(1, 1);
        handler.endStateDispute(1, 0, true); // honest challenger: the end state is wrong
        assertEq(handler.calls(16), 1, "end-state dispute opened");
        handler.endStateDispute(1, 0, false); // one per commitment while unresolved
        assertEq(handler.calls(16), 1, "second one refused");
        for (uint256 i; i < 8 && handler.calls(7) == 0; ++i) handler.playDispute(0, 4);
        assertEq(handler.calls(11 + uint256(Outcome.NodeWrong)), 1, "the bad node lost");
        assertFalse(handler.honestNodeSlashedByDispute());
        invariant_tokenConservation();
    }

    function test_handler_endStateDispute_honestNodeWins() public {
        handler.createTask(100e18);
        handler.claim(1, true, 0);
        handler.commitSegments(1, 2);
        handler.endStateDispute(1, 1, false); // the liar disputes an honest end state
        assertEq(handler.calls(16), 1);
        for (uint256 i; i < 8 && handler.calls(7) == 0; ++i) handler.playDispute(0, 4);
        assertEq(handler.calls(11 + uint256(Outcome.NodeRight)), 1, "the honest node won");
        assertFalse(handler.honestNodeSlashedByDispute());
        invariant_tokenConservation();
    }

    /// @notice After every run, public calls alone bring every dispute to a terminal state within
    ///         2 x (drawDelay + commitWindow + revealWindow) blocks.
    function afterInvariant() external {
        uint256 n = handler.disputeCountGhost();
        for (uint256 round; round < 2; ++round) {
            vm.roll(block.number + 2);
            for (uint256 i; i < n; ++i) {
                DisputeId d = DisputeId.wrap(handler.disputeIds(i));
                if (jury.phase(d) == DisputePhase.AwaitingDraw) jury.drawJury(d);
            }
            vm.roll(block.number + 61);
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
