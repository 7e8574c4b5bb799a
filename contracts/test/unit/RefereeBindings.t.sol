// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {BindFixture, BindFault} from "../shared/BindFixture.sol";
import {IOneStepAdjudicator, Opening} from "../../src/interfaces/IOneStepAdjudicator.sol";
import {TraceMerkleBuilder} from "../support/TraceMerkleBuilder.sol";
import {TensorTrees} from "../support/TensorTrees.sol";
import {StepOp} from "../../src/referee/StepOp.sol";
import {StepEvaluator} from "../../src/referee/StepEvaluator.sol";
import {StepPrograms} from "../../src/referee/StepPrograms.sol";
import {StateBindings} from "../../src/referee/StateBindings.sol";
import {TaskId, DisputeId, Outcome} from "../../src/types/Ids.sol";
import {StepGraph, StateClaim} from "../../src/types/RefereeTypes.sol";

/// @notice Whole referee games on the batch step (BindFixture): batch rows bound to the dataset
///         by the keccak-v2 schedule, GATHER maps, EMBED_BWD's positions, Const final refs and
///         the scalar leaf; the losing party pays, to the wei.
contract RefereeBindingsTest is BindFixture {
    StepEvaluator internal evaluator;

    function setUp() public override {
        super.setUp();
        evaluator = new StepEvaluator(new StepPrograms());
    }

    /// @dev What the game hands the evaluator at op i, element e, step s of the node's trace.
    function _ctx(uint256 i, uint256 e, uint256 s) internal view returns (StepEvaluator.Ctx memory c) {
        StepGraph memory g = graph();
        c.step = T;
        (c.element, c.s, c.opIndex) = (e, s, i);
        (c.nState, c.nOps, c.nTeacher, c.totalSteps) = (3, B_OPS, 1, TOTAL);
        (c.stateBefore, c.opRoot) = (stateBefore, TensorTrees.root(bOpCommits(bNode)));
        (c.teacherRoot, c.scalarRoot, c.taskId) = (g.teacherRoot, g.scalarRoot, TaskId.unwrap(taskId));
        (c.sampleRoot, c.seed, c.numSamples, c.batchSize, c.seqLen) = (sampleRoot, SEED, uint64(NS), uint32(B), uint32(L));
    }

    function _open(BindFault f) internal returns (DisputeId d) {
        _bindCommits(f);
        _snapshotBooks();
        bytes32[] memory l = _segmentLeaves(_seg(T), nodeAfter);
        bytes32[] memory proof = TraceMerkleBuilder.buildProof(l, _idx(T));
        vm.prank(challenger);
        d = referee.openDispute(
            taskId, _seg(T), committedRoots[_seg(T)], _previousRoots(_seg(T)), T, l[_idx(T)], proof
        );
        bytes32[] memory opNodes = _opNodes();
        vm.startPrank(node);
        referee.postTrace(d, stateBefore, _beforeProof(), nodeAfter, bAfterLeaves(), TensorTrees.root(opNodes));
        referee.split(d, opNodes);
        vm.stopPrank();
    }

    function _opNodes() internal view returns (bytes32[] memory n) {
        bytes32[] memory c = bOpCommits(bNode);
        n = new bytes32[](4);
        for (uint256 i; i < B_OPS; ++i) {
            n[i] = c[i];
        }
    }

    /// @dev Descends to op i, element e; the node posts `results`.
    function _toElement(DisputeId d, uint256 i, uint256 e, bytes memory results) internal {
        bytes32[] memory nodes = _opNodes();
        vm.prank(challenger);
        referee.pick(d, nodes, i);
        StepOp memory o = bop(i, T == 1);
        bytes memory chunk = TensorTrees.chunk(bNode[i], 0);
        vm.startPrank(node);
        referee.revealShape(d, TensorTrees.root(TensorTrees.leaves(bNode[i])), o.dims);
        referee.revealChunk(d, chunk);
        vm.stopPrank();
        bytes32[] memory graphProof = TensorTrees.proof(bGraphLeaves(T == 1), i);
        vm.prank(challenger);
        referee.nameElement(d, e, chunk, o, graphProof);
        vm.prank(node);
        referee.postProgram(d, results);
    }

    function _one(uint32 r) internal pure returns (bytes memory) {
        return abi.encodePacked(r);
    }

    function _embedResults(uint256 e) internal view returns (bytes memory) {
        (uint32[] memory r, uint256[] memory ps) = embedProgram(nodeIds, bNode[0], e, bFault);
        return packEmbed(r, ps);
    }

    function _check(DisputeId d, uint256 i, uint256 s, bytes memory results, Opening[] memory w)
        internal
        returns (Outcome result)
    {
        vm.prank(challenger);
        result = referee.checkStep(d, s, bop(i, T == 1), results, w);
    }

    /// @dev Membership check of position q of op 1 element e (one ids opening).
    function _member(DisputeId d, uint256 e, uint256 q, bytes memory results) internal returns (Outcome) {
        Opening[] memory w = new Opening[](1);
        w[0] = _batchOpening(q / L);
        uint256 n = results.length == 4 ? 1 : results.length / 8;
        return _check(d, 1, n + q, results, w);
    }

    function _books(Outcome result) internal {
        assertEq(uint256(referee.outcome(DisputeId.wrap(referee.disputeCount()))), uint256(result), "outcome");
        _assertBooks(result);
    }

    // ------------------------------------------------------------------ batch rows and GATHER

    /// @dev The node trained row 1 on another sample: the row opened against sampleRoot at the
    ///      schedule's sample gives other ids, so op 0's element there is refuted.
    function test_game_swappedBatchRow_succeeds() public {
        DisputeId d = _open(BindFault.SwappedRow);
        uint256 e = EG;
        assertTrue(nodeIds[e / H] != ids[e / H], "the swap changes the id at the element");
        _toElement(d, 0, e, _one(bNode[0][e]));
        assertEq(uint256(_check(d, 0, 0, _one(bNode[0][e]), gatherOpenings(e))), uint256(Outcome.NodeWrong));
        _books(Outcome.NodeWrong);
    }

    /// @dev A wrong embedding row (GATHER level): the ids opening names the row, the node read another.
    function test_game_wrongGatherRow_succeeds() public {
        DisputeId d = _open(BindFault.WrongGather);
        _toElement(d, 0, EG, _one(bNode[0][EG]));
        assertEq(uint256(_check(d, 0, 0, _one(bNode[0][EG]), gatherOpenings(EG))), uint256(Outcome.NodeWrong));
        _books(Outcome.NodeWrong);
    }

    /// @dev An honest node: every element of op 0 checks out against the dataset (challenger loses).
    function test_checkStep_honestGather_succeeds() public {
        DisputeId d = _open(BindFault.None);
        _toElement(d, 0, EG, _one(bNode[0][EG]));
        assertEq(uint256(_check(d, 0, 0, _one(bNode[0][EG]), gatherOpenings(EG))), uint256(Outcome.NodeRight));
        _books(Outcome.NodeRight);
    }

    /// @dev A batch row opened with another sample's tokens (the node's row) does not prove.
    function test_checkStep_otherSampleRow_reverts() public {
        DisputeId d = _open(BindFault.SwappedRow);
        _toElement(d, 0, EG, _one(bNode[0][EG]));
        Opening[] memory w = gatherOpenings(EG);
        uint256 other = (sampleOf(T, 1) + 1) % NS;
        w[0].chunk = rowBytes(other);
        w[0].chunkProof = TraceMerkleBuilder.buildProof(_sampleLeaves(), other);
        // The ids slot (2) at the position (EG / H) is what fails to prove.
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.InputNotProven.selector, d, 2, EG / H));
        _check(d, 0, 0, _one(bNode[0][EG]), w);
    }

    /// @dev Every element of op 0 of an honest trace evaluates to the node's bits.
    function test_checkStep_honestGatherEveryElement_succeeds() public {
        _bindCommits(BindFault.None);
        for (uint256 e; e < NPOS * H; e += 3) {
            (, uint64 computed, uint64 claimed) = evaluator.evaluate(
                _ctx(0, e, 0), bop(0, false), _one(bNode[0][e]), gatherOpenings(e)
            );
            assertEq(computed, claimed, "element");
        }
    }

    // ------------------------------------------------------------------ EMBED_BWD

    /// @dev A wrong sum in the embedding gradient: its last ADD is refuted.
    function test_game_wrongEmbedSum_succeeds() public {
        DisputeId d = _open(BindFault.WrongEmbedSum);
        bytes memory r = _embedResults(EB);
        _toElement(d, 1, EB, r);
        uint256 n = positions(nodeIds, EB, bFault).length;
        Opening[] memory w = new Opening[](1);
        w[0] = _bOpOpening(0, positions(nodeIds, EB, bFault)[n - 1] * H + EB % H);
        assertEq(uint256(_check(d, 1, n - 1, r, w)), uint256(Outcome.NodeWrong));
        _books(Outcome.NodeWrong);
    }

    /// @dev A position the ids put in the sum that the node left out: the ids opening proves it.
    function test_game_missingEmbedPosition_succeeds() public {
        DisputeId d = _open(BindFault.MissingPosition);
        bytes memory r = _embedResults(EB);
        _toElement(d, 1, EB, r);
        assertEq(uint256(_member(d, EB, MISSING, r)), uint256(Outcome.NodeWrong));
        _books(Outcome.NodeWrong);
    }

    /// @dev A position whose id is another row, listed by the node: the ids opening refutes it.
    function test_game_extraEmbedPosition_succeeds() public {
        DisputeId d = _open(BindFault.ExtraPosition);
        bytes memory r = _embedResults(EB);
        _toElement(d, 1, EB, r);
        assertEq(uint256(_member(d, EB, EXTRA, r)), uint256(Outcome.NodeWrong));
        _books(Outcome.NodeWrong);
    }

    /// @dev Against an honest list, a membership claim loses the challenger its bond.
    function test_checkStep_honestEmbedMember_succeeds() public {
        DisputeId d = _open(BindFault.None);
        bytes memory r = _embedResults(EB);
        _toElement(d, 1, EB, r);
        assertEq(uint256(_member(d, EB, MISSING, r)), uint256(Outcome.NodeRight));
        _books(Outcome.NodeRight);
    }

    /// @dev Every step and every position of every element of an honest op 1 agree.
    function test_checkStep_honestEmbedEveryStep_succeeds() public {
        _bindCommits(BindFault.None);
        for (uint256 e; e < V * H; ++e) {
            bytes memory r = _embedResults(e);
            uint256[] memory ps = positions(nodeIds, e, BindFault.None);
            uint256 n = ps.length == 0 ? 1 : ps.length;
            for (uint256 s; s < n + NPOS; ++s) {
                Opening[] memory w = new Opening[](ps.length == 0 && s < n ? 0 : 1);
                if (s < n && ps.length != 0) w[0] = _bOpOpening(0, ps[s] * H + e % H);
                if (s >= n) w[0] = _batchOpening((s - n) / L);
                (, uint64 computed, uint64 claimed) = evaluator.evaluate(_ctx(1, e, s), bop(1, false), r, w);
                assertEq(computed, claimed, "step");
            }
        }
    }

    /// @dev A list that is not strictly increasing loses on any membership claim.
    function test_checkStep_unsortedEmbedList_succeeds() public {
        _bindCommits(BindFault.None);
        uint256[] memory ps = positions(nodeIds, EB, BindFault.None);
        (ps[0], ps[1]) = (ps[1], ps[0]);
        (uint32[] memory r,) = embedProgram(nodeIds, bNode[0], EB, BindFault.None);
        Opening[] memory w = new Opening[](1);
        w[0] = _batchOpening(0);
        (, uint64 computed, uint64 claimed) =
            evaluator.evaluate(_ctx(1, EB, ps.length), bop(1, false), packEmbed(r, ps), w);
        assertEq(claimed, 2, "malformed");
        assertTrue(computed != claimed);
    }

    // ------------------------------------------------------------------ the state after

    /// @dev The scalar leaf after the step keeps the old step and cursor: the node loses.
    function test_game_staleScalarLeaf_succeeds() public {
        DisputeId d = _open(BindFault.StaleScalar);
        bytes memory proof = abi.encode(scalarProof());
        vm.prank(challenger);
        referee.disputeState(d, StateClaim.Scalar, proof);
        _books(Outcome.NodeWrong);
    }

    /// @dev Against an honest scalar leaf the claim reverts.
    function test_disputeState_honestScalar_reverts() public {
        DisputeId d = _open(BindFault.None);
        bytes memory proof = abi.encode(scalarProof());
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.StateOutAgrees.selector, d, 3));
        vm.prank(challenger);
        referee.disputeState(d, StateClaim.Scalar, proof);
    }

    /// @dev The moment tensor keeps its old values where the graph sets it to Const(0).
    function test_game_staleConstFinal_succeeds() public {
        DisputeId d = _open(BindFault.StaleConst);
        bytes memory proof = abi.encode(constProof());
        vm.prank(challenger);
        referee.disputeState(d, StateClaim.Const, proof);
        _books(Outcome.NodeWrong);
    }

    /// @dev Against an honest constant tensor the claim reverts (the contract's commitment of the
    ///      constant tensor is the node's).
    function test_disputeState_honestConst_reverts() public {
        DisputeId d = _open(BindFault.None);
        bytes memory proof = abi.encode(constProof());
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.StateOutAgrees.selector, d, 2));
        vm.prank(challenger);
        referee.disputeState(d, StateClaim.Const, proof);
    }

    // ------------------------------------------------------------------ step 1's graph

    /// @dev At step 1 the ops are proven under graphRoot1 (op 2 reads Const(0) there).
    function test_game_firstStepGraph_succeeds() public {
        T = 1;
        DisputeId d = _open(BindFault.WrongEmbedSum);
        bytes memory r = _embedResults(EB);
        _toElement(d, 1, EB, r);
        uint256[] memory ps = positions(nodeIds, EB, bFault);
        Opening[] memory w = new Opening[](1);
        w[0] = _bOpOpening(0, ps[ps.length - 1] * H + EB % H);
        assertEq(uint256(_check(d, 1, ps.length - 1, r, w)), uint256(Outcome.NodeWrong));
        _books(Outcome.NodeWrong);
    }

    /// @dev At step 1 an op proven under the later steps' graphRoot is not in the graph.
    function test_nameElement_laterGraphAtStepOne_reverts() public {
        T = 1;
        DisputeId d = _open(BindFault.WrongEmbedSum);
        bytes32[] memory nodes = _opNodes();
        vm.prank(challenger);
        referee.pick(d, nodes, 1);
        bytes memory chunk = TensorTrees.chunk(bNode[1], 0);
        vm.startPrank(node);
        referee.revealShape(d, TensorTrees.root(TensorTrees.leaves(bNode[1])), bop(1, true).dims);
        referee.revealChunk(d, chunk);
        vm.stopPrank();
        bytes32[] memory laterProof = TensorTrees.proof(bGraphLeaves(false), 1);
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.OpNotInGraph.selector, d, 1));
        vm.prank(challenger);
        referee.nameElement(d, EB, chunk, bop(1, true), laterProof);
    }

    // ------------------------------------------------------------------ gas

    /// @dev Gas of a move from cold accounts, as a transaction sees it (docs/referee.md table).
    function _cold() internal {
        vm.cool(address(referee));
        vm.cool(address(market));
        vm.cool(address(stakes));
        vm.cool(address(token));
    }

    /// @dev checkStep on a GATHER element: the batch row, then the two state openings.
    function test_gas_checkStepGather_succeeds() public {
        DisputeId d = _open(BindFault.WrongGather);
        _toElement(d, 0, EG, _one(bNode[0][EG]));
        Opening[] memory w = gatherOpenings(EG);
        (StepOp memory o, bytes memory r) = (bop(0, false), _one(bNode[0][EG]));
        _cold();
        vm.prank(challenger);
        uint256 g0 = gasleft();
        referee.checkStep(d, 0, o, r, w);
        _log("checkStep (GATHER: batch row + 2 state openings)", g0 - gasleft());
    }

    /// @dev checkStep on an EMBED_BWD position: one batch row.
    function test_gas_checkStepEmbedPosition_succeeds() public {
        DisputeId d = _open(BindFault.MissingPosition);
        bytes memory r = _embedResults(EB);
        _toElement(d, 1, EB, r);
        Opening[] memory w = new Opening[](1);
        w[0] = _batchOpening(MISSING / L);
        StepOp memory o = bop(1, false);
        _cold();
        vm.prank(challenger);
        uint256 g0 = gasleft();
        referee.checkStep(d, r.length / 8 + MISSING, o, r, w);
        _log("checkStep (EMBED_BWD position: batch row)", g0 - gasleft());
    }

    /// @dev disputeState on a Const final ref and on the scalar leaf.
    function test_gas_disputeStateConst_succeeds() public {
        DisputeId d = _open(BindFault.StaleConst);
        bytes memory proof = abi.encode(constProof());
        _cold();
        vm.prank(challenger);
        uint256 g0 = gasleft();
        referee.disputeState(d, StateClaim.Const, proof);
        _log("disputeState (Const, [8, 4])", g0 - gasleft());
    }

    function test_gas_disputeStateScalar_succeeds() public {
        DisputeId d = _open(BindFault.StaleScalar);
        bytes memory proof = abi.encode(scalarProof());
        _cold();
        vm.prank(challenger);
        uint256 g0 = gasleft();
        referee.disputeState(d, StateClaim.Scalar, proof);
        _log("disputeState (Scalar)", g0 - gasleft());
    }

    function _log(string memory name, uint256 used) internal {
        emit log_named_uint(name, used);
        assertTrue(used < 5_000_000, name);
    }

    /// @dev The constant tensor's commitment at sizes around the chunk and tree edges equals the
    ///      one built element by element (StateBindings.constCommit against TensorTrees).
    function test_constCommit_sizes_succeeds() public view {
        uint256[7] memory sizes = [uint256(0), 1, 255, 256, 257, 768, 1025];
        for (uint256 i; i < sizes.length; ++i) {
            uint32[] memory vals = new uint32[](sizes[i]);
            for (uint256 k; k < vals.length; ++k) {
                vals[k] = 0x3F800000;
            }
            uint32[] memory dims = new uint32[](1);
            dims[0] = uint32(sizes[i]);
            assertEq(this.constCommitOf(0x3F800000, dims), TensorTrees.commit(vals, dims), "size");
        }
    }

    function constCommitOf(uint32 bits, uint32[] calldata dims) external view returns (bytes32) {
        return StateBindings.constCommit(bits, dims);
    }
}
