// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture, Traces} from "../shared/Fixture.sol";
import {TraceMerkleBuilder} from "../support/TraceMerkleBuilder.sol";
import {ReentrantToken, Attacker} from "./ReentrantToken.sol";
import {IStakeManager} from "../../src/interfaces/IStakeManager.sol";
import {ITaskMarket} from "../../src/interfaces/ITaskMarket.sol";
import {IStepAdjudicator} from "../../src/interfaces/IStepAdjudicator.sol";
import {IJuryAdjudicator} from "../../src/interfaces/IJuryAdjudicator.sol";
import {StakeManager} from "../../src/StakeManager.sol";
import {TaskMarket} from "../../src/TaskMarket.sol";
import {JuryAdjudicator} from "../../src/JuryAdjudicator.sol";
import {PrevrandaoRandomness} from "../../src/PrevrandaoRandomness.sol";
import {VeriToken} from "../../src/VeriToken.sol";
import {TraceMerkle} from "../../src/libraries/TraceMerkle.sol";
import {TaskId, DisputeId, TaskStatus, Outcome, ReleaseReason} from "../../src/types/Ids.sol";

/// @notice Reentrancy through a hostile ERC20: the protocol deployed on `ReentrantToken`, and an
///         `Attacker` contract that re-enters StakeManager / TaskMarket / JuryAdjudicator from inside
///         the token callback, before and after the balance update. Every test checks that the
///         re-entry failed with the named error (or, where it is allowed, changed nothing it
///         should not), that the attacker was paid exactly once, and that the tokens the contracts
///         hold equal what their books say (conservation).
contract ReentrancyTest is Fixture {
    ReentrantToken internal rtoken;
    Attacker internal a;

    function _newToken() internal override returns (VeriToken) {
        rtoken = new ReentrantToken();
        return rtoken;
    }

    function setUp() public override {
        a = new Attacker();
        treasury = address(a); // the stall slash goes to the treasury: let the attacker be it
        super.setUp();
        token.mint(address(a), 100_000e18);
        a.exec(address(token), abi.encodeCall(token.approve, (address(stakes), type(uint256).max)));
        a.exec(address(token), abi.encodeCall(token.approve, (address(market), type(uint256).max)));
        a.exec(address(token), abi.encodeCall(token.approve, (address(jury), type(uint256).max)));
        rtoken.setHook(address(a), true);
    }

    // ------------------------------------------------------------ helpers

    function _conserved() internal view {
        uint256 bal = token.balanceOf(address(stakes)) + token.balanceOf(address(market)) + token.balanceOf(address(jury));
        assertEq(bal, _held(), "tokens held == stakes + escrow + bonds/credits");
    }

    function _blocked(bytes4 expected) internal view {
        assertEq(a.reentries(), 1, "the hook re-entered once");
        assertTrue(!a.lastOk(), "the re-entry must revert");
        assertEq(uint256(uint32(a.lastSelector())), uint256(uint32(expected)), "revert reason");
    }

    bytes4 internal constant GUARD = bytes4(keccak256("ReentrancyGuardReentrantCall()"));

    function _deposit(uint256 amount) internal {
        a.exec(address(stakes), abi.encodeCall(stakes.deposit, (amount)));
    }

    function _requestAll(uint256 amount) internal {
        a.exec(address(stakes), abi.encodeCall(stakes.requestWithdrawal, (amount)));
        vm.roll(block.number + dp.unbondingBlocks);
    }

    function _attackerCommits(TaskId id, uint256 k) internal {
        bytes32[] memory l = Traces.leaves(TaskId.unwrap(id), k, SEG, 0);
        a.exec(address(market), abi.encodeCall(market.commitSegment,
            (id, k, TraceMerkleBuilder.computeRoot(l), keccak256(abi.encode("end", k)), "bafyckpt", "bafyleaves", l)));
    }

    // ------------------------------------------------------------ StakeManager

    /// @dev Re-entry: withdraw reentersWithdraw afterUpdate paysOnce.
    function test_withdraw_reentersWithdraw_afterUpdate_paysOnce_succeeds() public {
        _deposit(1000e18);
        _requestAll(1000e18);
        a.arm(address(stakes), abi.encodeCall(stakes.withdraw, ()), false);
        uint256 before = token.balanceOf(address(a));
        a.exec(address(stakes), abi.encodeCall(stakes.withdraw, ()));
        _blocked(GUARD);
        assertEq(token.balanceOf(address(a)) - before, 1000e18, "paid once");
        assertEq(stakes.stakeInfo(address(a)).pending, 0);
        _conserved();
    }

    /// @dev Re-entry: withdraw reentersWithdraw beforeUpdate paysOnce.
    function test_withdraw_reentersWithdraw_beforeUpdate_paysOnce_succeeds() public {
        _deposit(1000e18);
        _requestAll(1000e18);
        a.arm(address(stakes), abi.encodeCall(stakes.withdraw, ()), true);
        uint256 before = token.balanceOf(address(a));
        a.exec(address(stakes), abi.encodeCall(stakes.withdraw, ()));
        _blocked(GUARD);
        assertEq(token.balanceOf(address(a)) - before, 1000e18, "paid once");
        _conserved();
    }

    /// @dev Cross-contract: the stake is already booked out when the token calls back, so a claim
    ///      that would lock it fails in StakeManager.lock.
    function test_withdraw_reentersClaimTask_insufficientStake_succeeds() public {
        _deposit(NODE_STAKE);
        _requestAll(NODE_STAKE);
        TaskId id = _createTask();
        a.arm(address(market), abi.encodeCall(market.claimTask, (id)), true);
        a.exec(address(stakes), abi.encodeCall(stakes.withdraw, ()));
        _blocked(IStakeManager.InsufficientStake.selector);
        assertEq(uint256(market.task(id).status), uint256(TaskStatus.Open), "task not claimed");
        assertEq(stakes.stakeInfo(address(a)).locked, 0);
        _conserved();
    }

    /// @dev deposit books the stake before pulling the tokens. A re-entry from the pull sees the
    ///      booked stake and may request its withdrawal; the pull then completes in the same
    ///      transaction (or everything reverts), so the attacker gets back exactly what it paid.
    function test_deposit_reentersRequestWithdrawal_noGain_succeeds() public {
        uint256 start = token.balanceOf(address(a));
        a.arm(address(stakes), abi.encodeCall(stakes.requestWithdrawal, (500e18)), true);
        _deposit(500e18);
        assertEq(a.reentries(), 1);
        assertTrue(a.lastOk(), "allowed: the stake is booked and is being paid in this transaction");
        assertEq(token.balanceOf(address(a)), start - 500e18, "the deposit was pulled");
        _conserved();
        vm.roll(block.number + dp.unbondingBlocks);
        a.exec(address(stakes), abi.encodeCall(stakes.withdraw, ()));
        assertEq(token.balanceOf(address(a)), start, "round trip: no gain, no loss");
        assertEq(stakes.totalHeld(), 3 * NODE_STAKE * 2 + N_JURORS * JUROR_STAKE);
        _conserved();
    }

    // ------------------------------------------------------------ TaskMarket

    /// @dev Re-entry: claimReward reentersClaimReward paysOnce.
    function test_claimReward_reentersClaimReward_paysOnce_succeeds() public {
        _deposit(3 * NODE_STAKE);
        TaskId id = _createTask();
        a.exec(address(market), abi.encodeCall(market.claimTask, (id)));
        for (uint256 k; k < TOTAL / SEG; ++k) _attackerCommits(id, k);
        vm.roll(block.number + WINDOW + 1);
        a.arm(address(market), abi.encodeCall(market.claimReward, (id)), false);
        uint256 before = token.balanceOf(address(a));
        a.exec(address(market), abi.encodeCall(market.claimReward, (id)));
        _blocked(GUARD);
        assertEq(token.balanceOf(address(a)) - before, REWARD, "reward paid once");
        assertEq(uint256(market.task(id).status), uint256(TaskStatus.Completed));
        assertEq(market.totalEscrow(), 0);
        assertEq(stakes.stakeInfo(address(a)).locked, 0, "stake unlocked once");
        _conserved();
    }

    /// @dev Re-entry: claimReward beforeUpdate reentersClaimReward paysOnce.
    function test_claimReward_beforeUpdate_reentersClaimReward_paysOnce_succeeds() public {
        _deposit(3 * NODE_STAKE);
        TaskId id = _createTask();
        a.exec(address(market), abi.encodeCall(market.claimTask, (id)));
        for (uint256 k; k < TOTAL / SEG; ++k) _attackerCommits(id, k);
        vm.roll(block.number + WINDOW + 1);
        a.arm(address(market), abi.encodeCall(market.claimReward, (id)), true);
        uint256 before = token.balanceOf(address(a));
        a.exec(address(market), abi.encodeCall(market.claimReward, (id)));
        _blocked(GUARD);
        assertEq(token.balanceOf(address(a)) - before, REWARD, "reward paid once");
        _conserved();
    }

    /// @dev Re-entry: cancelTask reentersCancel refundsOnce.
    function test_cancelTask_reentersCancel_refundsOnce_succeeds() public {
        uint256 start = token.balanceOf(address(a));
        bytes memory ret = a.exec(address(market), abi.encodeCall(market.createTask,
            ("bafyspec", keccak256("spec"), REWARD, taskParams())));
        TaskId id = abi.decode(ret, (TaskId));
        a.arm(address(market), abi.encodeCall(market.cancelTask, (id)), false);
        a.exec(address(market), abi.encodeCall(market.cancelTask, (id)));
        _blocked(GUARD);
        assertEq(token.balanceOf(address(a)), start, "refunded exactly once");
        assertEq(market.totalEscrow(), 0);
        _conserved();
    }

    /// @dev #14: the last free release ends the task and refunds the requester (attacker), whose
    ///      token hook re-enters cancelTask: the market's guard stops it; refunded once.
    function test_releaseTask_requesterReentersCancel_refundsOnce_succeeds() public {
        address node3 = _actor("node3", 3 * NODE_STAKE);
        uint256 start = token.balanceOf(address(a));
        bytes memory ret = a.exec(address(market), abi.encodeCall(market.createTask,
            ("bafyspec", keccak256("spec"), REWARD, taskParams())));
        TaskId id = abi.decode(ret, (TaskId));
        address[3] memory nodes = [node, node2, node3];
        for (uint256 i; i < 3; ++i) {
            vm.prank(nodes[i]);
            market.claimTask(id);
            if (i == 2) a.arm(address(market), abi.encodeCall(market.cancelTask, (id)), false);
            vm.prank(nodes[i]);
            market.releaseTask(id, ReleaseReason.InputsUnavailable);
        }
        _blocked(GUARD);
        assertEq(token.balanceOf(address(a)), start, "refunded exactly once");
        assertEq(uint256(market.task(id).status), uint256(TaskStatus.Cancelled));
        assertEq(market.totalEscrow(), 0);
        _conserved();
    }

    /// @dev Re-entry: createTask reentersCreate oneTask.
    function test_createTask_reentersCreate_oneTask_succeeds() public {
        uint256 start = token.balanceOf(address(a));
        bytes memory call = abi.encodeCall(market.createTask, ("bafyspec", keccak256("spec"), REWARD, taskParams()));
        a.arm(address(market), call, true);
        a.exec(address(market), call);
        _blocked(GUARD);
        assertEq(market.taskCount(), 1, "one task");
        assertEq(market.totalEscrow(), REWARD);
        assertEq(start - token.balanceOf(address(a)), REWARD, "paid once");
        _conserved();
    }

    /// @dev The treasury (attacker) receives the stall slash inside StakeManager.slash, itself inside
    ///      TaskMarket.timeoutStall; re-entering timeoutStall hits the market's guard.
    function test_timeoutStall_treasuryReentersTimeout_slashedOnce_succeeds() public {
        bytes memory ret = a.exec(address(market), abi.encodeCall(market.createTask,
            ("bafyspec", keccak256("spec"), REWARD, taskParams())));
        TaskId id = abi.decode(ret, (TaskId));
        vm.prank(node);
        market.claimTask(id);
        vm.roll(block.number + DEADLINE + 1);
        a.arm(address(market), abi.encodeCall(market.timeoutStall, (id)), false);
        uint256 before = token.balanceOf(address(a));
        uint256 nodeStaked = stakes.stakeInfo(node).staked;
        market.timeoutStall(id);
        _blocked(GUARD);
        uint256 slash = STALL_SLASH;
        assertEq(token.balanceOf(address(a)) - before, slash, "slash paid once");
        assertEq(nodeStaked - stakes.stakeInfo(node).staked, slash, "node slashed once");
        assertEq(uint256(market.task(id).status), uint256(TaskStatus.Open), "reopened");
        _conserved();
    }

    // ------------------------------------------------------------ JuryAdjudicator

    function _attackerWinsDispute() internal returns (TaskId id, DisputeId d) {
        id = _createAndClaim();
        bytes32[] memory l = _commit(id, 0, 5, node); // node diverges from step 5
        bytes32[] memory proof = TraceMerkleBuilder.buildProof(l, 4);
        a.arm(address(jury), abi.encodeCall(jury.openDispute, (id, 0, _roots(id, 0), _previous(id, 0), 5, l[4], proof)), true);
        bytes memory ret = a.exec(address(jury), abi.encodeCall(jury.openDispute, (id, 0, _roots(id, 0), _previous(id, 0), 5, l[4], proof)));
        _blocked(GUARD); // re-entering openDispute from the bond pull
        d = abi.decode(ret, (DisputeId));
        assertEq(jury.disputeCount(), 1, "one dispute");
        address[] memory js = _draw(d);
        _voteAll(d, js, Traces.honestLeaf(TaskId.unwrap(id), 5));
        assertEq(uint256(jury.resolve(d)), uint256(Outcome.NodeWrong));
    }

    /// @dev Re-entry: openEndStateDispute reentersItself oneDispute.
    function test_openEndStateDispute_reentersItself_oneDispute_succeeds() public {
        TaskId id = _createAndClaim();
        _commit(id, 0, 5, node);
        a.arm(address(jury), abi.encodeCall(jury.openEndStateDispute, (id, 0, _roots(id, 0), _previous(id, 0))), true);
        bytes memory ret = a.exec(address(jury), abi.encodeCall(jury.openEndStateDispute, (id, 0, _roots(id, 0), _previous(id, 0))));
        _blocked(GUARD); // re-entering from the bond pull
        DisputeId d = abi.decode(ret, (DisputeId));
        assertEq(jury.disputeCount(), 1, "one dispute");
        assertEq(DisputeId.unwrap(jury.endStateDisputeOf(id, 0)), DisputeId.unwrap(d));
        assertEq(market.segment(id, 0).openDisputes, 1, "counted once");
        _conserved();
    }

    /// @dev Re-entry: claimPayout reentersClaimPayout paysOnce.
    function test_claimPayout_reentersClaimPayout_paysOnce_succeeds() public {
        uint256 start = token.balanceOf(address(a));
        _attackerWinsDispute();
        uint256 owed = jury.owed(address(a));
        assertEq(owed, _challengerWin(), "bond back less the fee + challenger share");
        a.arm(address(jury), abi.encodeCall(jury.claimPayout, ()), false);
        a.exec(address(jury), abi.encodeCall(jury.claimPayout, ()));
        assertEq(a.reentries(), 2);
        assertTrue(!a.lastOk());
        assertEq(uint256(uint32(a.lastSelector())), uint256(uint32(GUARD)));
        assertEq(token.balanceOf(address(a)), start + _challengerWin() - BOND, "net: slash share less the fee, once");
        assertEq(jury.owed(address(a)), 0);
        _conserved();
    }

    /// @dev Cross-contract during the payout transfer: the credit is already zero, so a second
    ///      claim reverts on the guard, and a stake deposit made from the callback is ordinary.
    function test_claimPayout_reentersDeposit_isOrdinary_succeeds() public {
        _attackerWinsDispute();
        uint256 owed = jury.owed(address(a));
        uint256 before = token.balanceOf(address(a));
        a.arm(address(stakes), abi.encodeCall(stakes.deposit, (owed)), false);
        a.exec(address(jury), abi.encodeCall(jury.claimPayout, ()));
        assertTrue(a.lastOk(), "a deposit from the callback is allowed");
        assertEq(token.balanceOf(address(a)), before, "paid owed, deposited owed");
        assertEq(stakes.stakeInfo(address(a)).staked, owed);
        _conserved();
    }
}
