// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IndexMaps
/// @notice An input slot's index map (prover/trace/kinds.py MapLevel): pure data movement folded
///         into the consumer (a GATHER level's position depends on an id read from another slot:
///         `walk` stops there so that the caller opens the id). In an op's attrs, after the kind's own attrs, each slot has
///         [rank, dims[rank], nLevels, levels...]; a STRIDED level is [0, offset, rank,
///         sizes[rank], strides[rank]] (unravel q row-major over sizes, return offset +
///         sum(i_k * stride_k)); a GATHER level is [1, idsSlot, rowLen].
library IndexMaps {
    uint256 internal constant STRIDED = 0;
    uint256 internal constant GATHER = 1;

    /// @notice The attrs do not hold a well-formed map for `slot`.
    error MalformedMap(uint256 slot, uint256 at);
    /// @notice `position` met a GATHER level: its position depends on the ids (use `walk`).
    error UnsupportedMap(uint256 slot);

    /// @notice Slot `slot`'s map through its levels from level `from`: STRIDED levels are
    ///         applied; at a GATHER level the walk stops and returns its ids slot and row length
    ///         with `q` the position reached before it (the caller reads id = ids[q / rowLen] and
    ///         goes on from level + 1 with id * rowLen + q % rowLen). `level` = the slot's level
    ///         count when the walk reached the referenced tensor (then `q` is its position).
    function walk(int64[] calldata attrs, uint256 start, uint256 slot, uint256 q, uint256 from)
        internal
        pure
        returns (uint256, uint256 level, uint256 idsSlot, uint256 rowLen)
    {
        uint256 p = start;
        for (uint256 i; i < slot; ++i) {
            p = _skipSlot(attrs, p, i);
        }
        p += 1 + _at(attrs, p, slot); // rank and logical dims
        uint256 levels = _at(attrs, p, slot);
        ++p;
        for (level = 0; level < levels; ++level) {
            bool strided = _at(attrs, p, slot) == STRIDED;
            if (level < from) {
                p += strided ? 3 + 2 * _at(attrs, p + 2, slot) : 3;
            } else if (strided) {
                (q, p) = _strided(attrs, p, slot, q);
            } else {
                if (_at(attrs, p, slot) != GATHER) revert MalformedMap(slot, p);
                rowLen = _at(attrs, p + 2, slot);
                if (rowLen == 0) revert MalformedMap(slot, p + 2);
                return (q, level, _at(attrs, p + 1, slot), rowLen);
            }
        }
        return (q, levels, 0, 0);
    }

    /// @notice Position in the referenced tensor of logical position `q` of input `slot` whose
    ///         map has no GATHER level (reverts UnsupportedMap at one: use `walk`).
    function position(int64[] calldata attrs, uint256 start, uint256 slot, uint256 q) internal pure returns (uint256) {
        (uint256 pos,, uint256 idsSlot, uint256 rowLen) = walk(attrs, start, slot, q, 0);
        if (rowLen != 0 || idsSlot != 0) revert UnsupportedMap(slot);
        return pos;
    }

    function _strided(int64[] calldata attrs, uint256 p, uint256 slot, uint256 q)
        private
        pure
        returns (uint256, uint256)
    {
        int256 pos = int256(_at(attrs, p + 1, slot));
        uint256 rank = _at(attrs, p + 2, slot);
        uint256 sizes = p + 3;
        if (sizes + 2 * rank > attrs.length) revert MalformedMap(slot, p);
        for (uint256 d = rank; d > 0; --d) {
            uint256 size = _at(attrs, sizes + d - 1, slot);
            if (size == 0) revert MalformedMap(slot, sizes + d - 1);
            pos += int256(q % size) * attrs[sizes + rank + d - 1];
            q /= size;
        }
        if (pos < 0) revert MalformedMap(slot, p);
        return (uint256(pos), sizes + 2 * rank);
    }

    /// @dev The attrs index just past slot `slot`'s entry starting at `p`.
    function _skipSlot(int64[] calldata attrs, uint256 p, uint256 slot) private pure returns (uint256) {
        p += 1 + _at(attrs, p, slot);
        uint256 levels = _at(attrs, p, slot);
        ++p;
        for (uint256 l; l < levels; ++l) {
            p += _at(attrs, p, slot) == STRIDED ? 3 + 2 * _at(attrs, p + 2, slot) : 3;
        }
        return p;
    }

    /// @dev attrs[p] as a non-negative integer.
    function _at(int64[] calldata attrs, uint256 p, uint256 slot) private pure returns (uint256) {
        if (p >= attrs.length || attrs[p] < 0) revert MalformedMap(slot, p);
        return uint256(uint64(attrs[p]));
    }
}
