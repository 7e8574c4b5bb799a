// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ITaskMarket} from "../interfaces/ITaskMarket.sol";
import {TaskId, SegmentRoots} from "../types/Ids.sol";

/// @title SegmentLedger
/// @notice A task's segment commitments, the finality rule (written once) and the pro-rata payout
///         of a final prefix when a task is cancelled.
/// @dev One storage slot per segment (issue #14: commitSegment <= 150k gas with its 64 leaves in
///      the log): the roots are kept as a 152-bit digest (SegmentCommitted carries them, and
///      callers pass them back), and the committer as the epoch whose node the market records
///      once per claim. 152 + 40 + 32 + 32 = 256 bits.
library SegmentLedger {
    using SafeERC20 for IERC20;

    struct Segment {
        /// @dev digest(traceRoot, endStateHash) of the current commitment.
        bytes19 digest;
        /// @dev Block of the commitment (uint40 lasts ~35,000 years at one block a second).
        uint40 committedAt;
        /// @dev The task epoch it was committed in.
        uint32 epoch;
        /// @dev Unresolved disputes on this segment (of any of its commitments).
        uint32 openDisputes;
    }

    /// @notice The digest a segment record keeps of its two roots: the first 19 bytes of
    ///         keccak256(abi.encode(traceRoot, endStateHash)). Finding a second pair for a given
    ///         digest costs ~2^152 hashes; a committer that wants two pairs with one digest pays the
    ///         birthday bound, ~2^76, and gains nothing: it cannot choose which pair others pass.
    function digest(bytes32 traceRoot, bytes32 endStateHash) internal pure returns (bytes19) {
        return bytes19(keccak256(abi.encode(traceRoot, endStateHash)));
    }

    /// @notice Segment `k`'s record, if it is committed (`k < next`) and its current commitment
    ///         holds `roots`; reverts SegmentNotCommitted or SegmentRootsMismatch otherwise.
    function committed(
        mapping(uint256 k => Segment) storage segs,
        TaskId taskId,
        uint256 next,
        uint256 k,
        SegmentRoots calldata roots
    ) internal view returns (Segment storage seg) {
        if (k >= next) revert ITaskMarket.SegmentNotCommitted(taskId, k);
        seg = segs[k];
        // INVARIANT: whoever acts on a commitment names its roots, and they are the committed ones.
        if (seg.digest != digest(roots.traceRoot, roots.endStateHash)) {
            revert ITaskMarket.SegmentRootsMismatch(taskId, k);
        }
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
    ///         per run of consecutive segments by the same node; the committer of a segment is the
    ///         node of the epoch it was committed in). Returns the total paid.
    function payPrefix(
        mapping(uint256 k => Segment) storage segs,
        mapping(uint32 epoch => address node) storage nodes,
        IERC20 token,
        uint256 done,
        uint256 count,
        uint256 reward
    ) internal returns (uint256 paid) {
        uint256 k;
        while (k < done) {
            address committer = nodes[segs[k].epoch];
            uint256 run = k + 1;
            while (run < done && nodes[segs[run].epoch] == committer) ++run;
            uint256 due = reward * (run - k) / count;
            paid += due;
            token.safeTransfer(committer, due);
            k = run;
        }
    }
}
