// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {RefereeOpponents} from "../shared/RefereeOpponents.sol";
import {Fault} from "../shared/RefereeFixture.sol";
import {RefereeArenaHandler, IRefereeArena} from "./handlers/RefereeArenaHandler.sol";
import {DisputeId, Outcome} from "../../src/types/Ids.sol";
import {GamePhase, GameView} from "../../src/types/RefereeTypes.sol";

/// @notice The referee's guarantees as forge invariants (issue #19): one game per arena, the
///         fuzzer drives the dishonest side (random moves, refused moves, silence) and the clock,
///         the honest side answers every move before its deadline. After every call: an honest
///         node has not lost, an honest challenger has not lost, the adjudicator holds exactly
///         what it owes, and a settled game's books are exact to the wei. Arenas: an honest node
///         against a fuzzed challenger, and an honest challenger against a node with each fault
///         class of RefereeFixture (a wrong fma, a wrong input binding, a stale state after, an
///         altered kept tensor) that answers from its faulty trace, tries refused moves, or falls
///         silent.
abstract contract RefereeArena is RefereeOpponents, IRefereeArena {
    DisputeId internal d;
    RefereeArenaHandler internal handler;
    /// @dev The most moves a game may take (docs/referee.md "Deadlines": 28 at the bounds).
    uint256 internal constant MAX_MOVES = 28;
    /// @dev Ghosts (a failed assertion inside a handler call would only revert that call, which
    ///      the fuzzer ignores): the honest party found no move on its turn; the contract
    ///      accepted a node move it must refuse.
    bool internal honestStuck;
    bool internal badMoveAccepted;

    function arenaFault() internal pure virtual returns (Fault);

    function setUp() public virtual override {
        super.setUp();
        _nodeCommits(arenaFault());
        d = _open();
        handler = new RefereeArenaHandler(this);
        targetContract(address(handler));
        bytes4[] memory sel = new bytes4[](4);
        sel[0] = RefereeArenaHandler.opponent.selector;
        sel[1] = RefereeArenaHandler.honest.selector;
        sel[2] = RefereeArenaHandler.wait.selector;
        sel[3] = RefereeArenaHandler.resolve.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: sel}));
    }

    /// @dev No gas measurement here: vm.cool inside the fuzzer's nested calls leaves the cooled
    ///      contracts without code in this forge version (1.7.1), and the arenas measure nothing.
    function _calldata(bytes memory) internal override {}

    function _honestNode() internal pure returns (bool) {
        return arenaFault() == Fault.None;
    }

    function _live() internal view returns (bool live, GameView memory g) {
        g = referee.game(d);
        live = g.phase != GamePhase.Resolved && block.number <= g.deadline;
    }

    /// @dev The honest party plays every move that is its own in a row (the node's postTrace is
    ///      followed by its first split, revealShape by a split or the chunk): one move only, and
    ///      a wait right after it would time the honest party out on its next move.
    function arenaHonest() public {
        for (uint256 i; i < 4; ++i) {
            (bool live, GameView memory g) = _live();
            if (!live || g.nodeToMove != _honestNode()) return;
            if (!(_honestNode() ? _nodeMove(d) : _challengerMove(d))) {
                honestStuck = true;
                return;
            }
        }
    }

    function arenaOpponent(uint256 seed) external {
        (bool live, GameView memory g) = _live();
        if (!live || g.nodeToMove == _honestNode()) return;
        rng = seed;
        if (_honestNode()) {
            _randomChallengerMove(d);
        } else if (_draw(4) == 0) {
            _refusedNodeMove(g);
        } else {
            _nodeMove(d);
        }
    }

    /// @dev A node move the contract must refuse: nodes that are not below the disputed node, a
    ///      chunk that is not the revealed leaf's.
    function _refusedNodeMove(GameView memory g) internal {
        if (g.phase == GamePhase.OpSplit || g.phase == GamePhase.ChunkSplit) {
            bytes32[] memory nodes = new bytes32[](2);
            nodes[0] = bytes32(_draw(type(uint256).max));
            nodes[1] = bytes32(_draw(type(uint256).max));
            vm.prank(node);
            try referee.split(d, nodes) {
                badMoveAccepted = true;
            } catch {}
        } else if (g.phase == GamePhase.Chunk) {
            vm.prank(node);
            try referee.revealChunk(d, abi.encodePacked(bytes32(_draw(type(uint256).max)))) {
                badMoveAccepted = true;
            } catch {}
        }
    }

    function arenaWait(uint256 blocks) external {
        // the honest party may have moves in a row (postTrace then split; revealShape then
        // revealChunk): it makes all of them before time passes
        for (uint256 k; k < 4; ++k) {
            arenaHonest();
        }
        vm.roll(block.number + bound(blocks, 1, 2 * rp.moveBlocks));
    }

    function arenaResolve() external {
        try referee.resolve(d) {} catch {}
    }

    /// @dev An honest node never loses; an honest challenger never loses.
    function invariant_honestPartyNeverLoses() public view {
        Outcome o = referee.outcome(d);
        if (_honestNode()) assertTrue(o != Outcome.NodeWrong, "the honest node lost");
        else assertTrue(o != Outcome.NodeRight, "the honest challenger lost");
    }

    /// @dev The adjudicator holds exactly what it owes, and a settled game paid the winner to the wei.
    function invariant_booksExact() public view {
        assertEq(token.balanceOf(address(referee)), referee.totalHeld(), "referee not solvent to the wei");
        Outcome o = referee.outcome(d);
        if (o == Outcome.NodeRight) {
            assertEq(referee.owed(node), BOND, "node not paid the bond");
            assertEq(stakes.stakeInfo(node).staked, 3 * NODE_STAKE, "honest node slashed");
        } else if (o == Outcome.NodeWrong) {
            assertEq(referee.owed(challenger), BOND + SLASH - SLASH_TO_REQUESTER, "challenger not paid");
            assertEq(stakes.stakeInfo(node).staked, 3 * NODE_STAKE - SLASH, "node slash not exact");
        }
    }

    /// @dev A game takes a bounded number of accepted moves; the honest party always has a move
    ///      on its turn; moves that do not rebuild the node's commitments are refused.
    function invariant_movesBoundedAndChecked() public view {
        assertLe(moveName.length, MAX_MOVES, "more moves than the documented bound");
        assertFalse(honestStuck, "the honest party had no move on its turn");
        assertFalse(badMoveAccepted, "a node move that rebuilds nothing was accepted");
    }
}

