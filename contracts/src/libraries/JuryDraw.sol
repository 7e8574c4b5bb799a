// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title JuryDraw
/// @notice Stake-weighted sampling without replacement, and the strict-majority tally.
library JuryDraw {
    /// @notice Draws up to `count` distinct indexes of `weights` (zero weights are never drawn), each
    ///         draw with probability proportional to its weight among those not drawn yet.
    ///         `weights` is consumed (drawn entries are zeroed).
    function sample(uint256 seed, uint256[] memory weights, uint256 count)
        internal
        pure
        returns (uint256[] memory picked)
    {
        uint256 total;
        uint256 nonZero;
        for (uint256 i; i < weights.length; ++i) {
            if (weights[i] != 0) {
                total += weights[i];
                ++nonZero;
            }
        }
        if (count > nonZero) count = nonZero;
        picked = new uint256[](count);
        for (uint256 d; d < count; ++d) {
            uint256 r = uint256(keccak256(abi.encode(seed, d))) % total;
            uint256 i;
            // INVARIANT: r < total, so the walk stops on an index with non-zero weight.
            while (r >= weights[i]) {
                r -= weights[i];
                ++i;
            }
            picked[d] = i;
            total -= weights[i];
            weights[i] = 0;
        }
    }

    /// @notice The leaf revealed by a strict majority of `jurorCount` drawn jurors, if any.
    ///         `leaves[i]` is valid only where `revealed[i]`.
    function majority(bytes32[] memory leaves, bool[] memory revealed, uint256 jurorCount)
        internal
        pure
        returns (bool found, bytes32 leaf)
    {
        uint256 n = leaves.length;
        for (uint256 i; i < n; ++i) {
            if (!revealed[i]) continue;
            uint256 votes;
            for (uint256 j = i; j < n; ++j) {
                if (revealed[j] && leaves[j] == leaves[i]) ++votes;
            }
            // INVARIANT: a decision needs a strict majority of the drawn jurors, silent ones included.
            if (votes * 2 > jurorCount) return (true, leaves[i]);
        }
    }
}
