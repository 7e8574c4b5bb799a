// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {TraceMerkle} from "../../src/libraries/TraceMerkle.sol";
import {TraceMerkleBuilder} from "../support/TraceMerkleBuilder.sol";

/// @notice The storage and log layouts considered for TaskMarket.commitSegment's record, measured
///         side by side (issue #14: <= 150k gas per transaction with 64 leaves available). Each
///         option does what differs between them: rebuild the root from the calldata leaves, write
///         the segment record, emit the event. The task bookkeeping every option shares (status,
///         node, order and deadline checks, nextSegment and due-block writes) is left out, so the
///         real call costs a constant more (175,812 - baseline; docs/protocol.md "Gas").
///         Run: forge test --match-path contracts/test/gas/CommitSegmentOptions.t.sol --isolate -vv
abstract contract CommitOption {
    error Mismatch();

    function commit(uint256 taskId, uint256 k, bytes32 traceRoot, bytes32 endStateHash, string calldata ckpt,
        string calldata leavesCid, bytes32[] calldata leaves) external virtual;

    function _root(bytes32[] calldata leaves, bytes32 traceRoot) internal pure {
        if (TraceMerkle.rootCalldata(leaves) != traceRoot) revert Mismatch();
    }
}

/// @dev Today: three slots (traceRoot, endStateHash, node|committedAt|openDisputes), leaves as bytes32[].
contract ThreeSlots is CommitOption {
    struct Seg {
        bytes32 traceRoot;
        bytes32 endStateHash;
        address node;
        uint64 committedAt;
        uint32 openDisputes;
    }

    event SegmentCommitted(uint256 indexed taskId, uint256 indexed k, bytes32 traceRoot, bytes32 endStateHash,
        string checkpointCid, string leavesCid, address indexed node, bytes32[] leaves);

    mapping(uint256 => mapping(uint256 => Seg)) internal _segs;

    function commit(uint256 taskId, uint256 k, bytes32 traceRoot, bytes32 endStateHash, string calldata ckpt,
        string calldata leavesCid, bytes32[] calldata leaves) external override {
        _root(leaves, traceRoot);
        Seg storage s = _segs[taskId][k];
        s.traceRoot = traceRoot;
        s.endStateHash = endStateHash;
        s.node = msg.sender;
        s.committedAt = uint64(block.number);
        emit SegmentCommitted(taskId, k, traceRoot, endStateHash, ckpt, leavesCid, msg.sender, leaves);
    }
}

/// @dev Three slots, the leaves logged as one `bytes` blob (abi.encodePacked) instead of an array.
contract ThreeSlotsBlob is CommitOption {
    struct Seg {
        bytes32 traceRoot;
        bytes32 endStateHash;
        address node;
        uint64 committedAt;
        uint32 openDisputes;
    }

    event SegmentCommitted(uint256 indexed taskId, uint256 indexed k, bytes32 traceRoot, bytes32 endStateHash,
        string checkpointCid, string leavesCid, address indexed node, bytes leaves);

    mapping(uint256 => mapping(uint256 => Seg)) internal _segs;

    function commit(uint256 taskId, uint256 k, bytes32 traceRoot, bytes32 endStateHash, string calldata ckpt,
        string calldata leavesCid, bytes32[] calldata leaves) external override {
        _root(leaves, traceRoot);
        Seg storage s = _segs[taskId][k];
        s.traceRoot = traceRoot;
        s.endStateHash = endStateHash;
        s.node = msg.sender;
        s.committedAt = uint64(block.number);
        emit SegmentCommitted(taskId, k, traceRoot, endStateHash, ckpt, leavesCid, msg.sender, abi.encodePacked(leaves));
    }
}

/// @dev Two slots: keccak(traceRoot, endStateHash) and node|committedAt|openDisputes; callers pass
///      the roots back (checked against the hash) when they dispute.
contract TwoSlots is CommitOption {
    struct Seg {
        bytes32 roots;
        address node;
        uint64 committedAt;
        uint32 openDisputes;
    }

    event SegmentCommitted(uint256 indexed taskId, uint256 indexed k, bytes32 traceRoot, bytes32 endStateHash,
        string checkpointCid, string leavesCid, address indexed node, bytes32[] leaves);

    mapping(uint256 => mapping(uint256 => Seg)) internal _segs;

    function commit(uint256 taskId, uint256 k, bytes32 traceRoot, bytes32 endStateHash, string calldata ckpt,
        string calldata leavesCid, bytes32[] calldata leaves) external override {
        _root(leaves, traceRoot);
        Seg storage s = _segs[taskId][k];
        s.roots = keccak256(abi.encode(traceRoot, endStateHash));
        s.node = msg.sender;
        s.committedAt = uint64(block.number);
        emit SegmentCommitted(taskId, k, traceRoot, endStateHash, ckpt, leavesCid, msg.sender, leaves);
    }
}

