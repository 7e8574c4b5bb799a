// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "../shared/Fixture.sol";
import {IStakeManager} from "../../src/interfaces/IStakeManager.sol";
import {StakeManager} from "../../src/StakeManager.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

contract StakeManagerTest is Fixture {
    address internal alice;

    function setUp() public override {
        super.setUp();
        alice = _actor("alice", 0);
    }

    function test_deposit_succeeds_andEmits() public {
        vm.expectEmit(true, false, false, true, address(stakes));
        emit IStakeManager.StakeDeposited(alice, 50e18);
        vm.prank(alice);
        stakes.deposit(50e18);
        assertEq(stakes.stakeInfo(alice).staked, 50e18);
        assertEq(stakes.freeStake(alice), 50e18);
        assertEq(token.balanceOf(address(stakes)), stakes.totalHeld());
    }

    function test_deposit_zero_reverts() public {
        vm.expectRevert(IStakeManager.ZeroAmount.selector);
        vm.prank(alice);
        stakes.deposit(0);
    }

    function test_requestWithdrawal_thenWithdraw_succeeds() public {
        vm.startPrank(alice);
        stakes.deposit(50e18);
        vm.expectEmit(true, false, false, true, address(stakes));
        emit IStakeManager.WithdrawalRequested(alice, 20e18, block.number + UNBONDING);
        stakes.requestWithdrawal(20e18);
        vm.expectRevert(
            abi.encodeWithSelector(IStakeManager.WithdrawalNotReady.selector, block.number + UNBONDING, block.number)
        );
        stakes.withdraw();
        vm.roll(block.number + UNBONDING);
        uint256 before = token.balanceOf(alice);
        vm.expectEmit(true, false, false, true, address(stakes));
        emit IStakeManager.StakeWithdrawn(alice, 20e18);
        stakes.withdraw();
        vm.stopPrank();
        assertEq(token.balanceOf(alice) - before, 20e18);
        assertEq(stakes.stakeInfo(alice).staked, 30e18);
        assertEq(stakes.stakeInfo(alice).pending, 0);
    }

    function test_requestWithdrawal_moreThanFree_reverts() public {
        vm.prank(alice);
        stakes.deposit(50e18);
        vm.prank(address(market));
        stakes.lock(alice, 40e18);
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.InsufficientStake.selector, alice, 10e18, 11e18));
        vm.prank(alice);
        stakes.requestWithdrawal(11e18);
        vm.expectRevert(IStakeManager.ZeroAmount.selector);
        vm.prank(alice);
        stakes.requestWithdrawal(0);
    }

    function test_withdraw_nothingPending_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.NoPendingWithdrawal.selector, alice));
        vm.prank(alice);
        stakes.withdraw();
    }

    function test_lockUnlock_onlyAuthorised() public {
        vm.prank(alice);
        stakes.deposit(50e18);
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.NotAuthorised.selector, alice));
        vm.prank(alice);
        stakes.lock(alice, 1);
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.NotAuthorised.selector, alice));
        vm.prank(alice);
        stakes.unlock(alice, 1);
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.NotAuthorised.selector, alice));
        vm.prank(alice);
        stakes.slash(alice, 1, alice);
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.NotAuthorised.selector, alice));
        vm.prank(alice);
        stakes.jail(alice, 1);

        vm.expectEmit(true, true, false, true, address(stakes));
        emit IStakeManager.StakeLocked(alice, address(jury), 30e18);
        vm.prank(address(jury));
        stakes.lock(alice, 30e18);
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.InsufficientStake.selector, alice, 20e18, 21e18));
        vm.prank(address(jury));
        stakes.lock(alice, 21e18);
        vm.expectEmit(true, true, false, true, address(stakes));
        emit IStakeManager.StakeUnlocked(alice, address(jury), 30e18);
        vm.prank(address(jury));
        stakes.unlock(alice, 1000e18); // capped at what is locked
        assertEq(stakes.stakeInfo(alice).locked, 0);
    }

    function test_slash_freeThenPendingThenLocked_succeeds() public {
        vm.startPrank(alice);
        stakes.deposit(100e18);
        stakes.requestWithdrawal(30e18); // staked 70, pending 30
        vm.stopPrank();
        vm.prank(address(market));
        stakes.lock(alice, 60e18); // free 10
        address ben = makeAddr("ben");
        vm.expectEmit(true, true, true, true, address(stakes));
        emit IStakeManager.StakeSlashed(alice, address(market), ben, 50e18);
        vm.prank(address(market));
        uint256 s = stakes.slash(alice, 50e18, ben);
        assertEq(s, 50e18);
        IStakeManager.StakeInfo memory i = stakes.stakeInfo(alice);
        assertEq(i.staked, 50e18); // 70 - 10 free - 10 from locked
        assertEq(i.locked, 50e18);
        assertEq(i.pending, 0);
        assertEq(token.balanceOf(ben), 50e18);
        vm.prank(address(market));
        assertEq(stakes.slash(alice, 1000e18, ben), 50e18); // capped
        vm.expectRevert(IStakeManager.ZeroAddress.selector);
        vm.prank(address(market));
        stakes.slash(alice, 1, address(0));
        assertEq(token.balanceOf(address(stakes)), stakes.totalHeld());
    }

    function test_jail_blocksAndExpires() public {
        vm.expectEmit(true, false, false, true, address(stakes));
        emit IStakeManager.Jailed(alice, block.number + 10);
        vm.prank(address(jury));
        stakes.jail(alice, block.number + 10);
        assertTrue(stakes.isJailed(alice));
        vm.prank(address(jury));
        stakes.jail(alice, block.number + 5); // never shortens
        assertEq(stakes.stakeInfo(alice).jailedUntil, block.number + 10);
        vm.roll(block.number + 10);
        assertFalse(stakes.isJailed(alice));
    }

    function test_jurorPool_optInOut_weights() public {
        vm.startPrank(alice);
        stakes.deposit(70e18);
        vm.expectEmit(true, false, false, false, address(stakes));
        emit IStakeManager.JurorOptedIn(alice);
        stakes.optInJuror();
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.JurorPoolMembership.selector, alice, true));
        stakes.optInJuror();
        vm.stopPrank();
        (address[] memory a, uint256[] memory w) = stakes.jurorPool();
        assertEq(a.length, N_JURORS + 1);
        assertEq(a[N_JURORS], alice);
        assertEq(w[N_JURORS], 70e18);
        vm.prank(address(jury));
        stakes.jail(alice, block.number + 1);
        (, w) = stakes.jurorPool();
        assertEq(w[N_JURORS], 0, "jailed weight");

        vm.prank(pool[0]);
        stakes.optOutJuror(); // swap-remove: alice moves to slot 0
        (a,) = stakes.jurorPool();
        assertEq(a.length, N_JURORS);
        assertEq(a[0], alice);
        vm.startPrank(alice);
        vm.expectEmit(true, false, false, false, address(stakes));
        emit IStakeManager.JurorOptedOut(alice);
        stakes.optOutJuror();
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.JurorPoolMembership.selector, alice, false));
        stakes.optOutJuror();
        vm.stopPrank();
        assertFalse(stakes.stakeInfo(alice).juror);
    }

    function test_jurorPool_full_reverts() public {
        uint256 max = stakes.MAX_POOL();
        for (uint256 i = N_JURORS; i < max; ++i) {
            vm.prank(address(uint160(0x10000 + i)));
            stakes.optInJuror();
        }
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.JurorPoolFull.selector, max));
        vm.prank(alice);
        stakes.optInJuror();
    }

    function test_wire_onlyOwnerOnce_reverts() public {
        StakeManager s = new StakeManager(address(token), 5);
        vm.expectRevert(abi.encodeWithSelector(IStakeManager.NotOwner.selector, alice));
        vm.prank(alice);
        s.wire(alice, alice);
        vm.expectRevert(IStakeManager.ZeroAddress.selector);
        s.wire(address(0), alice);
        vm.expectEmit(false, false, false, true, address(s));
        emit IStakeManager.Wired(alice, address(market));
        s.wire(alice, address(market));
        assertTrue(s.isAuthorised(alice));
        assertFalse(s.isAuthorised(address(0)));
        vm.expectRevert(IStakeManager.AlreadyWired.selector);
        s.wire(alice, alice);
        vm.expectRevert(IStakeManager.ZeroAddress.selector);
        new StakeManager(address(0), 5);
        assertEq(s.token(), address(token));
        assertEq(s.unbondingBlocks(), 5);
        assertEq(s.owner(), address(this));
    }

    // ------------------------------------------------------------ devnet token and randomness

    function test_veriToken_mintOnlyOwner() public {
        token.mint(alice, 5);
        assertEq(token.balanceOf(alice), 100_000e18 + 5);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        token.mint(alice, 5);
    }

    function test_randomness_followsPrevrandaoAndSalt() public {
        vm.prevrandao(bytes32(uint256(1)));
        uint256 a = rng.randomWord("s");
        assertEq(a, uint256(keccak256(abi.encode(uint256(1), block.number, bytes32("s")))));
        assertTrue(a != rng.randomWord("t"), "salt matters");
        vm.prevrandao(bytes32(uint256(2)));
        assertTrue(a != rng.randomWord("s"), "prevrandao matters");
    }
}
