// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice What a task's step graph fixes for the referee (docs/referee.md "Step graph"), set by
///         the requester before any node claims; every node checks it off-chain before claiming.
struct StepGraph {
    /// @dev sha256 tree over the op leaves.
    bytes32 graphRoot;
    /// @dev sha256 tree over the teacher's tensor commitments.
    bytes32 teacherRoot;
    /// @dev sha256 tree over sha256(row_t) for t = 1..totalSteps, row_t the step's scalars as
    ///      float32 little-endian (prover/trace/roots.py).
    bytes32 scalarRoot;
    /// @dev State hash v2 of the state before step 1 (what leaf 0 would hold).
    bytes32 initialState;
    /// @dev Where each state tensor after the step comes from: the sha256 tree over
    ///      sha256(abi.encodePacked(uint32 j, uint8 refKind, uint32 refIndex)), j < nState
    ///      (prover/trace/graph.py StepGraph.final).
    bytes32 finalRoot;
    /// @dev Ops per step (>= 2; the op tree is padded with zero hashes to a power of two).
    uint32 nOps;
    /// @dev State tensors per state (the state tree has nState + 1 leaves).
    uint16 nState;
    /// @dev Teacher tensors.
    uint16 nTeacher;
    /// @dev The task's totalSteps (the scalar tree's leaves); must equal the task's.
    uint64 totalSteps;
    /// @dev The graph of step 1 (AdamW reads Const(0) moments there); zero: graphRoot.
    bytes32 graphRoot1;
    /// @dev The dataset's sampleRoot (prover/dataset.py): Batch(0) rows are opened against it.
    bytes32 sampleRoot;
    /// @dev The spec's seed and the dataset's sample count: the keccak-v2 schedule's key.
    uint64 seed;
    uint64 numSamples;
    /// @dev Rows per batch and tokens per row (the spec's batchSize and seqLen).
    uint32 batchSize;
    uint32 seqLen;
}

/// @notice Referee parameters, fixed at deployment (deploy/params.json "referee"). Time in blocks.
struct RefereeParams {
    /// @dev Bond a challenger escrows; a challenger that loses pays it to the node.
    uint128 challengeBond;
    /// @dev Blocks each move may take; the party that misses its move loses the game.
    uint64 moveBlocks;
    /// @dev Blocks a node that lost a game cannot claim tasks.
    uint64 jailBlocks;
}

/// @notice Where a game stands; the party to move is fixed by the phase.
enum GamePhase {
    None,
    /// @dev Node: post the state hashes v2 before and after the step and its opRoot.
    Trace,
    /// @dev Node: reveal the two children of the current op-tree node.
    OpSplit,
    /// @dev Challenger: pick the node that differs (or, in the last round, pickFinal).
    OpPick,
    /// @dev Node: reveal the chunk root and shape behind op i's output commitment.
    Shape,
    /// @dev Node: reveal the two children of the current chunk-tree node.
    ChunkSplit,
    /// @dev Challenger: pick the child that differs.
    ChunkPick,
    /// @dev Node: reveal the 1 KiB chunk.
    Chunk,
    /// @dev Challenger: name an element of the chunk (and reveal op i's graph leaf).
    Element,
    /// @dev Node: post the element program's step results.
    Program,
    /// @dev Challenger: name a step; the contract recomputes it.
    Step,
    Resolved
}

/// @notice What a challenger claims of the state after the step besides the ops' outputs
///         (IOneStepAdjudicator.disputeState): a tensor the graph sets to a constant is not that
///         constant (proof: abi.encode(ConstProof)), or the scalar leaf is not the state before's
///         advanced by one step (abi.encode(ScalarProof)).
enum StateClaim {
    Const,
    Scalar
}

/// @notice Public view of a referee game.
struct GameView {
    uint256 taskId;
    uint256 segment;
    uint256 step;
    address node;
    address challenger;
    uint32 taskEpoch;
    GamePhase phase;
    /// @dev Block after which the party to move loses (resolve).
    uint256 deadline;
    /// @dev True when the node is to move.
    bool nodeToMove;
    bytes32 nodeLeaf;
    bytes32 stateBefore;
    bytes32 stateAfter;
    bytes32 opRoot;
    /// @dev The tree node under dispute (op-tree or chunk-tree), or the op's output commitment.
    bytes32 cursor;
    /// @dev Levels left in the current bisection; index is the path so far (top bit first).
    uint256 depthLeft;
    uint256 index;
    uint256 opIndex;
    uint256 element;
    uint32 claimedBits;
    uint256 programLength;
}
