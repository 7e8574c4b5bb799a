// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice What a referee arena (contracts/test/invariant/Referee.invariant.t.sol) lets the
///         invariant fuzzer do to its one game.
interface IRefereeArena {
    /// @notice The fuzzed party makes a move drawn from `seed` (or tries one the contract refuses).
    function arenaOpponent(uint256 seed) external;

    /// @notice The honest party makes its move if it is its turn.
    function arenaHonest() external;

    /// @notice Time passes: the honest party first answers if it is its turn (honest parties
    ///         never miss a deadline), then `blocks` blocks go by.
    function arenaWait(uint256 blocks) external;

    /// @notice Anyone calls `resolve` (it reverts unless the party to move is past its deadline).
    function arenaResolve() external;
}

/// @notice The invariant fuzzer's target: a thin forwarder, so that the arena (the test
///         contract, which holds the fixture and is too large to be deployed with `new`) plays.
contract RefereeArenaHandler {
    IRefereeArena internal immutable arena;

    constructor(IRefereeArena arena_) {
        arena = arena_;
    }

    function opponent(uint256 seed) external {
        arena.arenaOpponent(seed);
    }

    function honest() external {
        arena.arenaHonest();
    }

    function wait(uint256 blocks) external {
        arena.arenaWait(blocks);
    }

    function resolve() external {
        arena.arenaResolve();
    }
}