/// forge-config: default.invariant.runs = 12
/// forge-config: default.invariant.depth = 24
/// forge-config: ci.invariant.runs = 32
/// forge-config: ci.invariant.depth = 32
contract RefereeHonestNodeInvariantTest is RefereeArena {
    function arenaFault() internal pure override returns (Fault) {
        return Fault.None;
    }
}

/// forge-config: default.invariant.runs = 12
/// forge-config: default.invariant.depth = 24
/// forge-config: ci.invariant.runs = 32
/// forge-config: ci.invariant.depth = 32
contract RefereeWrongFmaInvariantTest is RefereeArena {
    function arenaFault() internal pure override returns (Fault) {
        return Fault.WrongFma;
    }
}

/// forge-config: default.invariant.runs = 12
/// forge-config: default.invariant.depth = 24
/// forge-config: ci.invariant.runs = 32
/// forge-config: ci.invariant.depth = 32
contract RefereeWrongInputInvariantTest is RefereeArena {
    function arenaFault() internal pure override returns (Fault) {
        return Fault.WrongInput;
    }
}

/// forge-config: default.invariant.runs = 12
/// forge-config: default.invariant.depth = 24
/// forge-config: ci.invariant.runs = 32
/// forge-config: ci.invariant.depth = 32
contract RefereeStaleStateInvariantTest is RefereeArena {
    function arenaFault() internal pure override returns (Fault) {
        return Fault.StaleState;
    }
}

/// forge-config: default.invariant.runs = 12
/// forge-config: default.invariant.depth = 24
/// forge-config: ci.invariant.runs = 32
/// forge-config: ci.invariant.depth = 32
contract RefereeAlteredKeptInvariantTest is RefereeArena {
    function arenaFault() internal pure override returns (Fault) {
        return Fault.AlteredKept;
    }
}
