// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture, Traces} from "../shared/Fixture.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";
import {Vm} from "../base/Vm.sol";
import {SegmentLedger} from "../../src/libraries/SegmentLedger.sol";
import {TraceMerkleBuilder} from "../support/TraceMerkleBuilder.sol";
import {TaskId, DisputeId, Outcome, SegmentRoots, SegmentView, TaskStatus} from "../../src/types/Ids.sol";

/// @notice The one-slot segment record (issue #14): the market keeps a digest of the roots and the
///         epoch of the commit; whoever acts on a commitment passes the roots back, and the committer
///         is the node of the commit's epoch.
contract SegmentRecordTest is Fixture {
    /// @dev The record holds the roots' digest, the block and the epoch; the view derives the node.
    function test_segment_digestEpochNode_succeeds() public {
        TaskId id = _createAndClaim();
        _commit(id, 0, 0, node);
        SegmentRoots memory r = _roots(id, 0);
        SegmentView memory s = market.segment(id, 0);
        assertEq(s.rootsDigest, SegmentLedger.digest(r.traceRoot, r.endStateHash));
        assertEq(s.committedAt, block.number);
        assertEq(s.epoch, 0);
        assertEq(s.node, node);
        assertEq(market.epochNode(id, 0), node);
        market.checkRoots(id, 0, r);
        SegmentView memory never = market.segment(id, 3);
        assertEq(never.rootsDigest, bytes19(0));
        assertEq(never.node, address(0), "no committer for a segment never committed");
    }

    /// @dev checkRoots refuses an uncommitted segment, then any root that is not the committed one.
    function test_checkRoots_wrongOrUncommitted_reverts() public {
        TaskId id = _createAndClaim();
        _commit(id, 0, 0, node);
        SegmentRoots memory r = _roots(id, 0);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentNotCommitted.selector, id, 1));
        market.checkRoots(id, 1, r);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentRootsMismatch.selector, id, 0));
        market.checkRoots(id, 0, SegmentRoots(r.endStateHash, r.traceRoot));
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentRootsMismatch.selector, id, 0));
        market.checkRoots(id, 0, SegmentRoots(r.traceRoot, bytes32(uint256(r.endStateHash) ^ 1)));
    }

    /// @dev A leaf dispute names the committed roots: a made-up trace root (under which a forged
    ///      leaf would prove) is refused before anything is escrowed.
    function test_openDispute_wrongTraceRoot_reverts() public {
        TaskId id = _createAndClaim();
        _commit(id, 0, 0, node);
        bytes32[] memory forged = Traces.leaves(TaskId.unwrap(id), 0, SEG, 1);
        SegmentRoots memory r = _roots(id, 0);
        r.traceRoot = TraceMerkleBuilder.computeRoot(forged);
        bytes32[] memory proof = TraceMerkleBuilder.buildProof(forged, 4);
        uint256 before = token.balanceOf(challenger);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentRootsMismatch.selector, id, 0));
        jury.openDispute(id, 0, r, _previous(id, 0), 5, forged[4], proof);
        assertEq(token.balanceOf(challenger), before, "no bond taken");
        assertEq(market.segment(id, 0).openDisputes, 0);
    }

    /// @dev An end-state dispute names the committed end state: a challenger cannot put a made-up
    ///      endStateHash (a claim the node never made) to the jury.
    function test_openEndStateDispute_wrongEndState_reverts() public {
        TaskId id = _createAndClaim();
        _commit(id, 0, 0, node);
        SegmentRoots memory r = _roots(id, 0);
        r.endStateHash = Traces.badStateHash(TaskId.unwrap(id), SEG);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ITaskMarket.SegmentRootsMismatch.selector, id, 0));
        jury.openEndStateDispute(id, 0, r, _previous(id, 0));
        assertEq(market.task(id).openDisputes, 0);
    }

    /// @dev After a reopen a recommitted segment's record names the new epoch, so the cancel pays
    ///      each final segment to the node that committed it in its epoch: segment 0 to `node`
    ///      (epoch 0), segment 1 to `node2` (epoch 1, over `node`'s lost commitment). Books to the wei.
    function test_cancelTask_paysCommitterOfEpochAfterReopen_succeeds() public {
        TaskId id = _createAndClaim();
        _commit(id, 0, 0, node);
        vm.roll(block.number + WINDOW + 1);
        bytes32[] memory bad = _commit(id, 1, SEG + 3, node);
        DisputeId d = _open(id, 1, SEG + 3, bad);
        _voteAll(d, _draw(d), Traces.honestLeaf(TaskId.unwrap(id), SEG + 3));
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.NodeWrong));
        assertEq(market.task(id).epoch, 1);
        assertEq(market.task(id).nextSegment, 1, "reopened at the lost segment");

        vm.prank(node2);
        market.claimTask(id);
        _commit(id, 1, 0, node2);
        assertEq(market.segment(id, 1).epoch, 1);
        assertEq(market.segment(id, 1).node, node2, "the recommit's committer");
        assertEq(market.segment(id, 0).node, node, "segment 0 keeps its epoch's node");
        vm.roll(block.number + DEADLINE + 1);

        uint256 nodeBal = token.balanceOf(node);
        uint256 node2Bal = token.balanceOf(node2);
        uint256 reqBal = token.balanceOf(requester);
        uint256 treasuryBal = token.balanceOf(treasury);
        vm.prank(requester);
        market.cancelTask(id);
        uint256 perSegment = REWARD / (TOTAL / SEG);
        assertEq(uint256(market.task(id).status), uint256(TaskStatus.Cancelled));
        assertEq(token.balanceOf(node) - nodeBal, perSegment, "segment 0 to node");
        assertEq(token.balanceOf(node2) - node2Bal, perSegment, "segment 1 to node2");
        assertEq(token.balanceOf(requester) - reqBal, REWARD - 2 * perSegment, "the rest refunded");
        assertEq(token.balanceOf(treasury) - treasuryBal, STALL_SLASH, "node2's stall");
        assertEq(stakes.stakeInfo(node).staked, 3 * NODE_STAKE - SLASH, "node lost its dispute");
        assertEq(stakes.stakeInfo(node2).staked, 3 * NODE_STAKE - STALL_SLASH, "node2 stalled");
        assertEq(market.totalEscrow(), 0);
    }

    /// @dev The same node in two epochs is paid as one run of segments, once per run.
    function test_cancelTask_sameNodeTwoEpochs_succeeds() public {
        TaskId id = _createAndClaim();
        _commit(id, 0, 0, node);
        vm.roll(block.number + DEADLINE + 1);
        market.timeoutStall(id);
        vm.prank(node);
        market.claimTask(id);
        _commit(id, 1, 0, node);
        assertEq(market.segment(id, 0).epoch, 0);
        assertEq(market.segment(id, 1).epoch, 1);
        vm.roll(block.number + DEADLINE + 1);
        uint256 nodeBal = token.balanceOf(node);
        vm.recordLogs();
        vm.prank(requester);
        market.cancelTask(id);
        assertEq(token.balanceOf(node) - nodeBal, 2 * (REWARD / (TOTAL / SEG)));
        assertEq(_transfersTo(node), 1, "one transfer for the run");
    }

    function _transfersTo(address who) internal returns (uint256 n) {
        bytes32 sig = keccak256("Transfer(address,address,uint256)");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            bool toWho = logs[i].topics.length == 3 && logs[i].topics[2] == bytes32(uint256(uint160(who)));
            if (toWho && logs[i].topics[0] == sig) ++n;
        }
    }
}
