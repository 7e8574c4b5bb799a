// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {RefereePlayers} from "./RefereePlayers.sol";
import {KeptProof} from "../../src/interfaces/IOneStepAdjudicator.sol";
import {TensorTrees} from "../support/TensorTrees.sol";
import {DisputeId, Outcome} from "../../src/types/Ids.sol";
import {GamePhase, GameView} from "../../src/types/RefereeTypes.sol";

/// @notice A fuzzed challenger for the referee game (random picks, state-out and kept claims,
///         elements and steps, silence), played against the node of RefereePlayers: the
///         opponent of the fuzz arenas (OneStepAdjudicatorFuzz.t.sol) and of the invariant
///         arenas (contracts/test/invariant/Referee.invariant.t.sol).
abstract contract RefereeOpponents is RefereePlayers {
    uint256 internal rng;

    function _draw(uint256 n) internal returns (uint256) {
        rng = uint256(keccak256(abi.encode(rng)));
        return rng % n;
    }

    /// @dev One random challenger move; false: it goes silent.
    function _randomChallengerMove(DisputeId d) internal returns (bool) {
        if (_draw(12) == 0) return false;
        GameView memory g = referee.game(d);
        if (g.phase == GamePhase.OpPick || g.phase == GamePhase.ChunkPick) {
            uint256 n = revealed.length;
            uint256 which = _draw(n);
            if (g.phase == GamePhase.OpPick && g.depthLeft == _width(g.depthLeft) && _draw(3) == 0) {
                if (_tryStateOut(d, g, which)) return true;
            }
            if (g.phase == GamePhase.OpPick && _draw(4) == 0 && _tryKept(d)) return true;
            bytes32[] memory nodes = revealed;
            for (uint256 k; k < n; ++k) {
                // A padding leaf that agrees reverts: try the next (all padding: the challenger
                // has walked into nothing and stays silent).
                vm.prank(challenger);
                try referee.pick(d, nodes, (which + k) % n) {
                    return true;
                } catch {}
            }
            return false;
        } else if (g.phase == GamePhase.Element) {
            uint256 n = op(g.opIndex).dims[0] * op(g.opIndex).dims[1];
            uint256 lane = _draw(256);
            if (g.index * 256 + lane >= n) lane = _draw(n - g.index * 256);
            _nameElement(d, g, lane);
        } else if (g.phase == GamePhase.Step) {
            uint256 s = _draw(g.programLength);
            _checkStep(d, g, s, _nodeProgram(g.opIndex, g.element));
        } else {
            return false;
        }
        return true;
    }

    /// @dev Claims the state after does not hold the picked op's output (always false here).
    function _tryStateOut(DisputeId d, GameView memory, uint256 which) internal returns (bool) {
        bytes32[] memory theirs = _nodeAfterLeaves();
        uint256 j = _draw(3);
        bytes32[] memory fp = TensorTrees.proof(finalLeaves(), j);
        bytes32[] memory sp = TensorTrees.proof(theirs, j);
        bytes32[] memory nodes = revealed;
        vm.prank(challenger);
        try referee.pickFinal(d, nodes, which, j, fp, theirs[j], sp) {
            return true;
        } catch {
            return false;
        }
    }

    /// @dev Claims a kept tensor changed (always false here).
    function _tryKept(DisputeId d) internal returns (bool) {
        bytes32[] memory theirs = _nodeAfterLeaves();
        bytes32[] memory before = _stateLeaves(stateT[0], T - 1);
        KeptProof memory p;
        (p.slot, p.from) = (1 + _draw(2), 1 + _draw(2));
        p.finalProof = TensorTrees.proof(finalLeaves(), p.slot);
        (p.afterLeaf, p.afterProof) = (theirs[p.slot], TensorTrees.proof(theirs, p.slot));
        (p.beforeLeaf, p.beforeProof) = (before[p.from], TensorTrees.proof(before, p.from));
        vm.prank(challenger);
        try referee.disputeKept(d, p) {
            return true;
        } catch {
            return false;
        }
    }

    function _finish(DisputeId d) internal returns (Outcome) {
        GameView memory g = referee.game(d);
        if (g.phase != GamePhase.Resolved) {
            vm.roll(g.deadline + 1);
            referee.resolve(d);
        }
        return referee.outcome(d);
    }

}
