// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {RefereeElemFixture, ElemFault} from "../shared/RefereeElemFixture.sol";
import {IOneStepAdjudicator} from "../../src/interfaces/IOneStepAdjudicator.sol";
import {Programs} from "../../src/referee/Programs.sol";
import {DisputeId, Outcome} from "../../src/types/Ids.sol";

/// @notice Games that end at the AdamW and clip kinds (ProgramsElem): a wrong AdamW parameter
///         element and a wrong binary64 step of the clip coefficient lose the node the game; an
///         honest node wins every step of them (all 8 scalar slots opened from the scalar table,
///         binary64 results read 8 bytes wide). Exact books.
contract OneStepAdjudicatorElemTest is RefereeElemFixture {
    /// @dev One AdamW parameter element's first step (p * decay) is a unit high: the game
    ///      narrows to op3, element EA, step 0, whose operands are opened from the state before
    ///      the step (p) and the scalar table (decay); the node loses.
    function test_game_wrongAdamWParam_succeeds() public {
        _elemCommits(ElemFault.WrongAdamW);
        assertTrue(nodeE[3][EA] != honestE[3][EA], "the fault shows in the element");
        _snapshotBooks();
        DisputeId d = _open();
        (uint256 i, uint256 e, uint64[] memory r, bytes memory posted) = _toProgram(d, 0, 0);
        assertEq(i, 3);
        assertEq(e, EA);
        uint256 s = _firstWrong(i, e, r);
        assertEq(s, 0);
        assertEq(_elemOpenings(i, e, s).length, 2);
        Outcome result = _elemCheck(d, i, e, s, posted);
        assertEq(uint256(result), uint256(Outcome.NodeWrong));
        _assertBooks(result);
    }

    /// @dev The clip coefficient's DIV_F64 step is 2^29 binary64 units high: the game narrows to
    ///      op1 (every op before it agrees), step 3; StepChecked reports both 64-bit results.
    function test_game_wrongClipCoef_succeeds() public {
        _elemCommits(ElemFault.WrongClip);
        assertTrue(nodeE[1][0] != honestE[1][0], "the fault shows in the coefficient");
        _snapshotBooks();
        DisputeId d = _open();
        (uint256 i, uint256 e, uint64[] memory r, bytes memory posted) = _toProgram(d, 0, 0);
        assertEq(i, 1);
        assertEq(e, 0);
        assertEq(posted.length, 5 * 8 + 4, "five binary64 results, then the binary32 one");
        uint256 s = _firstWrong(i, e, r);
        assertEq(s, 3);
        vm.expectEmit(true, false, false, true, address(referee));
        emit IOneStepAdjudicator.StepChecked(d, 3, uint8(Programs.Opcode.DivF64), r[3] - (1 << 29), r[3]);
        Outcome result = _elemCheck(d, i, e, s, posted);
        assertEq(uint256(result), uint256(Outcome.NodeWrong));
        _assertBooks(result);
    }

    /// @dev A challenger disputing an honest AdamW element loses its bond to the node.
    function test_game_griefingAdamW_succeeds() public {
        _elemCommits(ElemFault.None);
        _snapshotBooks();
        DisputeId d = _open();
        (uint256 i, uint256 e,, bytes memory posted) = _toProgram(d, 3, EA);
        Outcome result = _elemCheck(d, i, e, 13, posted);
        assertEq(uint256(result), uint256(Outcome.NodeRight));
        _assertBooks(result);
    }

    /// @dev Against an honest node every step of ADAMW_P, ADAMW_M and ADAMW_V checks out (every
    ///      scalar slot, the state and the clipped gradient opened).
    function test_checkStep_honestAdamWEveryStep_succeeds() public {
        _elemCommits(ElemFault.None);
        uint256[3] memory lengths = [uint256(14), 3, 4];
        for (uint256 k; k < 3; ++k) {
            for (uint256 s; s < lengths[k]; ++s) {
                DisputeId d = _open();
                (uint256 i, uint256 e,, bytes memory posted) = _toProgram(d, 3 + k, EA);
                assertEq(uint256(_elemCheck(d, i, e, s, posted)), uint256(Outcome.NodeRight));
            }
        }
    }

    /// @dev Against an honest node every step of the clip coefficient checks out: TO_F64 of the
    ///      opened input, binary64 Prev operands read 8 bytes wide, TO_F32 of the last.
    function test_checkStep_honestClipEveryStep_succeeds() public {
        _elemCommits(ElemFault.None);
        for (uint256 s; s < 6; ++s) {
            DisputeId d = _open();
            (uint256 i, uint256 e,, bytes memory posted) = _toProgram(d, 1, 0);
            assertEq(uint256(_elemCheck(d, i, e, s, posted)), uint256(Outcome.NodeRight));
        }
    }

    /// @dev Gas of checkStep at the new kinds (cold accounts and storage, as a transaction
    ///      starts; tx = + 21,000 + calldata): docs/referee.md "Gas".
    function test_checkStep_gas_succeeds() public {
        _elemCommits(ElemFault.None);
        // AdamW p * decay (state and scalar openings), stepSize * u (scalar), the last SUB
        // (no opening); the clip's TO_F64 (an op opening), DIV_F64 (binary64, no opening)
        uint256[5] memory ops = [uint256(3), 3, 3, 1, 1];
        uint256[5] memory steps = [uint256(0), 12, 13, 0, 3];
        for (uint256 k; k < 5; ++k) {
            DisputeId d = _open();
            (uint256 i, uint256 e,, bytes memory posted) = _toProgram(d, ops[k], ops[k] == 1 ? 0 : EA);
            assertEq(uint256(_elemCheck(d, i, e, steps[k], posted)), uint256(Outcome.NodeRight));
            uint256 last = moveGas.length - 1;
            emit log_named_uint(string.concat("checkStep op ", vm.toString(i), " step ", vm.toString(steps[k]),
                " exec"), moveGas[last]);
            emit log_named_uint("   tx (estimate)", moveTxGas[last]);
            assertLt(moveTxGas[last], 5_000_000);
        }
    }

    /// @dev The clip program posted 4 bytes a step (its binary64 results cut to 32 bits) is
    ///      refused: 44 bytes expected.
    function test_postProgram_clipResultsNarrow_reverts() public {
        _elemCommits(ElemFault.None);
        DisputeId d = _open();
        (uint256 i, uint256 e) = _toElement(d, 1, 0);
        uint64[] memory r = _program(i, e, nodeE, true);
        bytes memory narrow;
        for (uint256 s; s < r.length; ++s) {
            narrow = bytes.concat(narrow, bytes4(uint32(r[s])));
        }
        vm.prank(node);
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.ProgramMismatch.selector, d, 44, 24));
        referee.postProgram(d, narrow);
    }
}
