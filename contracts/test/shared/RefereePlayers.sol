// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {RefereeFixture, Fault} from "./RefereeFixture.sol";
import {Opening, KeptProof} from "../../src/interfaces/IOneStepAdjudicator.sol";
import {TraceMerkleBuilder} from "../support/TraceMerkleBuilder.sol";
import {TensorTrees} from "../support/TensorTrees.sol";
import {Float32} from "../../src/libraries/Float32.sol";
import {StepOp} from "../../src/referee/StepOp.sol";
import {DisputeId, Outcome, SegmentRoots} from "../../src/types/Ids.sol";
import {GamePhase, GameView} from "../../src/types/RefereeTypes.sol";

/// @notice The two players of the referee game as bots would play them: the node answers every
///         move from its own trace (honest or with a Fault); the honest challenger descends into
///         what differs from the honest trace and checks the first wrong step. Each move returns
///         the gas it used (execution gas of the call, as forge measures it).
abstract contract RefereePlayers is RefereeFixture {
    /// @dev Gas of each move of the last game played, in order: execution gas, and an estimate of
    ///      the whole transaction (+ 21,000 base + calldata at 4 gas per zero byte and 16 per other
    ///      byte, the Cancun rules).
    uint256[] internal moveGas;
    uint256[] internal moveTxGas;
    string[] internal moveName;
    uint256 private _pendingCalldataGas;
    /// @dev The nodes the node revealed last (what a bot reads from the Split event).
    bytes32[] internal revealed;

    /// @notice Levels of the round at `depthLeft` (RefereeGame.ROUND_LEVELS at most).
    function _width(uint256 depthLeft) internal pure returns (uint256) {
        return depthLeft < 3 ? depthLeft : 3;
    }

    /// @notice Which revealed node leads to leaf `target` from `depthLeft` levels above it.
    function _toward(uint256 target, uint256 depthLeft) internal pure returns (uint256) {
        uint256 w = _width(depthLeft);
        return (target >> (depthLeft - w)) & ((1 << w) - 1);
    }

    /// @notice The 2^w nodes of `lv` below node `index` at `depthLeft`.
    function _below(bytes32[][] memory lv, uint256 depthLeft, uint256 index)
        internal
        pure
        returns (bytes32[] memory nodes)
    {
        uint256 w = _width(depthLeft);
        nodes = new bytes32[](1 << w);
        for (uint256 i; i < nodes.length; ++i) {
            nodes[i] = lv[depthLeft - w][(index << w) + i];
        }
    }

    /// @notice The first of `nodes` that differs from `mine` (the last when none does).
    function _firstDiffering(bytes32[] memory mine, bytes32[] memory nodes) internal pure returns (uint256 i) {
        while (i + 1 < nodes.length && mine[i] == nodes[i]) ++i;
    }

    /// @dev Prices the calldata of the move about to be sent, and makes every contract's account
    ///      and storage cold, as they are at the start of a transaction.
    function _calldata(bytes memory cd) internal virtual {
        vm.cool(address(referee));
        vm.cool(address(market));
        vm.cool(address(stakes));
        vm.cool(address(token));
        uint256 cost;
        for (uint256 i; i < cd.length; ++i) {
            cost += cd[i] == 0 ? 4 : 16;
        }
        _pendingCalldataGas = cost;
    }

    function _record(string memory name, uint256 gasBefore) internal {
        uint256 used = gasBefore - gasleft();
        moveGas.push(used);
        moveTxGas.push(used + 21_000 + _pendingCalldataGas);
        moveName.push(name);
        _pendingCalldataGas = 0;
    }

    /// @notice The challenger disputes the node's leaf T.
    function _open() internal returns (DisputeId d) {
        (uint256 k, uint256 i) = (_seg(T), _idx(T));
        bytes32[] memory l = _segmentLeaves(k, nodeAfter);
        bytes32[] memory proof = TraceMerkleBuilder.buildProof(l, i);
        (SegmentRoots memory r, SegmentRoots memory prev) = (committedRoots[k], _previousRoots(k));
        _calldata(abi.encodeCall(referee.openDispute, (taskId, k, r, prev, T, l[i], proof)));
        vm.prank(challenger);
        uint256 g0 = gasleft();
        d = referee.openDispute(taskId, k, r, prev, T, l[i], proof);
        _record("open", g0);
    }

    /// @notice The node's answer to the move at hand, from its own trace. Returns false when it
    ///         has no answer that the contract accepts (its trace cannot back its claim).
    function _nodeMove(DisputeId d) internal returns (bool) {
        GameView memory g = referee.game(d);
        if (g.phase == GamePhase.Trace) {
            bytes32[] memory proof = _beforeProof();
            bytes32[] memory afterLeaves = _nodeAfterLeaves();
            bytes32 opRoot = TensorTrees.root(nodeOpCommits());
            _calldata(abi.encodeCall(referee.postTrace, (d, stateBefore, proof, nodeAfter, afterLeaves, opRoot)));
            vm.prank(node);
            uint256 g0 = gasleft();
            referee.postTrace(d, stateBefore, proof, nodeAfter, afterLeaves, opRoot);
            _record("postTrace", g0);
        } else if (g.phase == GamePhase.OpSplit || g.phase == GamePhase.ChunkSplit) {
            bool ops = g.phase == GamePhase.OpSplit;
            bytes32[][] memory lv = TensorTrees.levels(ops ? nodeOpCommits() : TensorTrees.leaves(nodeOut[g.opIndex]));
            bytes32[] memory nodes = _below(lv, g.depthLeft, g.index);
            _calldata(abi.encodeCall(referee.split, (d, nodes)));
            vm.prank(node);
            uint256 g0 = gasleft();
            referee.split(d, nodes);
            _record(ops ? "split(op)" : "split(chunk)", g0);
            revealed = nodes;
        } else if (g.phase == GamePhase.Shape) {
            bytes32 root = TensorTrees.root(TensorTrees.leaves(nodeOut[g.opIndex]));
            uint32[] memory dims = op(g.opIndex).dims;
            _calldata(abi.encodeCall(referee.revealShape, (d, root, dims)));
            vm.prank(node);
            uint256 g0 = gasleft();
            referee.revealShape(d, root, dims);
            _record("revealShape", g0);
        } else if (g.phase == GamePhase.Chunk) {
            bytes memory chunk = TensorTrees.chunk(nodeOut[g.opIndex], g.index);
            _calldata(abi.encodeCall(referee.revealChunk, (d, chunk)));
            vm.prank(node);
            uint256 g0 = gasleft();
            referee.revealChunk(d, chunk);
            _record("revealChunk", g0);
        } else if (g.phase == GamePhase.Program) {
            bytes memory results = _pack(_nodeProgram(g.opIndex, g.element));
            _calldata(abi.encodeCall(referee.postProgram, (d, results)));
            vm.prank(node);
            uint256 g0 = gasleft();
            referee.postProgram(d, results);
            _record("postProgram", g0);
        } else {
            return false;
        }
        return true;
    }

    function _nodeProgram(uint256 i, uint256 e) internal view returns (uint32[] memory) {
        return program(i, e, fault == Fault.StaleState ? Fault.None : fault);
    }

    /// @dev 4 big-endian bytes per result (allocated once: programs run to thousands of steps).
    function _pack(uint32[] memory r) internal pure returns (bytes memory b) {
        b = new bytes(4 * r.length);
        for (uint256 i; i < r.length; ++i) {
            for (uint256 k; k < 4; ++k) {
                b[4 * i + k] = bytes1(uint8(r[i] >> (24 - 8 * k)));
            }
        }
    }

    /// @notice The honest challenger's move: returns false when it has nothing to do.
    function _challengerMove(DisputeId d) internal returns (bool) {
        GameView memory g = referee.game(d);
        if (g.phase == GamePhase.OpPick) {
            if (g.opRoot == TensorTrees.root(honestOpCommits())) {
                // Every op agrees: the state after must fail to hold one of them.
                return _towardStateOut(d, g);
            }
            bytes32[] memory mine = _below(TensorTrees.levels(honestOpCommits()), g.depthLeft, g.index);
            _pick(d, _firstDiffering(mine, revealed), "pick(op)");
        } else if (g.phase == GamePhase.ChunkPick) {
            bytes32[][] memory lv = TensorTrees.levels(TensorTrees.leaves(honestOut[g.opIndex]));
            _pick(d, _firstDiffering(_below(lv, g.depthLeft, g.index), revealed), "pick(chunk)");
        } else if (g.phase == GamePhase.Element) {
            uint256 lane = _firstWrongLane(g.opIndex, g.index);
            _nameElement(d, g, lane);
        } else if (g.phase == GamePhase.Step) {
            uint32[] memory r = _nodeProgram(g.opIndex, g.element);
            _checkStep(d, g, _firstWrongStep(g.opIndex, g.element, r), r);
        } else {
            return false;
        }
        return true;
    }

    function _pick(DisputeId d, uint256 which, string memory name) internal {
        bytes32[] memory nodes = revealed;
        _calldata(abi.encodeCall(referee.pick, (d, nodes, which)));
        vm.prank(challenger);
        uint256 g0 = gasleft();
        referee.pick(d, nodes, which);
        _record(name, g0);
    }

    /// @notice Descends toward the op that the graph's final refs make state tensor j after the
    ///         step, for the first j where the node's posted state after differs from the honest
    ///         one (only tensor 0 comes from an op here: op N_OPS - 1); in the last round,
    ///         disputes it with pickFinal.
    function _towardStateOut(DisputeId d, GameView memory g) internal returns (bool) {
        bytes32[] memory mine = _stateLeaves(honestOut[N_OPS - 1], T);
        bytes32[] memory theirs = _nodeAfterLeaves();
        if (mine[0] == theirs[0]) return _disputeKept(d, mine, theirs);
        uint256 i = N_OPS - 1;
        uint256 which = _toward(i, g.depthLeft);
        if (g.depthLeft > _width(g.depthLeft)) {
            _pick(d, which, "pick(op)");
            return true;
        }
        bytes32[] memory nodes = revealed;
        bytes32[] memory finalProof = TensorTrees.proof(finalLeaves(), 0);
        bytes32[] memory stateProof = TensorTrees.proof(theirs, 0);
        _calldata(abi.encodeCall(referee.pickFinal, (d, nodes, which, 0, finalProof, theirs[0], stateProof)));
        vm.prank(challenger);
        uint256 g0 = gasleft();
        referee.pickFinal(d, nodes, which, 0, finalProof, theirs[0], stateProof);
        _record("pickFinal", g0);
        return true;
    }

    /// @notice Tensors 1 and 2 (A, B) are kept by the step: the first that the node's state after
    ///         changes is disputed with disputeKept.
    function _disputeKept(DisputeId d, bytes32[] memory mine, bytes32[] memory theirs) internal returns (bool) {
        uint256 j = 1;
        while (j < 3 && mine[j] == theirs[j]) ++j;
        if (j == 3) return false;
        KeptProof memory p;
        (p.slot, p.from) = (j, j);
        p.finalProof = TensorTrees.proof(finalLeaves(), j);
        (p.afterLeaf, p.afterProof) = (theirs[j], TensorTrees.proof(theirs, j));
        bytes32[] memory before = _stateLeaves(stateT[0], T - 1);
        (p.beforeLeaf, p.beforeProof) = (before[j], TensorTrees.proof(before, j));
        _calldata(abi.encodeCall(referee.disputeKept, (d, p)));
        vm.prank(challenger);
        uint256 g0 = gasleft();
        referee.disputeKept(d, p);
        _record("disputeKept", g0);
        return true;
    }

    function _firstWrongLane(uint256 i, uint256 c) internal view returns (uint256) {
        for (uint256 l; l < 256; ++l) {
            uint256 e = c * 256 + l;
            if (e < honestOut[i].length && honestOut[i][e] != nodeOut[i][e]) return l;
        }
        return 0;
    }

    function _nameElement(DisputeId d, GameView memory g, uint256 lane) internal {
        bytes memory chunk = TensorTrees.chunk(nodeOut[g.opIndex], g.index);
        StepOp memory o = op(g.opIndex);
        bytes32[] memory graphProof = TensorTrees.proof(graphLeaves(), g.opIndex);
        _calldata(abi.encodeCall(referee.nameElement, (d, lane, chunk, o, graphProof)));
        vm.prank(challenger);
        uint256 g0 = gasleft();
        referee.nameElement(d, lane, chunk, o, graphProof);
        _record("nameElement", g0);
    }

    /// @notice The first step whose result differs from binary32 on honest inputs and the node's
    ///         own earlier results (the last step when none does).
    function _firstWrongStep(uint256 i, uint256 e, uint32[] memory r) internal view virtual returns (uint256) {
        if (i != 0) return 0;
        (uint256 m, uint256 n) = (e / 300, e % 300);
        for (uint256 k; k < 4; ++k) {
            uint32 want = Float32.fma(stateT[1][m * 4 + k], stateT[2][k * 300 + n], k == 0 ? 0 : r[k - 1]);
            if (want != r[k]) return k;
        }
        return 4;
    }

    function _checkStep(DisputeId d, GameView memory g, uint256 s, uint32[] memory r)
        internal
        returns (Outcome result)
    {
        Opening[] memory w = _openings(g.opIndex, g.element, s);
        StepOp memory o = op(g.opIndex);
        bytes memory packed = _pack(r);
        _calldata(abi.encodeCall(referee.checkStep, (d, s, o, packed, w)));
        vm.prank(challenger);
        uint256 g0 = gasleft();
        result = referee.checkStep(d, s, o, packed, w);
        _record("checkStep", g0);
    }

    /// @notice Openings of step s's input operands, in operand order.
    function _openings(uint256 i, uint256 e, uint256 s) internal view virtual returns (Opening[] memory w) {
        if (i == 0) {
            (uint256 m, uint256 n) = (e / 300, e % 300);
            if (s == 4) {
                w = new Opening[](1);
                w[0] = _teacherOpening(n);
            } else {
                w = new Opening[](2);
                w[0] = _stateOpening(1, m * 4 + s);
                w[1] = _stateOpening(2, s * 300 + n);
            }
        } else if (i == 1) {
            w = new Opening[](2);
            w[0] = _opOpening(0, e);
            w[1] = _scalarOpening();
        } else if (i == 2) {
            w = new Opening[](2);
            w[0] = _opOpening(1, e);
            w[1] = _stateOpening(0, e);
        } else {
            w = new Opening[](1);
            w[0] = _opOpening(i - 1, e);
        }
    }

    function _opening(uint32[] memory vals, uint32[] memory dims, bytes32[] memory commitProof, uint256 idx)
        internal
        pure
        returns (Opening memory w)
    {
        w.root = TensorTrees.root(TensorTrees.leaves(vals));
        w.dims = dims;
        w.commitProof = commitProof;
        w.chunk = TensorTrees.chunk(vals, idx >> 8);
        w.chunkProof = TensorTrees.chunkProof(vals, idx >> 8);
    }

    function _stateOpening(uint256 j, uint256 idx) internal view returns (Opening memory) {
        bytes32[] memory proof = TensorTrees.proof(_stateLeaves(stateT[0], T - 1), j);
        return _opening(stateT[j], stateDims(j), proof, idx);
    }

    function _opOpening(uint256 j, uint256 idx) internal view returns (Opening memory) {
        return _opening(nodeOut[j], op(j).dims, TensorTrees.proof(nodeOpCommits(), j), idx);
    }

    function _teacherOpening(uint256 idx) internal view returns (Opening memory) {
        return _opening(bias, _u32(300, 0), new bytes32[](0), idx);
    }

    function _scalarOpening() internal view returns (Opening memory w) {
        w.chunk = scalarRow(T);
        w.chunkProof = TensorTrees.proof(scalarRows(), T - 1);
    }

    /// @notice Plays the game to its end (or until a party has no move): returns the outcome.
    function _play(DisputeId d) internal returns (Outcome) {
        for (uint256 moves; moves < 64; ++moves) {
            GameView memory g = referee.game(d);
            if (g.phase == GamePhase.Resolved) break;
            bool moved = g.nodeToMove ? _nodeMove(d) : _challengerMove(d);
            if (!moved) {
                vm.roll(g.deadline + 1);
                _calldata(abi.encodeCall(referee.resolve, (d)));
                uint256 g0 = gasleft();
                referee.resolve(d);
                _record("resolve(timeout)", g0);
                break;
            }
        }
        return referee.outcome(d);
    }

    /// @notice Transaction gas (estimate, see moveTxGas) of the whole game and of its largest move.
    function _totalGas() internal view returns (uint256 total, uint256 most) {
        for (uint256 i; i < moveTxGas.length; ++i) {
            total += moveTxGas[i];
            if (moveTxGas[i] > most) most = moveTxGas[i];
        }
    }
}
