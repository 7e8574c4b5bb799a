// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {RefereePlayers} from "../shared/RefereePlayers.sol";
import {Fault} from "../shared/RefereeFixture.sol";
import {TensorTrees} from "../support/TensorTrees.sol";
import {IOneStepAdjudicator} from "../../src/interfaces/IOneStepAdjudicator.sol";
import {DisputeId, Outcome, TaskId} from "../../src/types/Ids.sol";
import {GameView, StepGraph} from "../../src/types/RefereeTypes.sol";

/// @notice A task whose initial state holds fewer tensors than its later states, as a real
///         AdamW task's does (issue #19): the initial state is (Y, A, B) and its scalar leaf,
///         every later state (Y, A, B, A') with A' = A kept by the step (a stand-in for the
///         optimizer's moments, which appear with step 1). StepGraph.nState1 = 3, nState = 4, so
///         the state before step 1 is a tree of 4 leaves and every later one of 5: an input of
///         step 1 is opened against the smaller tree.
contract RefereeFirstStepTest is RefereePlayers {
    function graph() public view override returns (StepGraph memory g) {
        g = super.graph();
        (g.nState, g.nState1) = (4, 3);
    }

    /// @notice The base fixture's final refs, plus state tensor 3 after the step = State(1).
    function finalLeaves() public pure override returns (bytes32[] memory l) {
        bytes32[] memory b = super.finalLeaves();
        l = new bytes32[](4);
        (l[0], l[1], l[2]) = (b[0], b[1], b[2]);
        l[3] = sha256(abi.encodePacked(uint32(3), uint8(0), uint32(1)));
    }

    /// @dev The initial state (t = 0): the base fixture's 4 leaves; after: A' before the scalar.
    function _stateLeaves(uint32[] memory y, uint256 t) internal view override returns (bytes32[] memory l) {
        bytes32[] memory b = super._stateLeaves(y, t);
        if (t == 0) return b;
        l = new bytes32[](5);
        (l[0], l[1], l[2], l[3], l[4]) = (b[0], b[1], b[2], b[1], b[3]);
    }

    /// @dev Step 1 of the task: the game ends at the GEMM's step that reads the wrong A element,
    ///      whose opening (State(1)) proves against the 4-leaf initial state: the node loses.
    function test_checkStep_firstStepReadsSmallerInitialState_succeeds() public {
        T = 1;
        _nodeCommits(Fault.WrongInput);
        DisputeId d = _open();
        Outcome result = _play(d);
        assertEq(uint256(result), uint256(Outcome.NodeWrong));
        GameView memory g = referee.game(d);
        assertEq(g.step, 1);
        assertEq(g.stateBefore, referee.stepGraph(taskId).initialState);
        assertEq(g.element, E);
        assertTrue(stakes.isJailed(node), "jailed");
    }

    /// @dev Later steps open the state before against its full nState + 1 leaves.
    function test_checkStep_laterStepReadsFullState_succeeds() public {
        T = 2;
        _nodeCommits(Fault.WrongInput);
        Outcome result = _play(_open());
        assertEq(uint256(result), uint256(Outcome.NodeWrong));
    }

    /// @dev An initial state with more tensors than the later states is refused.
    function test_createTaskWithGraph_nState1AboveNState_reverts() public {
        StepGraph memory g = graph();
        g.nState1 = g.nState + 1;
        uint256 count = market.taskCount();
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(IOneStepAdjudicator.BadGraph.selector, TaskId.wrap(count + 1)));
        market.createTaskWithGraph("bafyspec", keccak256("spec2"), REWARD, _taskParams(), g);
        assertEq(market.taskCount(), count);
    }

    /// @dev The fixture's trees are what the test claims: 4 leaves before step 1, 5 after it.
    function test_stateLeaves_initialStateIsSmaller_succeeds() public view {
        assertEq(_stateLeaves(stateT[0], 0).length, 4);
        assertEq(_stateLeaves(stateT[0], 1).length, 5);
        assertEq(referee.stepGraph(taskId).initialState, TensorTrees.root(_stateLeaves(stateT[0], 0)));
    }
}
