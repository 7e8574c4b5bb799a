// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture, Traces} from "../shared/Fixture.sol";
import {Vm} from "../base/Vm.sol";
import {IStepAdjudicator} from "../../src/interfaces/IStepAdjudicator.sol";
import {IJuryAdjudicator} from "../../src/interfaces/IJuryAdjudicator.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";
import {JuryAdjudicator} from "../../src/JuryAdjudicator.sol";
import {TraceMerkle} from "../../src/libraries/TraceMerkle.sol";
import {JuryPayout} from "../../src/libraries/JuryPayout.sol";
import {JuryDraw} from "../../src/libraries/JuryDraw.sol";
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

    // ------------------------------------------------------------ openDispute

    function test_openDispute_recordsAndEmits_succeeds() public {
        _segment(0);
        bytes32[] memory proof = TraceMerkle.buildProof(leaves, 4);
        vm.expectEmit(true, true, false, true, address(market));
        emit ITaskMarket.SegmentDisputeCount(id, 0, 1);
        vm.expectEmit(true, true, true, true, address(jury));
        emit IStepAdjudicator.DisputeOpened(DisputeId.wrap(1), id, 0, 5, leaves[4], challenger, node, BOND);
        vm.prank(challenger);
        DisputeId d = jury.openDispute(id, 0, 5, leaves[4], proof);
        DisputeView memory v = jury.dispute(d);
        assertEq(v.step, 5);
        assertEq(v.node, node);
        assertEq(v.nodeLeaf, leaves[4]);
        assertEq(uint256(v.phase), uint256(DisputePhase.AwaitingDraw));
        assertEq(v.drawAfter, block.number + 2);
        assertEq(jury.disputeCount(), 1);
        assertEq(jury.totalHeld(), BOND);
        assertEq(jury.challengeBond(), BOND);
        vm.roll(block.number + WINDOW + 1);
        assertFalse(market.isFinal(id, 0), "disputed segment is not final");
        _conserved();
    }

    function test_openDispute_guards_revert() public {
        _segment(0);
        bytes32[] memory proof = TraceMerkle.buildProof(leaves, 4);
        vm.prank(node);
        vm.expectRevert(abi.encodeWithSelector(IStepAdjudicator.ChallengerIsNode.selector, node));
        jury.openDispute(id, 0, 5, leaves[4], proof);
        vm.startPrank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IStepAdjudicator.StepOutOfRange.selector, 0, 1, SEG));
        jury.openDispute(id, 0, 0, leaves[4], proof);
        vm.expectRevert(abi.encodeWithSelector(IStepAdjudicator.StepOutOfRange.selector, SEG + 1, 1, SEG));
        jury.openDispute(id, 0, SEG + 1, leaves[4], proof);
        vm.expectRevert(abi.encodeWithSelector(IStepAdjudicator.ProofLength.selector, 3, 4));
        jury.openDispute(id, 0, 5, leaves[4], new bytes32[](3));
        bytes32 root = market.segment(id, 0).traceRoot;
        vm.expectRevert(abi.encodeWithSelector(IStepAdjudicator.InvalidProof.selector, leaves[5], root));
        jury.openDispute(id, 0, 5, leaves[5], proof); // a leaf the root holds, but at another position
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentNotCommitted.selector, id, 1));
        jury.openDispute(id, 1, SEG + 1, leaves[4], proof);
        uint256 closes = block.number + WINDOW;
        vm.roll(closes + 1);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.ChallengeWindowClosed.selector, id, 0, closes));
        jury.openDispute(id, 0, 5, leaves[4], proof);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(IStepAdjudicator.UnknownDispute.selector, DisputeId.wrap(7)));
        jury.drawJury(DisputeId.wrap(7));
    }

    // ------------------------------------------------------------ drawJury

    function test_drawJury_weightedExcludesParties_succeeds() public {
        // Node and challenger are rich jurors: they must never be drawn on their own dispute.
        vm.prank(node);
        stakes.optInJuror();
        vm.startPrank(challenger);
        stakes.deposit(10_000e18);
        stakes.optInJuror();
        vm.stopPrank();
        _segment(0);
        DisputeId d = _open(id, 0, 3, leaves);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.DrawTooEarly.selector, d, block.number + 2));
        jury.drawJury(d);
        vm.roll(block.number + 2);
        vm.prevrandao(bytes32(uint256(1234)));
        vm.recordLogs();
        jury.drawJury(d);
        address[] memory js = jury.jurors(d);
        assertEq(js.length, 3);
        for (uint256 i; i < 3; ++i) {
            assertTrue(js[i] != node && js[i] != challenger, "party drawn");
            assertEq(stakes.stakeInfo(js[i]).locked, JUROR_PENALTY);
            for (uint256 j; j < i; ++j) assertTrue(js[i] != js[j], "drawn twice");
        }
        DisputeView memory v = jury.dispute(d);
        assertEq(uint256(v.phase), uint256(DisputePhase.Commit));
        assertEq(v.commitDeadline, block.number + 30);
        assertEq(v.revealDeadline, block.number + 60);
        assertEq(v.jurorCount, 3);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.WrongPhase.selector, d, DisputePhase.Commit));
        jury.drawJury(d);
    }

    function test_drawJury_emitsJuryDrawn() public {
        _segment(0);
        DisputeId d = _open(id, 0, 3, leaves);
        vm.roll(block.number + 2);
        vm.recordLogs();
        jury.drawJury(d);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes32 sig = keccak256("JuryDrawn(uint256,uint8,address[],uint256,uint256)");
        bool seen;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(jury) || logs[i].topics[0] != sig) continue;
            seen = true;
            assertEq(logs[i].topics[1], bytes32(DisputeId.unwrap(d)));
            (uint8 round, address[] memory js, uint256 cd, uint256 rd) =
                abi.decode(logs[i].data, (uint8, address[], uint256, uint256));
            assertEq(round, 0);
            assertEq(keccak256(abi.encode(js)), keccak256(abi.encode(jury.jurors(d))));
            assertEq(cd, block.number + 30);
            assertEq(rd, block.number + 60);
        }
        assertTrue(seen, "JuryDrawn emitted");
    }

    function testFuzz_drawJury_neverDrawsParties(bytes32 randao) public {
        vm.prank(node);
        stakes.optInJuror();
        vm.startPrank(challenger);
        stakes.deposit(10_000e18);
        stakes.optInJuror();
        vm.stopPrank();
        _segment(0);
        DisputeId d = _open(id, 0, 3, leaves);
        vm.roll(block.number + 2);
        vm.prevrandao(randao);
        jury.drawJury(d);
        address[] memory js = jury.jurors(d);
        assertEq(js.length, 3);
        for (uint256 i; i < 3; ++i) assertTrue(js[i] != node && js[i] != challenger);
    }

    // ------------------------------------------------------------ commitVote / revealVote

    function test_commitReveal_guardsAndEvents() public {
        _segment(0);
        DisputeId d = _open(id, 0, 3, leaves);
        address[] memory js = _draw(d);
        bytes32 good = leaves[2];
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.NotDrawnJuror.selector, d, node2));
        vm.prank(node2);
        jury.commitVote(d, bytes32("x"));
        vm.expectEmit(true, true, false, false, address(jury));
        emit IJuryAdjudicator.VoteCommitted(d, js[0]);
        _commitVote(d, js[0], good);
        assertEq(jury.vote(d, js[0]).commitment, jury.voteCommitment(d, good, _salt(js[0]), js[0]));
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.AlreadyCommitted.selector, d, js[0]));
        vm.prank(js[0]);
        jury.commitVote(d, bytes32("x"));
        // Reveal is closed while the commit phase runs and not everyone committed.
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.WrongPhase.selector, d, DisputePhase.Commit));
        _reveal(d, js[0], good);
        _commitVote(d, js[1], good);
        vm.roll(jury.dispute(d).commitDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.WrongPhase.selector, d, DisputePhase.Reveal));
        _commitVote(d, js[2], good);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.NotCommitted.selector, d, js[2]));
        _reveal(d, js[2], good);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.NotDrawnJuror.selector, d, node2));
        _reveal(d, node2, good);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.CommitmentMismatch.selector, d, js[0]));
        _reveal(d, js[0], bytes32("other"));
        vm.expectEmit(true, true, false, true, address(jury));
        emit IJuryAdjudicator.VoteRevealed(d, js[0], good);
        _reveal(d, js[0], good);
        VoteView memory v = jury.vote(d, js[0]);
        assertTrue(v.revealed && v.committed);
        assertEq(v.leaf, good);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.AlreadyRevealed.selector, d, js[0]));
        _reveal(d, js[0], good);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.WrongPhase.selector, d, DisputePhase.Reveal));
        jury.resolve(d);
        vm.roll(jury.dispute(d).revealDeadline + 1);
        assertEq(uint256(jury.phase(d)), uint256(DisputePhase.Resolvable));
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.WrongPhase.selector, d, DisputePhase.Resolvable));
        _reveal(d, js[1], good);
    }

    // ------------------------------------------------------------ resolve

    function test_resolve_nodeRight_paysNodeAndJurors() public {
        _segment(0);
        DisputeId d = _open(id, 0, 7, leaves);
        address[] memory js = _draw(d);
        _voteAll(d, js, leaves[6]);
        assertEq(uint256(jury.phase(d)), uint256(DisputePhase.Resolvable));
        vm.expectEmit(true, false, false, true, address(jury));
        emit IStepAdjudicator.DisputeResolved(d, Outcome.NodeRight, leaves[6], 0);
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.NodeRight));
        uint256 fee = BOND * 2000 / 10_000;
        assertEq(jury.owed(node), BOND - fee);
        assertEq(jury.owed(js[0]) + jury.owed(js[1]) + jury.owed(js[2]), fee);
        assertEq(jury.owed(challenger), 0);
        assertEq(uint256(jury.outcome(d)), uint256(Outcome.NodeRight));
        for (uint256 i; i < 3; ++i) assertEq(stakes.stakeInfo(js[i]).locked, 0);
        vm.roll(block.number + WINDOW + 1);
        assertTrue(market.isFinal(id, 0));
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.WrongPhase.selector, d, DisputePhase.Resolved));
        jury.resolve(d);
        // claimPayout
        uint256 before = token.balanceOf(node);
        vm.expectEmit(true, false, false, true, address(jury));
        emit IJuryAdjudicator.PayoutClaimed(node, BOND - fee);
        vm.prank(node);
        jury.claimPayout();
        assertEq(token.balanceOf(node) - before, BOND - fee);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.NothingOwed.selector, node));
        vm.prank(node);
        jury.claimPayout();
        _conserved();
    }

    function test_resolve_nodeWrong_slashesJailsReopens() public {
        _segment(5); // diverges from step 5
        DisputeId d = _open(id, 0, 5, leaves);
        address[] memory js = _draw(d);
        bytes32 truth = Traces.honestLeaf(1, 5);
        _commitVote(d, js[0], truth);
        _commitVote(d, js[1], truth);
        _commitVote(d, js[2], leaves[4]); // copies the node: minority
        _reveal(d, js[0], truth);
        _reveal(d, js[1], truth);
        _reveal(d, js[2], leaves[4]);
        vm.expectEmit(true, true, false, true, address(jury));
        emit IJuryAdjudicator.JurorPenalised(d, js[2], JUROR_PENALTY);
        vm.expectEmit(true, true, false, true, address(market));
        emit ITaskMarket.TaskReopened(id, 0, 1);
        vm.expectEmit(true, true, false, true, address(market));
        emit ITaskMarket.NodeSlashed(id, node, SLASH, d);
        jury.resolve(d);
        assertEq(uint256(jury.outcome(d)), uint256(Outcome.NodeWrong));
        uint256 share = SLASH * 5000 / 10_000;
        assertEq(jury.owed(challenger), BOND + share);
        uint256 jurorPot = SLASH - share + JUROR_PENALTY;
        assertEq(jury.owed(js[0]) + jury.owed(js[1]), jurorPot);
        assertEq(jury.owed(js[2]), 0);
        assertTrue(stakes.isJailed(node));
        assertEq(stakes.stakeInfo(node).staked, 3 * NODE_STAKE - SLASH);
        assertEq(stakes.stakeInfo(node).locked, 0);
        assertEq(uint256(market.task(id).status), uint256(TaskStatus.Open));
        assertEq(market.task(id).nextSegment, 0);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.NodeJailed.selector, node, block.number + 1000));
        vm.prank(node);
        market.claimTask(id);
        _conserved();
    }

    function test_resolve_noMajority_redrawsThenDefault() public {
        _segment(0);
        DisputeId d = _open(id, 0, 2, leaves);
        address[] memory js = _draw(d);
        _commitVote(d, js[0], leaves[1]); // one vote out of three: no strict majority
        vm.roll(jury.dispute(d).commitDeadline + 1);
        _reveal(d, js[0], leaves[1]);
        vm.roll(jury.dispute(d).revealDeadline + 1);
        vm.expectEmit(true, false, false, true, address(jury));
        emit IJuryAdjudicator.RedrawScheduled(d, block.number + 2);
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.None));
        assertEq(stakes.stakeInfo(js[1]).staked, JUROR_STAKE - JUROR_PENALTY, "silent penalised");
        assertEq(stakes.stakeInfo(js[0]).staked, JUROR_STAKE, "revealer kept");
        DisputeView memory v = jury.dispute(d);
        assertEq(v.round, 1);
        assertEq(uint256(v.phase), uint256(DisputePhase.AwaitingDraw));
        assertEq(v.penaltyPot, 2 * JUROR_PENALTY);
        address[] memory js2 = _draw(d);
        vm.roll(jury.dispute(d).revealDeadline + 1); // everyone silent
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.Default));
        uint256 silent2 = js2.length * JUROR_PENALTY;
        assertEq(jury.owed(node), BOND + 2 * JUROR_PENALTY + silent2);
        assertFalse(stakes.isJailed(node));
        _conserved();
    }

    function test_resolve_emptyPool_defaultsToNode() public {
        for (uint256 i; i < N_JURORS; ++i) {
            vm.prank(pool[i]);
            stakes.optOutJuror();
        }
        _segment(0);
        DisputeId d = _open(id, 0, 2, leaves);
        _draw(d);
        assertEq(jury.jurors(d).length, 0);
        assertEq(uint256(jury.phase(d)), uint256(DisputePhase.Resolvable));
        jury.resolve(d);
        _draw(d);
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.Default));
        assertEq(jury.owed(node), BOND);
        _conserved();
    }

    // ------------------------------------------------------------ constructor and views

    function test_constructor_invalidParams_reverts() public {
        JuryParams memory p = juryParams();
        p.jurySize = 0;
        vm.expectRevert(IJuryAdjudicator.InvalidJuryParams.selector);
        new JuryAdjudicator(address(token), address(stakes), address(market), address(rng), p);
        p = juryParams();
        p.challengerShareBps = 10_001;
        vm.expectRevert(IJuryAdjudicator.InvalidJuryParams.selector);
        new JuryAdjudicator(address(token), address(stakes), address(market), address(rng), p);
        vm.expectRevert(IJuryAdjudicator.ZeroAddress.selector);
        new JuryAdjudicator(address(0), address(stakes), address(market), address(rng), juryParams());
        assertEq(jury.token(), address(token));
        assertEq(jury.stakeManager(), address(stakes));
        assertEq(jury.market(), address(market));
        assertEq(jury.randomness(), address(rng));
        assertEq(jury.params().jurySize, 3);
    }

    // ------------------------------------------------------------ libraries (fuzz)

    function testFuzz_payoutSplit_paysOutExactlyWhatCameIn(
        uint8 result,
        uint128 bond,
        uint128 pot,
        uint128 slashed,
        uint256 cBps,
        uint256 fBps,
        uint256 jurors
    ) public pure {
        Outcome o = Outcome(bound(result, 1, 3));
        cBps = bound(cBps, 0, 10_000);
        fBps = bound(fBps, 0, 10_000);
        jurors = bound(jurors, 0, 32);
        if (o != Outcome.NodeWrong) slashed = 0;
        JuryPayout.Split memory x = JuryPayout.split(o, bond, pot, slashed, cBps, fBps, jurors);
        uint256 out = x.toChallenger + x.toNode + x.perJuror * jurors + x.jurorDust;
        assertEq(out, uint256(bond) + pot + slashed, "split conserves tokens");
        if (o == Outcome.NodeWrong) assertGe(x.toChallenger, bond, "winning challenger gets its bond back");
        if (o != Outcome.NodeWrong) assertEq(x.toChallenger, 0, "losing challenger gets nothing");
    }

    function testFuzz_sample_distinctNonZeroWeights(uint256 seed, uint256 n, uint256 count, uint256 wseed) public pure {
        n = bound(n, 0, 40);
        count = bound(count, 0, 12);
        uint256[] memory w = new uint256[](n);
        uint256[] memory orig = new uint256[](n);
        uint256 nonZero;
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(wseed, i)));
            w[i] = r % 3 == 0 ? 0 : (r % 1000e18) + 1;
            orig[i] = w[i];
            if (w[i] != 0) ++nonZero;
        }
        uint256[] memory picked = JuryDraw.sample(seed, w, count);
        assertEq(picked.length, count < nonZero ? count : nonZero);
        for (uint256 i; i < picked.length; ++i) {
            assertGt(orig[picked[i]], 0);
            for (uint256 j; j < i; ++j) assertTrue(picked[i] != picked[j], "distinct");
        }
    }

    function test_majority_needsStrictMajorityOfDrawn() public pure {
        bytes32[] memory l = new bytes32[](4);
        bool[] memory r = new bool[](4);
        l[0] = "a";
        l[1] = "a";
        l[2] = "b";
        r[0] = true;
        r[1] = true;
        r[2] = true;
        (bool found,) = JuryDraw.majority(l, r, 4); // 2 of 4: not strict
        assertFalse(found);
        r[3] = true;
        l[3] = "a";
        bytes32 leaf;
        (found, leaf) = JuryDraw.majority(l, r, 4);
        assertTrue(found);
        assertEq(leaf, bytes32("a"));
    }
}
