// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {RefereeOpponents} from "../shared/RefereeOpponents.sol";
import {Fault} from "../shared/RefereeFixture.sol";
import {DisputeId, Outcome} from "../../src/types/Ids.sol";
import {GamePhase, GameView} from "../../src/types/RefereeTypes.sol";

/// @notice The referee's two guarantees against fuzzed opponents (Optimism's honest vs divergent
///         player arenas are the model): an honest node never loses whatever the challenger does
///         (random picks, state-out claims, elements, steps, silence), and an honest challenger
///         always wins against a node with a fault at a random element that answers or goes
///         silent at random.
contract OneStepAdjudicatorFuzzTest is RefereeOpponents {
    /// forge-config: default.fuzz.runs = 16
    /// forge-config: ci.fuzz.runs = 512
    /// @dev An honest node never loses, whatever the challenger plays or leaves unplayed.
    function testFuzz_game_honestNodeNeverLoses(uint256 seed) public {
        rng = seed;
        _nodeCommits(Fault.None);
        DisputeId d = _open();
        for (uint256 i; i < 64; ++i) {
            GameView memory g = referee.game(d);
            if (g.phase == GamePhase.Resolved) break;
            bool moved = g.nodeToMove ? _nodeMove(d) : _randomChallengerMove(d);
            if (!moved) break;
        }
        assertEq(uint256(_finish(d)), uint256(Outcome.NodeRight), "honest node lost");
        assertEq(referee.owed(node), BOND);
        assertEq(stakes.stakeInfo(node).staked, 3 * NODE_STAKE);
        assertEq(token.balanceOf(address(referee)), referee.totalHeld());
    }

    /// forge-config: default.fuzz.runs = 16
    /// forge-config: ci.fuzz.runs = 512
    /// @dev An honest challenger always wins against a faulty node at a random element, whether
    ///      the node answers or falls silent at a random move.
    function testFuzz_game_honestChallengerAlwaysWins(uint256 seed) public {
        rng = seed;
        faultAt = _draw(600);
        Fault f = Fault(1 + _draw(4));
        _nodeCommits(f);
        // A wrong fma can round back to the right element: then the node's leaf is right.
        if (nodeAfter == honestAfter) return;
        uint256 silentAt = _draw(16);
        DisputeId d = _open();
        bool silent;
        for (uint256 i; i < 64 && !silent; ++i) {
            GameView memory g = referee.game(d);
            if (g.phase == GamePhase.Resolved) break;
            silent = g.nodeToMove && i == silentAt;
            if (!silent) assertTrue(g.nodeToMove ? _nodeMove(d) : _challengerMove(d), "honest challenger stuck");
        }
        // A node that answers every move is caught by a check, not by a deadline.
        if (!silent) assertEq(uint256(referee.game(d).phase), uint256(GamePhase.Resolved), "not settled by a check");
        assertEq(uint256(_finish(d)), uint256(Outcome.NodeWrong), "honest challenger lost");
        assertEq(referee.owed(challenger), BOND + SLASH - SLASH_TO_REQUESTER);
        assertEq(stakes.stakeInfo(node).staked, 3 * NODE_STAKE - SLASH);
        assertEq(token.balanceOf(address(referee)), referee.totalHeld());
    }
}
