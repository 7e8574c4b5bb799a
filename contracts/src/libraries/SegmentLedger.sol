// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title SegmentLedger
/// @notice A task's segment commitments, the finality rule (written once) and the pro-rata payout
///         of a final prefix when a task is cancelled.
library SegmentLedger {
    using SafeERC20 for IERC20;

    struct Segment {
        bytes32 traceRoot;
        bytes32 endStateHash;
        address node;
        uint64 committedAt;
        uint32 openDisputes;
    }

    /// @notice The finality rule: the number of leading segments among the first `upTo` (capped at
    ///         `next`, the committed count) that are committed, whose challenge window has passed,
    ///         and with no open dispute on them or an earlier segment (windows close in commit order).
    function finalPrefix(mapping(uint256 k => Segment) storage segs, uint256 next, uint256 window, uint256 upTo)
        internal
        view
        returns (uint256 n)
    {
        if (upTo > next) upTo = next;
        while (n < upTo) {
            Segment storage seg = segs[n];
            if (seg.openDisputes != 0 || block.number <= uint256(seg.committedAt) + window) break;
            ++n;
        }
    }

    /// @notice Pays each committer of segments [0, done) `reward / count` per segment (one transfer
    ///         per run of consecutive segments by the same node). Returns the total paid.
    function payPrefix(mapping(uint256 k => Segment) storage segs, IERC20 token, uint256 done, uint256 count, uint256 reward)
        internal
        returns (uint256 paid)
    {
        uint256 k;
        while (k < done) {
            address committer = segs[k].node;
            uint256 run = k;
            while (run < done && segs[run].node == committer) ++run;
            uint256 due = reward * (run - k) / count;
            paid += due;
            token.safeTransfer(committer, due);
            k = run;
        }
    }
}
