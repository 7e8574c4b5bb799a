// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IStakeManager} from "./interfaces/IStakeManager.sol";
import {ITaskMarket} from "./interfaces/ITaskMarket.sol";
import {IStepAdjudicator} from "./interfaces/IStepAdjudicator.sol";
import {Bounds} from "./libraries/Bounds.sol";
import {TokenPull} from "./libraries/TokenPull.sol";

/// @title StakeManager
/// @notice Stakes of nodes and jurors. See IStakeManager.
contract StakeManager is IStakeManager, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Most accounts the juror pool holds (bounds the draw's loop).
    uint256 public constant MAX_POOL = 256;

    struct Account {
        uint128 staked; // includes locked
        uint128 locked;
        uint128 pending;
        uint64 readyAt;
        uint64 jailedUntil;
        uint32 poolIndex; // 1-based position in _pool; 0 = not a juror
    }

    IERC20 private immutable _token;
    uint256 private immutable _unbondingBlocks;
    uint256 private immutable _minJurorStake;
    address private immutable _owner;
    address private _market;
    address private _jury;
    address private _referee;
    uint256 private _totalHeld;
    mapping(address account => Account) private _accounts;
    mapping(address account => mapping(bytes32 lockKey => uint256 amount)) private _locks;
    address[] private _pool;

    constructor(address token_, uint256 unbondingBlocks_, uint256 minJurorStake_) {
        if (token_ == address(0)) revert ZeroAddress();
        Bounds.check("unbondingBlocks", unbondingBlocks_, 1, Bounds.MAX_UNBONDING);
        Bounds.check("minJurorStake", minJurorStake_, 1, type(uint128).max);
        _token = IERC20(token_);
        _unbondingBlocks = unbondingBlocks_;
        _minJurorStake = minJurorStake_;
        _owner = msg.sender;
    }

    modifier onlyAuthorised() {
        if (msg.sender != _market && msg.sender != _jury && msg.sender != _referee) revert NotAuthorised(msg.sender);
        _;
    }

    /// @inheritdoc IStakeManager
    function wire(address market, address jury, address referee) external {
        if (msg.sender != _owner) revert NotOwner(msg.sender);
        if (_market != address(0)) revert AlreadyWired();
        if (market == address(0) || jury == address(0) || referee == address(0)) revert ZeroAddress();
        ITaskMarket m = ITaskMarket(market);
        if (m.stakeManager() != address(this) || jury == referee) revert WiringMismatch(market, jury);
        // INVARIANT: a withdrawal requested before a dispute can open outlasts that dispute, whichever
        // adjudicator the task has.
        uint256 longest = _checkedLongest(market, jury);
        uint256 other = _checkedLongest(market, referee);
        if (other > longest) longest = other;
        uint256 needed = longest + m.params().maxChallengeWindow;
        if (_unbondingBlocks <= needed) revert UnbondingTooShort(_unbondingBlocks, needed);
        _market = market;
        _jury = jury;
        _referee = referee;
        emit Wired(market, jury, referee);
    }

    /// @inheritdoc IStakeManager
    function deposit(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (_market == address(0)) revert NotWired();
        Account storage a = _accounts[msg.sender];
        a.staked += SafeCast.toUint128(amount);
        _totalHeld += amount;
        TokenPull.pullExact(_token, msg.sender, amount);
        emit StakeDeposited(msg.sender, amount);
    }

    /// @inheritdoc IStakeManager
    function requestWithdrawal(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Account storage a = _accounts[msg.sender];
        uint256 free = a.staked - a.locked;
        if (amount > free) revert InsufficientStake(msg.sender, free, amount);
        a.staked -= uint128(amount);
        a.pending += uint128(amount);
        uint256 readyAt = block.number + _unbondingBlocks;
        a.readyAt = SafeCast.toUint64(readyAt);
        if (a.poolIndex != 0 && a.staked < _minJurorStake) _leavePool(msg.sender, a);
        emit WithdrawalRequested(msg.sender, amount, readyAt);
    }

    /// @inheritdoc IStakeManager
    function withdraw() external nonReentrant {
        Account storage a = _accounts[msg.sender];
        uint256 amount = a.pending;
        if (amount == 0) revert NoPendingWithdrawal(msg.sender);
        if (block.number < a.readyAt) revert WithdrawalNotReady(a.readyAt, block.number);
        a.pending = 0;
        _totalHeld -= amount;
        _token.safeTransfer(msg.sender, amount);
        emit StakeWithdrawn(msg.sender, amount);
    }

    /// @inheritdoc IStakeManager
    function optInJuror() external {
        Account storage a = _accounts[msg.sender];
        if (a.poolIndex != 0) revert JurorPoolMembership(msg.sender, true);
        // INVARIANT: every seat in the pool is backed by minJurorStake (no free squatting).
        if (a.staked < _minJurorStake) revert JurorStakeTooLow(msg.sender, a.staked, _minJurorStake);
        if (_pool.length >= MAX_POOL) revert JurorPoolFull(MAX_POOL);
        _pool.push(msg.sender);
        a.poolIndex = uint32(_pool.length);
        emit JurorOptedIn(msg.sender);
    }

    /// @inheritdoc IStakeManager
    function optOutJuror() external {
        Account storage a = _accounts[msg.sender];
        if (a.poolIndex == 0) revert JurorPoolMembership(msg.sender, false);
        _leavePool(msg.sender, a);
    }

    /// @inheritdoc IStakeManager
    function evictJuror(address account) external {
        Account storage a = _accounts[account];
        if (a.poolIndex == 0) revert JurorPoolMembership(account, false);
        if (a.staked >= _minJurorStake) revert JurorStakeTooLow(account, a.staked, _minJurorStake);
        _leavePool(account, a);
    }

    /// @inheritdoc IStakeManager
    function lock(address account, bytes32 obligation, uint256 amount) external onlyAuthorised {
        Account storage a = _accounts[account];
        uint256 free = a.staked - a.locked;
        // INVARIANT: locked stake never exceeds staked.
        if (amount > free) revert InsufficientStake(account, free, amount);
        a.locked += uint128(amount);
        _locks[account][_lockKey(msg.sender, obligation)] += amount;
        emit StakeLocked(account, msg.sender, amount);
    }

    /// @inheritdoc IStakeManager
    function unlock(address account, bytes32 obligation, uint256 amount)
        external
        onlyAuthorised
        returns (uint256 released)
    {
        bytes32 key = _lockKey(msg.sender, obligation);
        uint256 held = _locks[account][key];
        released = amount > held ? held : amount;
        _locks[account][key] = held - released;
        _accounts[account].locked -= uint128(released);
        emit StakeUnlocked(account, msg.sender, released);
    }

    /// @inheritdoc IStakeManager
    function slash(address account, bytes32 obligation, uint256 amount, address beneficiary)
        external
        onlyAuthorised
        nonReentrant
        returns (uint256 slashed)
    {
        if (beneficiary == address(0)) revert ZeroAddress();
        Account storage a = _accounts[account];
        bytes32 key = _lockKey(msg.sender, obligation);
        uint256 own = _locks[account][key];
        // INVARIANT: a slash takes its own obligation's lock, then free stake, then the pending
        // withdrawal, and never another obligation's lock.
        uint256 fromLock = _min(amount, own);
        uint256 rest = amount - fromLock;
        uint256 fromFree = _min(rest, a.staked - a.locked);
        rest -= fromFree;
        uint256 fromPending = _min(rest, a.pending);
        slashed = fromLock + fromFree + fromPending;
        _locks[account][key] = own - fromLock;
        a.locked -= uint128(fromLock);
        a.staked -= uint128(fromLock + fromFree);
        a.pending -= uint128(fromPending);
        _totalHeld -= slashed;
        if (slashed != 0) _token.safeTransfer(beneficiary, slashed);
        emit StakeSlashed(account, msg.sender, beneficiary, slashed, fromLock, fromPending);
    }

    /// @inheritdoc IStakeManager
    function jail(address account, uint256 untilBlock) external onlyAuthorised {
        Account storage a = _accounts[account];
        if (untilBlock > a.jailedUntil) a.jailedUntil = SafeCast.toUint64(untilBlock);
        emit Jailed(account, a.jailedUntil);
    }

    /// @inheritdoc IStakeManager
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IStakeManager
    function unbondingBlocks() external view returns (uint256) {
        return _unbondingBlocks;
    }

    /// @inheritdoc IStakeManager
    function minJurorStake() external view returns (uint256) {
        return _minJurorStake;
    }

    /// @inheritdoc IStakeManager
    function lockedFor(address account, address by, bytes32 obligation) external view returns (uint256) {
        return _locks[account][_lockKey(by, obligation)];
    }

    /// @inheritdoc IStakeManager
    function stakeInfo(address account) external view returns (StakeInfo memory info) {
        Account storage a = _accounts[account];
        info = StakeInfo(a.staked, a.locked, a.pending, a.readyAt, a.jailedUntil, a.poolIndex != 0);
    }

    /// @inheritdoc IStakeManager
    function freeStake(address account) external view returns (uint256) {
        Account storage a = _accounts[account];
        return a.staked - a.locked;
    }

    /// @inheritdoc IStakeManager
    function isJailed(address account) public view returns (bool) {
        return block.number < _accounts[account].jailedUntil;
    }

    /// @inheritdoc IStakeManager
    function isAuthorised(address caller) external view returns (bool) {
        return caller != address(0) && (caller == _market || caller == _jury || caller == _referee);
    }

    /// @inheritdoc IStakeManager
    function jurorPool() external view returns (address[] memory accounts, uint256[] memory weights) {
        uint256 n = _pool.length;
        accounts = new address[](n);
        weights = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            address who = _pool[i];
            Account storage a = _accounts[who];
            accounts[i] = who;
            weights[i] = block.number < a.jailedUntil ? 0 : a.staked - a.locked;
        }
    }

    /// @inheritdoc IStakeManager
    function totalHeld() external view returns (uint256) {
        return _totalHeld;
    }

    /// @notice The owner (may call wire once).
    function owner() external view returns (address) {
        return _owner;
    }

    /// @dev The longest dispute of `adjudicator`, which must settle for `market` on this StakeManager.
    function _checkedLongest(address market, address adjudicator) private view returns (uint256) {
        IStepAdjudicator a = IStepAdjudicator(adjudicator);
        if (a.stakeManager() != address(this) || a.market() != market) revert WiringMismatch(market, adjudicator);
        return a.longestDispute();
    }

    function _leavePool(address account, Account storage a) private {
        uint256 idx = a.poolIndex;
        address last = _pool[_pool.length - 1];
        _pool[idx - 1] = last;
        _accounts[last].poolIndex = uint32(idx);
        _pool.pop();
        a.poolIndex = 0;
        emit JurorOptedOut(account);
    }

    /// @dev Locks are per (authorised caller, obligation): one contract cannot free another's.
    function _lockKey(address by, bytes32 obligation) private pure returns (bytes32) {
        return keccak256(abi.encode(by, obligation));
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
