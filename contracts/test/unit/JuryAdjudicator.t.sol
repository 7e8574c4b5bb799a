// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture, Traces} from "../shared/Fixture.sol";
import {TraceMerkleBuilder} from "../support/TraceMerkleBuilder.sol";
import {Vm} from "../base/Vm.sol";
import {IStepAdjudicator} from "../../src/interfaces/IStepAdjudicator.sol";
import {IJuryAdjudicator} from "../../src/interfaces/IJuryAdjudicator.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";
import {JuryAdjudicator} from "../../src/JuryAdjudicator.sol";
import {Bounds} from "../../src/libraries/Bounds.sol";
import {
    TaskId, DisputeId, TaskStatus, DisputePhase, DisputeView, VoteView, JuryParams, Outcome
} from "../../src/types/Ids.sol";

contract JuryAdjudicatorTest is Fixture {
    TaskId internal id;
    bytes32[] internal leaves;

    /// @dev Task claimed by `node`; segment 0 committed with a trace diverging from `wrongFrom`.
    function _segment(uint256 wrongFrom) internal {
        id = _createAndClaim();
        leaves = _commit(id, 0, wrongFrom, node);
    }

    function _conserved() internal view {
        uint256 bal = token.balanceOf(address(stakes)) + token.balanceOf(address(market)) + token.balanceOf(address(jury));
        assertEq(bal, _held(), "tokens held == stakes + escrow + bonds/credits");
    }

    /// @dev Node and challenger are rich jurors, so a draw that included them would be likely.
    function _partiesInPool() internal {
        vm.prank(node);
        stakes.optInJuror();
        vm.startPrank(challenger);
        stakes.deposit(10_000e18);
        stakes.optInJuror();
        vm.stopPrank();
    }

    // ------------------------------------------------------------ openDispute

    /// @dev A dispute escrows the bond, is counted by the market and awaits its draw.
    function test_openDispute_records_succeeds() public {
        _segment(0);
        bytes32[] memory proof = TraceMerkleBuilder.buildProof(leaves, 4);
        vm.expectEmit(true, true, false, true, address(market));
        emit ITaskMarket.SegmentDisputeCount(id, 0, 1);
        vm.expectEmit(true, true, true, true, address(jury));
        emit IStepAdjudicator.DisputeOpened(DisputeId.wrap(1), id, 0, 5, leaves[4], challenger, node, BOND);
        vm.prank(challenger);
        DisputeId d = jury.openDispute(id, 0, _roots(id, 0), _previous(id, 0), 5, leaves[4], proof);
        DisputeView memory v = jury.dispute(d);
        assertEq(v.nodeLeaf, leaves[4]);
        assertEq(uint256(v.phase), uint256(DisputePhase.AwaitingDraw));
        assertEq(v.drawAfter, block.number + dp.jury.drawDelay);
        assertEq(jury.totalHeld(), BOND);
        vm.roll(block.number + WINDOW + 1);
        assertFalse(market.isFinal(id, 0), "disputed segment is not final");
        _conserved();
    }

    /// @dev The node cannot dispute itself.
    function test_openDispute_byNode_reverts() public {
        _segment(0);
        bytes32[] memory proof = TraceMerkleBuilder.buildProof(leaves, 4);
        vm.expectRevert(abi.encodeWithSelector(IStepAdjudicator.ChallengerIsNode.selector, node));
        vm.prank(node);
        jury.openDispute(id, 0, _roots(id, 0), _previous(id, 0), 5, leaves[4], proof);
    }

    /// @dev The step must lie inside the segment.
    function test_openDispute_stepOutOfRange_reverts() public {
        _segment(0);
        bytes32[] memory proof = TraceMerkleBuilder.buildProof(leaves, 4);
        vm.expectRevert(abi.encodeWithSelector(IStepAdjudicator.StepOutOfRange.selector, SEG + 1, 1, SEG));
        vm.prank(challenger);
        jury.openDispute(id, 0, _roots(id, 0), _previous(id, 0), SEG + 1, leaves[4], proof);
    }

    /// @dev The proof has log2(S) siblings.
    function test_openDispute_proofLength_reverts() public {
        _segment(0);
        vm.expectRevert(abi.encodeWithSelector(IStepAdjudicator.ProofLength.selector, 3, 4));
        vm.prank(challenger);
        jury.openDispute(id, 0, _roots(id, 0), _previous(id, 0), 5, leaves[4], new bytes32[](3));
    }

    /// @dev A leaf the root holds at another position is refused.
    function test_openDispute_wrongPosition_reverts() public {
        _segment(0);
        bytes32[] memory proof = TraceMerkleBuilder.buildProof(leaves, 4);
        bytes32 root = _roots(id, 0).traceRoot;
        vm.expectRevert(abi.encodeWithSelector(IStepAdjudicator.InvalidProof.selector, leaves[5], root));
        vm.prank(challenger);
        jury.openDispute(id, 0, _roots(id, 0), _previous(id, 0), 5, leaves[5], proof);
    }

    /// @dev A segment past its challenge window cannot be disputed.
    function test_openDispute_windowClosed_reverts() public {
        _segment(0);
        bytes32[] memory proof = TraceMerkleBuilder.buildProof(leaves, 4);
        uint256 closes = block.number + WINDOW;
        vm.roll(closes + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.ChallengeWindowClosed.selector, id, 0, closes));
        vm.prank(challenger);
        jury.openDispute(id, 0, _roots(id, 0), _previous(id, 0), 5, leaves[4], proof);
    }

    /// @dev Unknown disputes are refused.
    function test_drawJury_unknownDispute_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IStepAdjudicator.UnknownDispute.selector, DisputeId.wrap(7)));
        jury.drawJury(DisputeId.wrap(7));
    }

    // ------------------------------------------------------------ drawJury

    /// @dev No draw before drawAfter.
    function test_drawJury_tooEarly_reverts() public {
        _segment(0);
        DisputeId d = _open(id, 0, 3, leaves);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.DrawTooEarly.selector, d, block.number + dp.jury.drawDelay));
        jury.drawJury(d);
    }

    /// @dev Three distinct jurors, none a party, each locking the penalty under the dispute's obligation;
    ///      the commit window includes the replay allowance of the segment (finding 11).
    function test_drawJury_seatsDistinctNonParties_succeeds() public {
        _partiesInPool();
        _segment(0);
        DisputeId d = _open(id, 0, 3, leaves);
        vm.roll(block.number + dp.jury.drawDelay);
        vm.prevrandao(bytes32(uint256(1234)));
        jury.drawJury(d);
        address[] memory js = jury.jurors(d);
        assertEq(js.length, 3);
        for (uint256 i; i < 3; ++i) {
            assertTrue(js[i] != node && js[i] != challenger, "party drawn");
            assertEq(stakes.stakeInfo(js[i]).locked, JUROR_PENALTY);
            for (uint256 j; j < i; ++j) assertTrue(js[i] != js[j], "drawn twice");
        }
        DisputeView memory v = jury.dispute(d);
        assertEq(v.commitDeadline, block.number + _commitWindow());
        assertEq(v.revealDeadline, block.number + _commitWindow() + dp.jury.revealWindow);
    }

    /// @dev A seated jury cannot be drawn again.
    function test_drawJury_twice_reverts() public {
        _segment(0);
        DisputeId d = _open(id, 0, 3, leaves);
        _draw(d);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.WrongPhase.selector, d, DisputePhase.Commit));
        jury.drawJury(d);
    }

    /// @dev JuryDrawn carries the round, the jurors and both deadlines.
    function test_drawJury_emitsJuryDrawn_succeeds() public {
        _segment(0);
        DisputeId d = _open(id, 0, 3, leaves);
        vm.roll(block.number + dp.jury.drawDelay);
        vm.recordLogs();
        jury.drawJury(d);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes32 sig = keccak256("JuryDrawn(uint256,uint8,address[],uint256,uint256)");
        bool seen;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(jury) || logs[i].topics[0] != sig) continue;
            seen = true;
            (uint8 round, address[] memory js, uint256 cd, uint256 rd) =
                abi.decode(logs[i].data, (uint8, address[], uint256, uint256));
            assertEq(round, 0);
            assertEq(keccak256(abi.encode(js)), keccak256(abi.encode(jury.jurors(d))));
            assertEq(cd, block.number + _commitWindow());
            assertEq(rd, cd + dp.jury.revealWindow);
        }
        assertTrue(seen, "JuryDrawn emitted");
    }

    /// @dev Whatever the randomness, the parties are never drawn.
    function testFuzz_drawJury_neverDrawsParties(bytes32 randao) public {
        _partiesInPool();
        _segment(0);
        DisputeId d = _open(id, 0, 3, leaves);
        vm.roll(block.number + dp.jury.drawDelay);
        vm.prevrandao(randao);
        jury.drawJury(d);
        address[] memory js = jury.jurors(d);
        assertEq(js.length, 3);
        for (uint256 i; i < 3; ++i) assertTrue(js[i] != node && js[i] != challenger);
    }

    /// @dev Finding 1: a draw that cannot seat a quorum reverts by name and leaves the dispute waiting.
    function test_drawJury_belowQuorum_reverts() public {
        for (uint256 i; i < N_JURORS - 1; ++i) {
            vm.prank(pool[i]);
            stakes.optOutJuror();
        }
        _segment(0);
        DisputeId d = _open(id, 0, 2, leaves);
        vm.roll(block.number + dp.jury.drawDelay);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.QuorumUnavailable.selector, d, 1, dp.jury.quorum));
        jury.drawJury(d);
        assertEq(uint256(jury.phase(d)), uint256(DisputePhase.AwaitingDraw));
    }

    /// @dev Finding 1: after the draw window the dispute can no longer be drawn.
    function test_drawJury_afterExpiry_reverts() public {
        _segment(0);
        DisputeId d = _open(id, 0, 2, leaves);
        uint256 end = jury.dispute(d).drawAfter + dp.jury.drawExpiry;
        vm.roll(end + 1);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.DrawExpired.selector, d, end));
        jury.drawJury(d);
    }

    // ------------------------------------------------------------ commitVote / revealVote

    /// @dev Only drawn jurors commit.
    function test_commitVote_notDrawn_reverts() public {
        _segment(0);
        DisputeId d = _open(id, 0, 3, leaves);
        _draw(d);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.NotDrawnJuror.selector, d, node2));
        vm.prank(node2);
        jury.commitVote(d, bytes32("x"));
    }

    /// @dev A commitment is stored and emitted.
    function test_commitVote_stored_succeeds() public {
        _segment(0);
        DisputeId d = _open(id, 0, 3, leaves);
        address[] memory js = _draw(d);
        vm.expectEmit(true, true, false, false, address(jury));
        emit IJuryAdjudicator.VoteCommitted(d, js[0]);
        _commitVote(d, js[0], leaves[2]);
        assertEq(jury.vote(d, js[0]).commitment, jury.voteCommitment(d, leaves[2], _salt(js[0]), js[0]));
    }

    /// @dev A juror commits once.
    function test_commitVote_twice_reverts() public {
        _segment(0);
        DisputeId d = _open(id, 0, 3, leaves);
        address[] memory js = _draw(d);
        _commitVote(d, js[0], leaves[2]);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.AlreadyCommitted.selector, d, js[0]));
        vm.prank(js[0]);
        jury.commitVote(d, bytes32("x"));
    }

    /// @dev No commit after the commit deadline.
    function test_commitVote_afterDeadline_reverts() public {
        _segment(0);
        DisputeId d = _open(id, 0, 3, leaves);
        address[] memory js = _draw(d);
        vm.roll(jury.dispute(d).commitDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.WrongPhase.selector, d, DisputePhase.Reveal));
        _commitVote(d, js[0], leaves[2]);
    }

    /// @dev No reveal while the commit phase runs.
    function test_revealVote_duringCommit_reverts() public {
        _segment(0);
        DisputeId d = _open(id, 0, 3, leaves);
        address[] memory js = _draw(d);
        _commitVote(d, js[0], leaves[2]);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.WrongPhase.selector, d, DisputePhase.Commit));
        _reveal(d, js[0], leaves[2]);
    }

    /// @dev A reveal must match the commitment.
    function test_revealVote_mismatch_reverts() public {
        _segment(0);
        DisputeId d = _open(id, 0, 3, leaves);
        address[] memory js = _draw(d);
        _commitVote(d, js[0], leaves[2]);
        vm.roll(jury.dispute(d).commitDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.CommitmentMismatch.selector, d, js[0]));
        _reveal(d, js[0], bytes32("other"));
    }

    /// @dev A juror that did not commit cannot reveal.
    function test_revealVote_notCommitted_reverts() public {
        _segment(0);
        DisputeId d = _open(id, 0, 3, leaves);
        address[] memory js = _draw(d);
        vm.roll(jury.dispute(d).commitDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.NotCommitted.selector, d, js[0]));
        _reveal(d, js[0], leaves[2]);
    }

    /// @dev A reveal is stored and emitted, once.
    function test_revealVote_twice_reverts() public {
        _segment(0);
        DisputeId d = _open(id, 0, 3, leaves);
        address[] memory js = _draw(d);
        _commitVote(d, js[0], leaves[2]);
        vm.roll(jury.dispute(d).commitDeadline + 1);
        _reveal(d, js[0], leaves[2]);
        VoteView memory v = jury.vote(d, js[0]);
        assertTrue(v.revealed);
        assertEq(v.leaf, leaves[2]);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.AlreadyRevealed.selector, d, js[0]));
        _reveal(d, js[0], leaves[2]);
    }

    // ------------------------------------------------------------ resolve

    /// @dev NodeRight: the node gets the bond less the jurors' fee, the jurors the fee.
    function test_resolve_nodeRight_succeeds() public {
        _segment(0);
        DisputeId d = _open(id, 0, 7, leaves);
        address[] memory js = _draw(d);
        _voteAll(d, js, leaves[6]);
        vm.expectEmit(true, false, false, true, address(jury));
        emit IStepAdjudicator.DisputeResolved(d, Outcome.NodeRight, leaves[6], 0);
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.NodeRight));
        assertEq(jury.owed(node), BOND - _fee());
        assertEq(jury.owed(js[0]) + jury.owed(js[1]) + jury.owed(js[2]), _fee());
        assertEq(jury.owed(challenger), 0);
        for (uint256 i; i < 3; ++i) assertEq(stakes.stakeInfo(js[i]).locked, 0);
        vm.roll(block.number + WINDOW + 1);
        assertTrue(market.isFinal(id, 0));
        _conserved();
    }

    /// @dev A resolved dispute cannot be resolved again.
    function test_resolve_twice_reverts() public {
        _segment(0);
        DisputeId d = _open(id, 0, 7, leaves);
        _voteAll(d, _draw(d), leaves[6]);
        jury.resolve(d);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.WrongPhase.selector, d, DisputePhase.Resolved));
        jury.resolve(d);
    }

    /// @dev NodeWrong: slash split requester / challenger / majority jurors, minority to the treasury,
    ///      node jailed, task reopened; books to the wei.
    function test_resolve_nodeWrong_succeeds() public {
        _segment(5);
        DisputeId d = _open(id, 0, 5, leaves);
        address[] memory js = _draw(d);
        bytes32 truth = Traces.honestLeaf(1, 5);
        _commitVote(d, js[0], truth);
        _commitVote(d, js[1], truth);
        _commitVote(d, js[2], leaves[4]); // copies the node: minority
        _reveal(d, js[0], truth);
        _reveal(d, js[1], truth);
        _reveal(d, js[2], leaves[4]);
        uint256 reqBefore = token.balanceOf(requester);
        vm.expectEmit(true, true, false, true, address(jury));
        emit IJuryAdjudicator.JurorPenalised(d, js[2], JUROR_PENALTY);
        vm.expectEmit(true, true, false, true, address(market));
        emit ITaskMarket.NodeSlashed(id, node, SLASH, d);
        jury.resolve(d);
        uint256 toJury = SLASH - SLASH_TO_REQUESTER;
        uint256 share = toJury * dp.jury.challengerShareBps / BPS;
        assertEq(token.balanceOf(requester) - reqBefore, SLASH_TO_REQUESTER, "requester compensated");
        assertEq(jury.owed(challenger), BOND - _fee() + share);
        assertEq(jury.owed(js[0]) + jury.owed(js[1]), toJury - share + _fee());
        assertEq(jury.owed(js[2]), 0);
        assertEq(jury.owed(treasury), JUROR_PENALTY, "the minority's penalty to the treasury");
        assertTrue(stakes.isJailed(node));
        assertEq(stakes.stakeInfo(node).staked, 3 * NODE_STAKE - SLASH);
        assertEq(stakes.stakeInfo(node).locked, 0);
        assertEq(market.task(id).nextSegment, 0);
        _conserved();
    }

    /// @dev No majority in round 0 schedules one redraw; the silent juror's penalty goes to the treasury.
    function test_resolve_noMajorityRoundZero_redraws_succeeds() public {
        _segment(0);
        DisputeId d = _open(id, 0, 2, leaves);
        address[] memory js = _draw(d);
        _commitVote(d, js[0], leaves[1]); // one vote out of three: no strict majority
        vm.roll(jury.dispute(d).commitDeadline + 1);
        _reveal(d, js[0], leaves[1]);
        vm.roll(jury.dispute(d).revealDeadline + 1);
        vm.expectEmit(true, false, false, true, address(jury));
        emit IJuryAdjudicator.RedrawScheduled(d, block.number + dp.jury.drawDelay);
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.None));
        assertEq(stakes.stakeInfo(js[1]).staked, JUROR_STAKE - JUROR_PENALTY, "silent penalised");
        assertEq(stakes.stakeInfo(js[0]).staked, JUROR_STAKE, "revealer kept");
        assertEq(jury.owed(treasury), 2 * JUROR_PENALTY);
        assertEq(jury.dispute(d).round, 1);
    }

    /// @dev Finding 1: no majority after the redraw is Void, never Default for the node: the
    ///      revealing jurors share the fee, the challenger gets the rest of its bond, nobody is slashed.
    function test_resolve_noMajorityAfterRedraw_void_succeeds() public {
        _segment(0);
        DisputeId d = _open(id, 0, 2, leaves);
        _draw(d);
        vm.roll(jury.dispute(d).revealDeadline + 1);
        jury.resolve(d);
        address[] memory js2 = _draw(d);
        _commitVote(d, js2[0], leaves[1]);
        vm.roll(jury.dispute(d).commitDeadline + 1);
        _reveal(d, js2[0], leaves[1]);
        vm.roll(jury.dispute(d).revealDeadline + 1);
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.Void));
        assertEq(jury.owed(node), 0, "silence never pays the node");
        assertEq(jury.owed(js2[0]), _fee(), "the revealing juror is paid");
        assertEq(jury.owed(challenger), BOND - _fee());
        assertEq(jury.owed(treasury), 5 * JUROR_PENALTY);
        assertFalse(stakes.isJailed(node));
        assertEq(market.task(id).nextSegment, 0, "void segment reopened");
        _conserved();
    }

    /// @dev Finding 1: a dispute nobody could draw a quorum for expires Void.
    function test_resolve_drawExpired_void_succeeds() public {
        for (uint256 i; i < N_JURORS; ++i) {
            vm.prank(pool[i]);
            stakes.optOutJuror();
        }
        _segment(0);
        DisputeId d = _open(id, 0, 2, leaves);
        vm.roll(jury.dispute(d).drawAfter + dp.jury.drawExpiry + 1);
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.Void));
        assertEq(jury.owed(challenger), BOND, "no juror: the whole bond back");
        assertEq(jury.owed(node), 0);
        assertEq(uint256(market.task(id).status), uint256(TaskStatus.Open));
        assertEq(stakes.stakeInfo(node).staked, 3 * NODE_STAKE);
        _conserved();
    }

    /// @dev After the draw window a waiting dispute shows Resolvable, so keepers resolve it.
    function test_phase_drawExpiredResolvable_succeeds() public {
        _segment(0);
        DisputeId d = _open(id, 0, 2, leaves);
        vm.roll(jury.dispute(d).drawAfter + dp.jury.drawExpiry);
        assertEq(uint256(jury.phase(d)), uint256(DisputePhase.AwaitingDraw));
        vm.roll(block.number + 1);
        assertEq(uint256(jury.phase(d)), uint256(DisputePhase.Resolvable));
    }

    /// @dev A dispute waiting for its draw cannot be resolved before the draw window ends.
    function test_resolve_awaitingDrawInWindow_reverts() public {
        _segment(0);
        DisputeId d = _open(id, 0, 2, leaves);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.WrongPhase.selector, d, DisputePhase.AwaitingDraw));
        jury.resolve(d);
    }

    // ------------------------------------------------------------ claimPayout

    /// @dev A credit is paid once.
    function test_claimPayout_twice_reverts() public {
        _segment(0);
        DisputeId d = _open(id, 0, 7, leaves);
        _voteAll(d, _draw(d), leaves[6]);
        jury.resolve(d);
        uint256 before = token.balanceOf(node);
        vm.expectEmit(true, false, false, true, address(jury));
        emit IJuryAdjudicator.PayoutClaimed(node, BOND - _fee());
        vm.prank(node);
        jury.claimPayout();
        assertEq(token.balanceOf(node) - before, BOND - _fee());
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.NothingOwed.selector, node));
        vm.prank(node);
        jury.claimPayout();
    }

    // ------------------------------------------------------------ constructor and views

    /// @dev The deployment refuses an empty jury by name.
    function test_constructor_zeroJury_reverts() public {
        JuryParams memory p = juryParams();
        p.jurySize = 0;
        vm.expectRevert(abi.encodeWithSelector(Bounds.ParamOutOfBounds.selector, "jurySize", 0, 1, Bounds.MAX_JURY));
        new JuryAdjudicator(address(token), address(stakes), address(market), address(rng), p);
    }

    /// @dev Finding 1: a quorum below a strict majority of the jury is refused by name.
    function test_constructor_quorumBelowMajority_reverts() public {
        JuryParams memory p = juryParams();
        p.quorum = 1;
        vm.expectRevert(abi.encodeWithSelector(Bounds.ParamOutOfBounds.selector, "quorum", 1, 2, 3));
        new JuryAdjudicator(address(token), address(stakes), address(market), address(rng), p);
    }

    /// @dev A share above 100% is refused by name.
    function test_constructor_shareAboveBps_reverts() public {
        JuryParams memory p = juryParams();
        p.challengerShareBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(Bounds.ParamOutOfBounds.selector, "challengerShareBps", 10_001, 0, BPS));
        new JuryAdjudicator(address(token), address(stakes), address(market), address(rng), p);
    }

    /// @dev Finding 4: a zero juror fee (jurors unpaid on NodeRight and Void) is refused by name.
    function test_constructor_zeroJurorFee_reverts() public {
        JuryParams memory p = juryParams();
        p.jurorFeeBps = 0;
        vm.expectRevert(abi.encodeWithSelector(Bounds.ParamOutOfBounds.selector, "jurorFeeBps", 0, 1, BPS));
        new JuryAdjudicator(address(token), address(stakes), address(market), address(rng), p);
    }

    /// @dev Finding 5: a missing treasury is refused by name.
    function test_constructor_zeroTreasury_reverts() public {
        JuryParams memory p = juryParams();
        p.treasury = address(0);
        vm.expectRevert(
            abi.encodeWithSelector(Bounds.ParamOutOfBounds.selector, "treasury", 0, 1, type(uint160).max)
        );
        new JuryAdjudicator(address(token), address(stakes), address(market), address(rng), p);
    }

    /// @dev Zero addresses are refused.
    function test_constructor_zeroToken_reverts() public {
        vm.expectRevert(IJuryAdjudicator.ZeroAddress.selector);
        new JuryAdjudicator(address(0), address(stakes), address(market), address(rng), juryParams());
    }

    /// @dev The longest dispute covers two rounds of draw window, commit (with replay) and reveal.
    function test_longestDispute_twoRounds_succeeds() public view {
        uint256 replay = (dp.market.maxSegmentSteps + dp.jury.replayStepsPerBlock - 1) / dp.jury.replayStepsPerBlock;
        uint256 round = dp.jury.drawDelay + dp.jury.drawExpiry + dp.jury.commitWindow + replay + dp.jury.revealWindow;
        assertEq(jury.longestDispute(), 2 * round);
    }
}
