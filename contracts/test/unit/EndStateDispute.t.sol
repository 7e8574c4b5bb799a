// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture, Traces} from "../shared/Fixture.sol";
import {TraceMerkleBuilder} from "../support/TraceMerkleBuilder.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IStepAdjudicator} from "../../src/interfaces/IStepAdjudicator.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";
import {TraceMerkle} from "../../src/libraries/TraceMerkle.sol";
import {
    TaskId, DisputeId, TaskStatus, DisputePhase, DisputeView, Outcome, SegmentRoots
} from "../../src/types/Ids.sol";

/// @notice openEndStateDispute: a dispute on a segment's committed end state that needs no proof
///         (the node's leaves may be withheld or not match its root).
contract EndStateDisputeTest is Fixture {
    TaskId internal id;

    /// @dev Task claimed by `node`; segment 0 committed with a trace diverging from `wrongFrom` (0: honest).
    function _segment(uint256 wrongFrom) internal {
        id = _createAndClaim();
        _commit(id, 0, wrongFrom, node);
    }

    function _conserved() internal view {
        uint256 bal = token.balanceOf(address(stakes)) + token.balanceOf(address(market)) + token.balanceOf(address(jury));
        assertEq(bal, _held(), "tokens held == stakes + escrow + bonds/credits");
    }

    /// @dev An end-state dispute escrows the same bond and announces the computed claim.
    function test_openEndStateDispute_records_succeeds() public {
        _segment(0);
        bytes32 end = _roots(id, 0).endStateHash;
        bytes32 nodeLeaf = TraceMerkle.leaf(1, SEG, end);
        assertEq(nodeLeaf, Traces.honestLeaf(1, SEG), "the honest node's end-state leaf is its last leaf");
        uint256 before = token.balanceOf(challenger);
        vm.expectEmit(true, true, false, true, address(market));
        emit ITaskMarket.SegmentDisputeCount(id, 0, 1);
        vm.expectEmit(true, true, true, true, address(jury));
        emit IStepAdjudicator.DisputeOpened(DisputeId.wrap(1), id, 0, SEG, nodeLeaf, challenger, node, BOND);
        vm.expectEmit(true, true, false, true, address(jury));
        emit IStepAdjudicator.EndStateDisputeOpened(DisputeId.wrap(1), id, 0, end);
        DisputeId d = _openEndState(id, 0);
        assertEq(DisputeId.unwrap(d), 1);
        DisputeView memory v = jury.dispute(d);
        assertEq(v.step, SEG, "the segment's last step");
        assertEq(v.segment, 0);
        assertEq(v.nodeLeaf, nodeLeaf);
        assertEq(v.node, node);
        assertEq(v.challenger, challenger);
        assertEq(uint256(v.phase), uint256(DisputePhase.AwaitingDraw));
        assertEq(DisputeId.unwrap(jury.endStateDisputeOf(id, 0)), 1);
        assertEq(DisputeId.unwrap(jury.endStateDisputeOf(id, 1)), 0);
        assertEq(before - token.balanceOf(challenger), BOND, "same bond as openDispute");
        assertEq(jury.totalHeld(), BOND);
        assertEq(market.task(id).openDisputes, 1);
        vm.roll(block.number + WINDOW + 1);
        assertFalse(market.isFinal(id, 0), "disputed segment is not final");
        _conserved();
    }

    /// @dev A later segment is disputed at its own last step.
    function test_openEndStateDispute_laterSegmentLastStep_succeeds() public {
        id = _createAndClaim();
        _commit(id, 0, 0, node);
        _commit(id, 1, 0, node);
        DisputeId d = _openEndState(id, 1);
        assertEq(jury.dispute(d).step, 2 * SEG);
        assertEq(jury.dispute(d).nodeLeaf, Traces.honestLeaf(1, 2 * SEG));
    }

    /// @dev The node cannot dispute itself.
    function test_openEndStateDispute_byNode_reverts() public {
        _segment(0);
        vm.prank(node);
        vm.expectRevert(abi.encodeWithSelector(IStepAdjudicator.ChallengerIsNode.selector, node));
        jury.openEndStateDispute(id, 0, _roots(id, 0), _previous(id, 0));
    }

    /// @dev Unknown tasks are refused.
    function test_openEndStateDispute_unknownTask_reverts() public {
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.UnknownTask.selector, TaskId.wrap(9)));
        jury.openEndStateDispute(TaskId.wrap(9), 0, _roots(TaskId.wrap(9), 0), _previous(TaskId.wrap(9), 0));
    }

    /// @dev Uncommitted segments are refused.
    function test_openEndStateDispute_uncommitted_reverts() public {
        _segment(0);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentNotCommitted.selector, id, 1));
        jury.openEndStateDispute(id, 1, _roots(id, 1), _previous(id, 1));
    }

    /// @dev The bond must be approved.
    function test_openEndStateDispute_bondNotApproved_reverts() public {
        _segment(0);
        vm.startPrank(challenger);
        token.approve(address(jury), BOND - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(jury), BOND - 1, BOND)
        );
        jury.openEndStateDispute(id, 0, _roots(id, 0), _previous(id, 0));
        vm.stopPrank();
    }

    /// @dev One unresolved end-state dispute per commitment, whoever asks (front-running only
    ///      decides who opens it).
    function test_openEndStateDispute_secondWhileOpen_reverts() public {
        _segment(0);
        DisputeId first = _openEndState(id, 0);
        vm.prank(node2);
        vm.expectRevert(abi.encodeWithSelector(IStepAdjudicator.EndStateDisputeOpen.selector, id, 0, first));
        jury.openEndStateDispute(id, 0, _roots(id, 0), _previous(id, 0));
    }

    /// @dev No end-state dispute after the challenge window.
    function test_openEndStateDispute_windowClosed_reverts() public {
        _segment(0);
        uint256 closes = market.segment(id, 0).committedAt + WINDOW;
        vm.roll(closes + 1);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.ChallengeWindowClosed.selector, id, 0, closes));
        jury.openEndStateDispute(id, 0, _roots(id, 0), _previous(id, 0));
    }

    /// @dev A leaf dispute on the same step coexists with the end-state dispute.
    function test_openEndStateDispute_leafDisputeOnSameStep_succeeds() public {
        _segment(0);
        bytes32[] memory l = Traces.leaves(1, 0, SEG, 0);
        _openEndState(id, 0);
        DisputeId d2 = _open(id, 0, SEG, l);
        assertEq(jury.dispute(d2).nodeLeaf, jury.dispute(DisputeId.wrap(1)).nodeLeaf, "one claim, two routes");
        assertEq(market.segment(id, 0).openDisputes, 2);
    }

    /// @dev An honest end state wins NodeRight and frees the slot for a new end-state dispute.
    function test_resolve_endStateHonestNode_succeeds() public {
        _segment(0);
        DisputeId d = _openEndState(id, 0);
        address[] memory js = _draw(d);
        _voteAll(d, js, Traces.honestLeaf(1, SEG));
        vm.expectEmit(true, false, false, true, address(jury));
        emit IStepAdjudicator.DisputeResolved(d, Outcome.NodeRight, Traces.honestLeaf(1, SEG), 0);
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.NodeRight));
        assertEq(jury.owed(node), BOND - _fee());
        assertEq(jury.owed(challenger), 0);
        assertEq(stakes.stakeInfo(node).staked, 3 * NODE_STAKE, "honest node not slashed");
        // Resolved: the slot is free again while the window is open.
        DisputeId d2 = _openEndState(id, 0);
        assertEq(DisputeId.unwrap(jury.endStateDisputeOf(id, 0)), DisputeId.unwrap(d2));
        _conserved();
    }

    /// @dev A wrong end state loses: slashed, jailed, reopened, the next commitment starts free.
    function test_resolve_endStateWrong_succeeds() public {
        _segment(5); // diverges from step 5: the end state is wrong too
        DisputeId d = _openEndState(id, 0);
        address[] memory js = _draw(d);
        bytes32 truth = Traces.honestLeaf(1, SEG);
        _voteAll(d, js, truth);
        vm.expectEmit(true, true, false, true, address(market));
        emit ITaskMarket.NodeSlashed(id, node, SLASH, d);
        vm.expectEmit(true, true, false, true, address(market));
        emit ITaskMarket.TaskReopened(id, 0, 1);
        vm.expectEmit(true, false, false, true, address(jury));
        emit IStepAdjudicator.DisputeResolved(d, Outcome.NodeWrong, truth, SLASH - SLASH_TO_REQUESTER);
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.NodeWrong));
        assertEq(jury.owed(challenger), _challengerWin());
        assertTrue(stakes.isJailed(node));
        assertEq(uint256(market.task(id).status), uint256(TaskStatus.Open));
        // The reopen bumped the epoch: the recommitted segment starts with no end-state dispute.
        assertEq(DisputeId.unwrap(jury.endStateDisputeOf(id, 0)), 0);
        vm.prank(node2);
        market.claimTask(id);
        _commit(id, 0, 0, node2);
        _openEndState(id, 0);
        _conserved();
    }

    /// @dev Jurors that cannot fetch the data reveal zero: NodeWrong.
    function test_resolve_endStateDataUnavailable_succeeds() public {
        _segment(0); // honest end state, but the start checkpoint cannot be fetched
        DisputeId d = _openEndState(id, 0);
        address[] memory js = _draw(d);
        _voteAll(d, js, bytes32(0));
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.NodeWrong));
        _conserved();
    }

    /// @dev The node is bound by its endStateHash, not only by its root.
    function test_resolve_endStateHashWrongRootHonest_succeeds() public {
        id = _createAndClaim();
        bytes32[] memory l = Traces.leaves(1, 0, SEG, 0);
        vm.prank(node);
        market.commitSegment(id, 0, TraceMerkleBuilder.computeRoot(l), keccak256("not the end state"), "bafyckpt",
            "bafyleaves", l);
        committedRoots[id][0] = SegmentRoots(TraceMerkleBuilder.computeRoot(l), keccak256("not the end state"));
        DisputeId d = _openEndState(id, 0);
        assertEq(jury.dispute(d).nodeLeaf, TraceMerkle.leaf(1, SEG, keccak256("not the end state")));
        address[] memory js = _draw(d);
        _voteAll(d, js, Traces.honestLeaf(1, SEG));
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.NodeWrong), "bound by endStateHash, not only by the root");
    }

    /// @dev The claim is the leaf of the committed end state at the last step.
    function testFuzz_openEndStateDispute_claimIsCommittedEndLeaf(bytes32 end, uint8 kSeed) public {
        vm.assume(end != bytes32(0));
        id = _createAndClaim();
        uint256 k = uint256(kSeed) % (TOTAL / SEG);
        for (uint256 j; j < k; ++j) _commit(id, j, 0, node);
        bytes32[] memory l = Traces.leaves(1, k, SEG, 0);
        vm.prank(node);
        market.commitSegment(id, k, TraceMerkleBuilder.computeRoot(l), end, "c", "l", l);
        committedRoots[id][k] = SegmentRoots(TraceMerkleBuilder.computeRoot(l), end);
        DisputeId d = _openEndState(id, k);
        assertEq(jury.dispute(d).step, (k + 1) * SEG);
        assertEq(jury.dispute(d).nodeLeaf, keccak256(bytes.concat(keccak256(abi.encode(uint256(1), (k + 1) * SEG, end)))));
    }
}
