// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IStakeManager
/// @notice Holds staked tokens. Nodes and jurors deposit; authorised contracts (the task market and
///         its two adjudicators, the jury and the referee) lock, unlock, slash and jail. Withdrawals go through an unbonding delay
///         (in blocks). Stakers may opt into the juror pool; a juror's weight is its free stake.
interface IStakeManager {
    /// @notice Amount is zero.
    error ZeroAmount();
    /// @notice `account` has `available` free stake, `needed` was asked for.
    error InsufficientStake(address account, uint256 available, uint256 needed);
    /// @notice No withdrawal is pending for `account`.
    error NoPendingWithdrawal(address account);
    /// @notice The pending withdrawal unlocks at block `readyAt`; now is `nowBlock`.
    error WithdrawalNotReady(uint256 readyAt, uint256 nowBlock);
    /// @notice `caller` is not an authorised contract.
    error NotAuthorised(address caller);
    /// @notice `caller` is not the owner.
    error NotOwner(address caller);
    /// @notice The one-time wiring call was already made.
    error AlreadyWired();
    /// @notice `account` is already in (or not in) the juror pool.
    error JurorPoolMembership(address account, bool isMember);
    /// @notice The juror pool holds `max` accounts.
    error JurorPoolFull(uint256 max);
    /// @notice A zero address was given.
    error ZeroAddress();
    /// @notice Deposits wait for the one-time wiring (so no stake sits where nothing can slash it).
    error NotWired();
    /// @notice `market` and `adjudicator` do not point at each other and at this StakeManager (or the
    ///         jury and the referee are the same contract).
    error WiringMismatch(address market, address adjudicator);
    /// @notice The unbonding delay `unbonding` does not exceed `needed` (the longest dispute plus the
    ///         longest challenge window), so a node could withdraw before a dispute slashes it.
    error UnbondingTooShort(uint256 unbonding, uint256 needed);
    /// @notice `account` has `stake` at stake; joining (or staying in) the juror pool needs `min`.
    error JurorStakeTooLow(address account, uint256 stake, uint256 min);

    /// @notice `account` deposited `amount`.
    event StakeDeposited(address indexed account, uint256 amount);
    /// @notice `account` asked to withdraw `amount`, ready at block `readyAt`.
    event WithdrawalRequested(address indexed account, uint256 amount, uint256 readyAt);
    /// @notice `account` withdrew `amount`.
    event StakeWithdrawn(address indexed account, uint256 amount);
    /// @notice `by` locked `amount` of `account`'s stake.
    event StakeLocked(address indexed account, address indexed by, uint256 amount);
    /// @notice `by` unlocked `amount` of `account`'s stake.
    event StakeUnlocked(address indexed account, address indexed by, uint256 amount);
    /// @notice `by` slashed `amount` of `account`'s stake and sent it to `beneficiary`: `fromLocked`
    ///         from the obligation's lock, `fromPending` from the pending withdrawal, the rest from
    ///         free stake (so an indexer can follow every position from events alone).
    event StakeSlashed(
        address indexed account,
        address indexed by,
        address indexed beneficiary,
        uint256 amount,
        uint256 fromLocked,
        uint256 fromPending
    );
    /// @notice `account` is jailed until block `untilBlock` (it cannot claim tasks or be drawn).
    event Jailed(address indexed account, uint256 untilBlock);
    /// @notice `account` joined the juror pool.
    event JurorOptedIn(address indexed account);
    /// @notice `account` left the juror pool (opted out, withdrew below the minimum, or was evicted).
    event JurorOptedOut(address indexed account);
    /// @notice The owner authorised `market` and its adjudicators `jury` and `referee` (once).
    event Wired(address market, address jury, address referee);

    /// @notice Stake of one account (`locked` sums every obligation's lock).
    struct StakeInfo {
        uint256 staked; // includes locked
        uint256 locked;
        uint256 pending; // requested for withdrawal, not yet withdrawn
        uint256 readyAt; // block from which `pending` can be withdrawn
        uint256 jailedUntil;
        bool juror;
    }

    /// @notice Deposits `amount` tokens (transferFrom the caller; approve first).
    function deposit(uint256 amount) external;
    /// @notice Moves `amount` of free stake to a pending withdrawal, ready after the unbonding delay.
    ///         A new request adds to the pending amount and restarts the delay.
    function requestWithdrawal(uint256 amount) external;
    /// @notice Withdraws the whole pending amount once the unbonding delay has passed.
    function withdraw() external;
    /// @notice Joins the juror pool; needs at least minJurorStake at stake.
    function optInJuror() external;
    /// @notice Leaves the juror pool.
    function optOutJuror() external;
    /// @notice Anyone: removes `account` from the juror pool once its stake fell below minJurorStake.
    function evictJuror(address account) external;

    /// @notice Locks `amount` of `account`'s free stake for the caller's `obligation` (authorised
    ///         contracts only). Each (caller, obligation) lock is separate: nothing else frees it.
    function lock(address account, bytes32 obligation, uint256 amount) external;
    /// @notice Unlocks up to `amount` of the caller's `obligation` lock on `account`; returns the
    ///         amount released (authorised contracts only).
    function unlock(address account, bytes32 obligation, uint256 amount) external returns (uint256 released);
    /// @notice Slashes up to `amount` of `account`: the caller's `obligation` lock first, then free
    ///         stake, then the pending withdrawal; never another obligation's lock. Transfers it to
    ///         `beneficiary` (authorised contracts only). Returns the amount slashed.
    function slash(address account, bytes32 obligation, uint256 amount, address beneficiary)
        external
        returns (uint256 slashed);
    /// @notice Jails `account` until block `untilBlock` (authorised contracts only; never shortens).
    function jail(address account, uint256 untilBlock) external;
    /// @notice One-time wiring by the owner: authorises the task market and both its adjudicators
    ///         (the JuryAdjudicator of tasks without a step graph, the OneStepAdjudicator of tasks
    ///         with one), after checking that they point at each other and at this contract, and
    ///         that the unbonding delay outlasts the longer of their longest disputes.
    function wire(address market, address jury, address referee) external;

    /// @notice The staking token.
    function token() external view returns (address);
    /// @notice Unbonding delay in blocks.
    function unbondingBlocks() external view returns (uint256);
    /// @notice Stake a juror needs to join and stay in the pool.
    function minJurorStake() external view returns (uint256);
    /// @notice What `by`'s `obligation` holds locked of `account`.
    function lockedFor(address account, address by, bytes32 obligation) external view returns (uint256);

    /// @notice Stake of `account`.
    function stakeInfo(address account) external view returns (StakeInfo memory);
    /// @notice Free stake (staked minus locked) of `account`.
    function freeStake(address account) external view returns (uint256);
    /// @notice Whether `account` is jailed now.
    function isJailed(address account) external view returns (bool);
    /// @notice Whether `caller` is authorised.
    function isAuthorised(address caller) external view returns (bool);
    /// @notice Juror pool with each member's weight now (free stake; 0 when jailed).
    function jurorPool() external view returns (address[] memory accounts, uint256[] memory weights);
    /// @notice Sum of all staked + pending tokens (what this contract must hold).
    function totalHeld() external view returns (uint256);
}
