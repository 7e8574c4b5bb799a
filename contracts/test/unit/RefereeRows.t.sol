// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {RowsFixture} from "../shared/RowsFixture.sol";
import {Fault} from "../shared/RefereeFixture.sol";
import {Float32Cheats} from "../libraries/Float32Cheats.sol";
import {DisputeId, Outcome} from "../../src/types/Ids.sol";
import {GamePhase, GameView} from "../../src/types/RefereeTypes.sol";

/// @notice Whole referee games that end at the row kinds (ProgramsRows): softmax and layer norm
///         at the default preset's row lengths, on the real market, stakes, token and Float32,
///         against the Python reference's trace (RowsFixture), with exact books.
contract RefereeRowsTest is RowsFixture {
    /// @dev A node whose step `s` of element `e` of op `i` is one unit high; plays the game out.
    function _faultyGame(uint256 i, uint256 e, uint256 s) internal returns (DisputeId d, Outcome result) {
        (faultOp, faultAt, faultStep) = (i, e, s);
        _nodeCommits(Fault.WrongStep);
        assertTrue(nodeOut[i][e] != honestOut[i][e], "the fault reaches the element");
        _snapshotBooks();
        d = _open();
        result = _play(d);
        GameView memory g = referee.game(d);
        assertEq(uint256(result), uint256(Outcome.NodeWrong), "node loses");
        assertEq(g.opIndex, i, "op");
        assertEq(g.element, e, "element");
        _assertBooks(result);
    }

    /// @dev The challenger descends to element e of op i of an honest node and lets it post the
    ///      program: the game is at its last move.
    function _descend(DisputeId d, uint256 i, uint256 e) internal {
        for (uint256 moves; moves < 64; ++moves) {
            GameView memory g = referee.game(d);
            if (g.phase == GamePhase.Step) return;
            if (g.nodeToMove) _nodeMove(d);
            else if (g.phase == GamePhase.OpPick) _pick(d, _toward(i, g.depthLeft), "pick(op)");
            else if (g.phase == GamePhase.ChunkPick) _pick(d, _toward(e >> 8, g.depthLeft), "pick(chunk)");
            else _nameElement(d, g, e & 255);
        }
    }

    /// @dev A griefer checks step s of element e of op i of an honest node, and loses. External,
    ///      so that each game has a call frame (and memory) of its own.
    function honestCheck(uint256 i, uint256 e, uint256 s) external returns (Outcome result) {
        return _honestCheck(i, e, s);
    }

    function _honestCheck(uint256 i, uint256 e, uint256 s) internal returns (Outcome result) {
        DisputeId d = _open();
        _descend(d, i, e);
        GameView memory g = referee.game(d);
        result = _checkStep(d, g, s, program(i, e, Fault.None));
        assertEq(uint256(result), uint256(Outcome.NodeRight), "honest node wins");
    }

    /// @dev One exp of the softmax row's sum rounds one unit high (step 3n + 41 of element 77,
    ///      n = 128): the game narrows to that ADD and the node loses.
    function test_game_wrongSoftmaxSum_succeeds() public {
        _faultyGame(0, 77, 3 * 128 + 41);
    }

    /// @dev The softmax's last step (the DIV) of element 5 rounds one unit high.
    function test_game_wrongSoftmaxDiv_succeeds() public {
        _faultyGame(0, 5, 4 * 128 + 1);
    }

    /// @dev The square root of the layer norm's variance (LN_RSTD over 384, step 3n + 2) is wrong.
    function test_game_wrongLayerNormRstd_succeeds() public {
        _faultyGame(2, 0, 3 * 384 + 2);
    }

    /// @dev The layer-norm output of element 200 adds the bias one unit high (its last step).
    function test_game_wrongLayerNormOut_succeeds() public {
        _faultyGame(3, 200, 3);
    }

    /// @dev A challenger disputing an honest softmax element loses its bond (exact books).
    function test_game_griefingChallengerSoftmax_succeeds() public {
        _nodeCommits(Fault.None);
        _snapshotBooks();
        _assertBooks(_honestCheck(0, 77, 4 * 128 + 1));
    }

    /// @dev A challenger disputing an honest layer-norm step loses its bond (exact books).
    function test_game_griefingChallengerLayerNorm_succeeds() public {
        _nodeCommits(Fault.None);
        _snapshotBooks();
        _assertBooks(_honestCheck(2, 0, 3 * 384 + 3));
    }

    /// @dev Against an honest node, a step of every row kind of the graph checks out (the first,
    ///      one inside or the last step of one element per op, in turn): ops 0..3 here, 4..7 in
    ///      the next test (each game replays whole programs: one test would near the gas limit).
    function test_checkStep_honestRowKinds_succeeds() public {
        _honestRowKinds(0, 4);
    }

    /// @dev As above, ops 4..7 (LN_BWD_DW, SOFTMAX_BWD, LN_BWD_DX, FSUM_SQ).
    function test_checkStep_honestRowKindsBackward_succeeds() public {
        _honestRowKinds(4, 8);
    }

    function _honestRowKinds(uint256 from, uint256 to) internal {
        _nodeCommits(Fault.None);
        uint256[8] memory e = [uint256(127), 0, 0, 383, 0, 64, 100, 0];
        for (uint256 i = from; i < to; ++i) {
            uint256 n = rows.length(op(i), e[i]);
            uint256[3] memory steps = [uint256(0), n / 2 + 1, n - 1];
            this.honestCheck(i, e[i], steps[i % 3]);
        }
    }

    /// @dev Gas of postProgram and checkStep for the longest row programs, each checking a late
    ///      step with the most input openings, against an honest node; kept in
    ///      snapshots/RefereeRowsTest.json: a softmax row of 128 (514 steps; the last SUB, 1
    ///      opening), LN_RSTD over 384 (1,156; the last SUB(x, mean), 2), FSUM_SQ over 384 (399;
    ///      the last FMA(x, x, lane), 2). No transaction comes near 5M gas.
    function test_checkStep_rowsGas_succeeds() public {
        _nodeCommits(Fault.None);
        _rowsGas(0, 3 * 128 - 1, "softmax128");
        _rowsGas(2, 2 * 383, "lnRstd384");
        _rowsGas(7, 383, "fsumSq384");
    }

    /// @dev As above: LN_BWD_DW over 1,024 rows (4,096 steps; the last row's SUB(x, mean), 2
    ///      openings) and LN_BWD_DX over 384 (2,313; the element's SUB(x, mean), 2).
    function test_checkStep_rowsGasLong_succeeds() public {
        _nodeCommits(Fault.None);
        _rowsGas(4, 3 * 1023, "lnDw1024");
        _rowsGas(6, 6 * 384 + 3, "lnDx384");
    }

    /// @dev One griefing game at step s of element 0 of op i; snapshots its last two moves.
    function _rowsGas(uint256 i, uint256 s, string memory name) internal {
        Float32Cheats cheats = Float32Cheats(address(vm));
        delete moveGas;
        delete moveTxGas;
        delete moveName;
        this.honestCheck(i, 0, s);
        uint256 last = moveGas.length - 1;
        // The last two moves: postProgram, checkStep.
        cheats.snapshotValue(string.concat("postProgram_", name), moveGas[last - 1]);
        cheats.snapshotValue(string.concat("postProgram_", name, "_tx"), moveTxGas[last - 1]);
        cheats.snapshotValue(string.concat("checkStep_", name), moveGas[last]);
        cheats.snapshotValue(string.concat("checkStep_", name, "_tx"), moveTxGas[last]);
        (uint256 total, uint256 most) = _totalGas();
        cheats.snapshotValue(string.concat("game_", name, "_tx"), total);
        cheats.snapshotValue(string.concat("game_", name, "_moves"), moveGas.length);
        assertLe(total, 3_000_000, "whole game");
        assertLe(most, 5_000_000, "one transaction");
    }
}
