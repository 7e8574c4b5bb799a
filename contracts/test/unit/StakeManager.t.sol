// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "../shared/Fixture.sol";
import {IStakeManager} from "../../src/interfaces/IStakeManager.sol";
import {StakeManager} from "../../src/StakeManager.sol";
import {TaskMarket} from "../../src/TaskMarket.sol";
import {JuryAdjudicator} from "../../src/JuryAdjudicator.sol";
import {OneStepAdjudicator} from "../../src/OneStepAdjudicator.sol";
import {StepEvaluator} from "../../src/referee/StepEvaluator.sol";
import {StepPrograms} from "../../src/referee/StepPrograms.sol";
import {DeployParamsFile} from "../../script/DeployParams.sol";
import {Bounds} from "../../src/libraries/Bounds.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

contract StakeManagerTest is Fixture {
    bytes32 internal constant OB = keccak256("obligation");
    bytes32 internal constant OTHER = keccak256("other obligation");
    address internal alice;

    function setUp() public override {
        super.setUp();
        alice = _actor("alice", 0);
    }

    /// @dev A deposit is credited as free stake and emitted.
    function test_deposit_credited_succeeds() public {
        vm.expectEmit(true, false, false, true, address(stakes));
        emit IStakeManager.StakeDeposited(alice, 50e18);
        vm.prank(alice);
        stakes.deposit(50e18);
        assertEq(stakes.stakeInfo(alice).staked, 50e18);
        assertEq(stakes.freeStake(alice), 50e18);
        assertEq(token.balanceOf(address(stakes)), stakes.totalHeld());
    }

    /// @dev A zero deposit is refused.
    function test_deposit_zero_reverts() public {
        vm.expectRevert(IStakeManager.ZeroAmount.selector);
        vm.prank(alice);
        stakes.deposit(0);
    }

    /// @dev Finding 10: a deposit before the wiring is refused (no stake sits where nothing slashes it).
    function test_deposit_beforeWire_reverts() public {
        StakeManager s = new StakeManager(address(token), dp.unbondingBlocks, dp.minJurorStake);
        vm.prank(alice);
        token.approve(address(s), 1);
        vm.expectRevert(IStakeManager.NotWired.selector);
        vm.prank(alice);
        s.deposit(1);
    }

    /// @dev A requested withdrawal is not ready before the unbonding delay.
    function test_withdraw_beforeUnbonding_reverts() public {
        vm.startPrank(alice);
        stakes.deposit(50e18);
        stakes.requestWithdrawal(20e18);
        uint256 ready = block.number + dp.unbondingBlocks;
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.WithdrawalNotReady.selector, ready, block.number));
        stakes.withdraw();
        vm.stopPrank();
    }

    /// @dev After the unbonding delay the pending amount is paid out.
    function test_withdraw_afterUnbonding_succeeds() public {
        vm.startPrank(alice);
        stakes.deposit(50e18);
        vm.expectEmit(true, false, false, true, address(stakes));
        emit IStakeManager.WithdrawalRequested(alice, 20e18, block.number + dp.unbondingBlocks);
        stakes.requestWithdrawal(20e18);
        vm.roll(block.number + dp.unbondingBlocks);
        uint256 before = token.balanceOf(alice);
        stakes.withdraw();
        vm.stopPrank();
        assertEq(token.balanceOf(alice) - before, 20e18);
        assertEq(stakes.stakeInfo(alice).staked, 30e18);
        assertEq(stakes.stakeInfo(alice).pending, 0);
    }

    /// @dev Locked stake cannot be requested for withdrawal.
    function test_requestWithdrawal_moreThanFree_reverts() public {
        vm.prank(alice);
        stakes.deposit(50e18);
        vm.prank(address(market));
        stakes.lock(alice, OB, 40e18);
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.InsufficientStake.selector, alice, 10e18, 11e18));
        vm.prank(alice);
        stakes.requestWithdrawal(11e18);
    }

    /// @dev A withdrawal with nothing pending is refused.
    function test_withdraw_nothingPending_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.NoPendingWithdrawal.selector, alice));
        vm.prank(alice);
        stakes.withdraw();
    }

    /// @dev Only the wired contracts may lock.
    function test_lock_notAuthorised_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.NotAuthorised.selector, alice));
        vm.prank(alice);
        stakes.lock(alice, OB, 1);
    }

    /// @dev Only the wired contracts may slash.
    function test_slash_notAuthorised_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.NotAuthorised.selector, alice));
        vm.prank(alice);
        stakes.slash(alice, OB, 1, alice);
    }

    /// @dev Only the wired contracts may jail.
    function test_jail_notAuthorised_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.NotAuthorised.selector, alice));
        vm.prank(alice);
        stakes.jail(alice, 1);
    }

    /// @dev A lock needs free stake.
    function test_lock_moreThanFree_reverts() public {
        vm.prank(alice);
        stakes.deposit(50e18);
        vm.prank(address(jury));
        stakes.lock(alice, OB, 30e18);
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.InsufficientStake.selector, alice, 20e18, 21e18));
        vm.prank(address(jury));
        stakes.lock(alice, OB, 21e18);
    }

    /// @dev An unlock releases at most what its own obligation holds.
    function test_unlock_cappedAtObligation_succeeds() public {
        vm.prank(alice);
        stakes.deposit(50e18);
        vm.startPrank(address(jury));
        stakes.lock(alice, OB, 30e18);
        stakes.lock(alice, OTHER, 10e18);
        assertEq(stakes.unlock(alice, OB, 1000e18), 30e18);
        vm.stopPrank();
        assertEq(stakes.stakeInfo(alice).locked, 10e18, "the other obligation stays locked");
        assertEq(stakes.lockedFor(alice, address(jury), OTHER), 10e18);
    }

    /// @dev Finding 10: the market cannot free a lock the adjudicator holds under the same key.
    function test_unlock_otherCallersObligation_succeeds() public {
        vm.prank(alice);
        stakes.deposit(50e18);
        vm.prank(address(jury));
        stakes.lock(alice, OB, 30e18);
        vm.prank(address(market));
        assertEq(stakes.unlock(alice, OB, 30e18), 0);
        assertEq(stakes.stakeInfo(alice).locked, 30e18);
    }

    /// @dev A slash takes its own lock first, then free stake, then the pending withdrawal.
    function test_slash_ownLockThenFreeThenPending_succeeds() public {
        vm.startPrank(alice);
        stakes.deposit(100e18);
        stakes.requestWithdrawal(30e18); // staked 70, pending 30
        vm.stopPrank();
        vm.prank(address(market));
        stakes.lock(alice, OB, 20e18); // free 50
        address ben = makeAddr("ben");
        vm.expectEmit(true, true, true, true, address(stakes));
        emit IStakeManager.StakeSlashed(alice, address(market), ben, 80e18, 20e18, 10e18);
        vm.prank(address(market));
        assertEq(stakes.slash(alice, OB, 80e18, ben), 80e18);
        IStakeManager.StakeInfo memory i = stakes.stakeInfo(alice);
        assertEq(i.staked, 0);
        assertEq(i.locked, 0);
        assertEq(i.pending, 20e18);
        assertEq(token.balanceOf(ben), 80e18);
        assertEq(token.balanceOf(address(stakes)), stakes.totalHeld());
    }

    /// @dev Finding 10: a slash never takes another obligation's lock, so that obligation stays covered.
    function test_slash_leavesOtherObligation_succeeds() public {
        vm.prank(alice);
        stakes.deposit(100e18);
        vm.startPrank(address(market));
        stakes.lock(alice, OB, 40e18);
        stakes.lock(alice, OTHER, 60e18);
        assertEq(stakes.slash(alice, OB, 100e18, makeAddr("ben")), 40e18, "capped: no free stake left");
        vm.stopPrank();
        assertEq(stakes.lockedFor(alice, address(market), OTHER), 60e18);
        assertEq(stakes.stakeInfo(alice).locked, 60e18);
        assertEq(stakes.stakeInfo(alice).staked, 60e18);
    }

    /// @dev A slash to the zero address is refused.
    function test_slash_zeroBeneficiary_reverts() public {
        vm.expectRevert(IStakeManager.ZeroAddress.selector);
        vm.prank(address(market));
        stakes.slash(alice, OB, 1, address(0));
    }

    /// @dev A jailed account is jailed until its block, and a later jail never shortens it.
    function test_jail_neverShortens_succeeds() public {
        vm.startPrank(address(jury));
        stakes.jail(alice, block.number + 10);
        stakes.jail(alice, block.number + 5);
        vm.stopPrank();
        assertTrue(stakes.isJailed(alice));
        assertEq(stakes.stakeInfo(alice).jailedUntil, block.number + 10);
        vm.roll(block.number + 10);
        assertFalse(stakes.isJailed(alice));
    }

    /// @dev A juror's draw weight is its free stake, zero while jailed.
    function test_jurorPool_jailedWeightZero_succeeds() public {
        vm.startPrank(alice);
        stakes.deposit(dp.minJurorStake);
        stakes.optInJuror();
        vm.stopPrank();
        (address[] memory a, uint256[] memory w) = stakes.jurorPool();
        assertEq(a[N_JURORS], alice);
        assertEq(w[N_JURORS], dp.minJurorStake);
        vm.prank(address(jury));
        stakes.jail(alice, block.number + 1);
        (, w) = stakes.jurorPool();
        assertEq(w[N_JURORS], 0);
    }

    /// @dev Joining twice is refused.
    function test_optInJuror_twice_reverts() public {
        vm.startPrank(alice);
        stakes.deposit(dp.minJurorStake);
        stakes.optInJuror();
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.JurorPoolMembership.selector, alice, true));
        stakes.optInJuror();
        vm.stopPrank();
    }

    /// @dev Finding 3: a seat in the pool needs minJurorStake (empty addresses cannot squat it).
    function test_optInJuror_belowMinStake_reverts() public {
        uint256 min = dp.minJurorStake;
        vm.startPrank(alice);
        stakes.deposit(min - 1);
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.JurorStakeTooLow.selector, alice, min - 1, min));
        stakes.optInJuror();
        vm.stopPrank();
    }

    /// @dev Opting out swap-removes the member.
    function test_optOutJuror_swapRemoves_succeeds() public {
        vm.startPrank(alice);
        stakes.deposit(dp.minJurorStake);
        stakes.optInJuror();
        vm.stopPrank();
        vm.prank(pool[0]);
        stakes.optOutJuror();
        (address[] memory a,) = stakes.jurorPool();
        assertEq(a.length, N_JURORS);
        assertEq(a[0], alice);
    }

    /// @dev Opting out when not a member is refused.
    function test_optOutJuror_notMember_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.JurorPoolMembership.selector, alice, false));
        vm.prank(alice);
        stakes.optOutJuror();
    }

    /// @dev Finding 3: withdrawing below the minimum leaves the pool.
    function test_requestWithdrawal_belowMinLeavesPool_succeeds() public {
        vm.startPrank(alice);
        stakes.deposit(dp.minJurorStake);
        stakes.optInJuror();
        stakes.requestWithdrawal(1);
        vm.stopPrank();
        assertFalse(stakes.stakeInfo(alice).juror);
    }

    /// @dev Finding 3: anyone evicts a member whose stake fell below the minimum (a slash).
    function test_evictJuror_belowMin_succeeds() public {
        vm.startPrank(alice);
        stakes.deposit(dp.minJurorStake);
        stakes.optInJuror();
        vm.stopPrank();
        vm.prank(address(jury));
        stakes.slash(alice, OB, 1, address(jury));
        stakes.evictJuror(alice);
        assertFalse(stakes.stakeInfo(alice).juror);
    }

    /// @dev A member with enough stake cannot be evicted.
    function test_evictJuror_stakedMember_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IStakeManager.JurorStakeTooLow.selector, pool[0], JUROR_STAKE, dp.minJurorStake)
        );
        stakes.evictJuror(pool[0]);
    }

    /// @dev Finding 3: a full pool of staked members refuses newcomers; a squat costs MAX_POOL * min.
    function test_optInJuror_fullPool_reverts() public {
        uint256 max = stakes.MAX_POOL();
        for (uint256 i = N_JURORS; i < max; ++i) {
            address a = _actor(string.concat("squatter", vm.toString(i)), dp.minJurorStake);
            vm.prank(a);
            stakes.optInJuror();
        }
        vm.prank(alice);
        stakes.deposit(dp.minJurorStake);
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.JurorPoolFull.selector, max));
        vm.prank(alice);
        stakes.optInJuror();
    }

    /// @dev Only the owner wires.
    function test_wire_notOwner_reverts() public {
        StakeManager s = new StakeManager(address(token), dp.unbondingBlocks, dp.minJurorStake);
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.NotOwner.selector, alice));
        vm.prank(alice);
        s.wire(alice, alice, alice);
    }

    /// @dev The fixture's wiring is done once.
    function test_wire_twice_reverts() public {
        vm.expectRevert(IStakeManager.AlreadyWired.selector);
        stakes.wire(address(market), address(jury), address(referee));
    }

    /// @dev Finding 10: wiring a market and an adjudicator of another StakeManager is refused.
    function test_wire_mismatchedPair_reverts() public {
        StakeManager s = new StakeManager(address(token), dp.unbondingBlocks, dp.minJurorStake);
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.WiringMismatch.selector, address(market), address(jury)));
        s.wire(address(market), address(jury), address(referee));
    }

    /// @dev The market's two adjudicators must be two contracts: one cannot stand for both.
    function test_wire_sameAdjudicatorTwice_reverts() public {
        StakeManager s = new StakeManager(address(token), dp.unbondingBlocks, dp.minJurorStake);
        TaskMarket m = new TaskMarket(address(token), address(s), dp.market);
        JuryAdjudicator j = new JuryAdjudicator(address(token), address(s), address(m), address(rng), dp.jury);
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.WiringMismatch.selector, address(m), address(j)));
        s.wire(address(m), address(j), address(j));
    }

    /// @dev The market and both its adjudicators are authorised; nobody else is.
    function test_isAuthorised_marketJuryAndReferee_succeeds() public view {
        assertTrue(stakes.isAuthorised(address(market)));
        assertTrue(stakes.isAuthorised(address(jury)));
        assertTrue(stakes.isAuthorised(address(referee)));
        assertFalse(stakes.isAuthorised(alice));
        assertFalse(stakes.isAuthorised(address(0)));
    }

    /// @dev Finding 6: an unbonding delay that a dispute outlasts is refused at wiring.
    function test_wire_unbondingShorterThanDispute_reverts() public {
        StakeManager s = new StakeManager(address(token), 10, dp.minJurorStake);
        TaskMarket m = new TaskMarket(address(token), address(s), dp.market);
        JuryAdjudicator j = new JuryAdjudicator(address(token), address(s), address(m), address(rng), dp.jury);
        OneStepAdjudicator r = new OneStepAdjudicator(
            address(token), address(s), address(m), new StepEvaluator(new StepPrograms()), DeployParamsFile.referee(vm)
        );
        uint256 longest = j.longestDispute() > r.longestDispute() ? j.longestDispute() : r.longestDispute();
        uint256 needed = longest + dp.market.maxChallengeWindow;
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.UnbondingTooShort.selector, 10, needed));
        s.wire(address(m), address(j), address(r));
    }

    /// @dev A zero unbonding delay is outside the documented bounds.
    function test_constructor_zeroUnbonding_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(Bounds.ParamOutOfBounds.selector, "unbondingBlocks", 0, 1, Bounds.MAX_UNBONDING)
        );
        new StakeManager(address(token), 0, dp.minJurorStake);
    }

    /// @dev A zero token address is refused.
    function test_constructor_zeroToken_reverts() public {
        vm.expectRevert(IStakeManager.ZeroAddress.selector);
        new StakeManager(address(0), dp.unbondingBlocks, dp.minJurorStake);
    }

    /// @dev Only the token's owner mints the devnet token.
    function test_veriToken_mintNotOwner_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        token.mint(alice, 5);
    }

    /// @dev The randomness word follows prevrandao, the block and the salt.
    function test_randomness_followsPrevrandaoAndSalt_succeeds() public {
        vm.prevrandao(bytes32(uint256(1)));
        uint256 a = rng.randomWord("s");
        assertEq(a, uint256(keccak256(abi.encode(uint256(1), block.number, bytes32("s")))));
        assertTrue(a != rng.randomWord("t"), "salt matters");
        vm.prevrandao(bytes32(uint256(2)));
        assertTrue(a != rng.randomWord("s"), "prevrandao matters");
    }
}