/// @dev One slot: a 152-bit digest of (traceRoot, endStateHash) | committedAt (uint40) | epoch
///      (uint32) | openDisputes (uint32); the node is found by epoch (one record per epoch).
contract OneSlot is CommitOption {
    struct Seg {
        bytes19 digest;
        uint40 committedAt;
        uint32 epoch;
        uint32 openDisputes;
    }

    event SegmentCommitted(uint256 indexed taskId, uint256 indexed k, bytes32 traceRoot, bytes32 endStateHash,
        string checkpointCid, string leavesCid, address indexed node, bytes32[] leaves);

    mapping(uint256 => mapping(uint256 => Seg)) internal _segs;

    function commit(uint256 taskId, uint256 k, bytes32 traceRoot, bytes32 endStateHash, string calldata ckpt,
        string calldata leavesCid, bytes32[] calldata leaves) external override {
        _root(leaves, traceRoot);
        _segs[taskId][k] = Seg(bytes19(keccak256(abi.encode(traceRoot, endStateHash))), uint40(block.number), 1, 0);
        emit SegmentCommitted(taskId, k, traceRoot, endStateHash, ckpt, leavesCid, msg.sender, leaves);
    }
}

/// @dev Three slots, no leaves in the log (they stay in the calldata only).
contract ThreeSlotsNoLog is CommitOption {
    struct Seg {
        bytes32 traceRoot;
        bytes32 endStateHash;
        address node;
        uint64 committedAt;
        uint32 openDisputes;
    }

    event SegmentCommitted(uint256 indexed taskId, uint256 indexed k, bytes32 traceRoot, bytes32 endStateHash,
        string checkpointCid, string leavesCid, address indexed node);

    mapping(uint256 => mapping(uint256 => Seg)) internal _segs;

    function commit(uint256 taskId, uint256 k, bytes32 traceRoot, bytes32 endStateHash, string calldata ckpt,
        string calldata leavesCid, bytes32[] calldata leaves) external override {
        _root(leaves, traceRoot);
        Seg storage s = _segs[taskId][k];
        s.traceRoot = traceRoot;
        s.endStateHash = endStateHash;
        s.node = msg.sender;
        s.committedAt = uint64(block.number);
        emit SegmentCommitted(taskId, k, traceRoot, endStateHash, ckpt, leavesCid, msg.sender);
    }
}

contract CommitSegmentOptionsTest is Test {
    string internal constant CK = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
    string internal constant LV = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

    function _measure(CommitOption o, string memory label) internal returns (uint256 used) {
        bytes32[] memory l = new bytes32[](64);
        for (uint256 i; i < 64; ++i) l[i] = TraceMerkle.leaf(1, i + 1, keccak256(abi.encode("state", i + 1)));
        bytes32 root = TraceMerkleBuilder.computeRoot(l);
        uint256 g = gasleft();
        o.commit(1, 0, root, keccak256("end"), CK, LV, l);
        used = g - gasleft();
        emit log_named_uint(label, used);
    }

    /// @dev Baseline: three slots and the leaves array in the log (what TaskMarket does today).
    function test_commit_threeSlots_succeeds() public {
        _measure(new ThreeSlots(), "three slots, leaves bytes32[] in the log");
    }

    /// @dev The leaves as one bytes blob in the log.
    function test_commit_threeSlotsBlob_succeeds() public {
        _measure(new ThreeSlotsBlob(), "three slots, leaves as one bytes blob in the log");
    }

    /// @dev One hash of the two roots instead of two slots.
    function test_commit_twoSlots_succeeds() public {
        _measure(new TwoSlots(), "two slots (hash of the roots; node|committedAt|openDisputes)");
    }

    /// @dev One packed slot per segment.
    function test_commit_oneSlot_succeeds() public {
        _measure(new OneSlot(), "one slot (152-bit digest|committedAt|epoch|openDisputes)");
    }

    /// @dev Leaves in calldata only (a contract wallet could hide them inside another call).
    function test_commit_threeSlotsNoLog_succeeds() public {
        _measure(new ThreeSlotsNoLog(), "three slots, leaves in calldata only");
    }
}
