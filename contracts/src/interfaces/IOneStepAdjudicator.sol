// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IStepAdjudicator} from "./IStepAdjudicator.sol";
import {TaskId, DisputeId, Outcome} from "../types/Ids.sol";
import {StepGraph, RefereeParams, GamePhase, GameView, StateClaim} from "../types/RefereeTypes.sol";
import {StepOp} from "../referee/StepOp.sol";

/// @notice A tensor opened down to one chunk: its chunk root and shape (bound into its commit),
///         the proof of that commit where the input reference points (state before the step,
///         opRoot, teacherRoot; empty for the scalar table, whose commit is scalarRoot), and one
///         chunk with its proof under the root.
struct Opening {
    bytes32 root;
    uint32[] dims;
    bytes32[] commitProof;
    bytes chunk;
    bytes32[] chunkProof;
}

/// @notice State tensor `slot` after the step is, by the graph's final refs (`finalProof` under
///         finalRoot), state tensor `from` before it, unchanged; `afterLeaf` and `beforeLeaf` are
///         their commits in the states after and before the step, with their proofs.
struct KeptProof {
    uint256 slot;
    uint256 from;
    bytes32[] finalProof;
    bytes32 afterLeaf;
    bytes32[] afterProof;
    bytes32 beforeLeaf;
    bytes32[] beforeProof;
}

/// @notice State tensor `slot` after the step is, by the graph's final refs (`finalProof` under
///         finalRoot), the constant `bits` in the shape of the same tensor before the step
///         (`beforeRoot`, `dims`, `beforeProof` under the state before); `afterLeaf` is its commit
///         in the node's state after (`afterProof`).
struct ConstProof {
    uint256 slot;
    uint32 bits;
    bytes32[] finalProof;
    bytes32 beforeRoot;
    uint32[] dims;
    bytes32[] beforeProof;
    bytes32 afterLeaf;
    bytes32[] afterProof;
}

/// @notice The scalar leaf of the state before the step (its preimage: step, sha256 of the
///         canonical RNG JSON, data cursor; `beforeProof` under the state before) and the node's
///         scalar leaf after it (`afterLeaf`, `afterProof` under the state after).
struct ScalarProof {
    uint64 step;
    bytes32 rngDigest;
    uint64 cursor;
    bytes32[] beforeProof;
    bytes32 afterLeaf;
    bytes32[] afterProof;
}

/// @title IOneStepAdjudicator
/// @notice IStepAdjudicator settled by the referee game (docs/referee.md "The game"): the node
///         commits to its trace of the disputed step, a bisection narrows it to one op, one chunk,
///         one element and one scalar step, and the contract recomputes that step with Float32.
///         Every move has a deadline of moveBlocks; resolve() after it makes the party to move
///         lose. The loser pays: a node is slashed as in a lost jury dispute and jailed, a
///         challenger's bond goes to the node. Payouts are credited and pulled with claimPayout().
///         Only tasks created with a step graph (TaskMarket.createTaskWithGraph) are settled here;
///         the market's JuryAdjudicator settles the others.
interface IOneStepAdjudicator is IStepAdjudicator {
    error ZeroAddress();
    error NothingOwed(address account);
    /// @notice Task `taskId` has no step graph: its disputes go to a JuryAdjudicator deployment.
    error NoStepGraph(TaskId taskId);
    /// @notice Only the market registers a task's graph, once, in createTaskWithGraph.
    error GraphNotRegistrable(TaskId taskId);
    /// @notice The graph has fewer than two ops, no state tensor, a zero root, or no dataset
    ///         (sampleRoot, numSamples, batchSize, seqLen: the keccak-v2 schedule's inputs).
    error BadGraph(TaskId taskId);
    /// @notice The move is not allowed in phase `phase`.
    error WrongPhase(DisputeId disputeId, GamePhase phase);
    /// @notice `caller` is not the party to move.
    error NotYourMove(DisputeId disputeId, address caller);
    /// @notice The move's deadline passed at block `deadline`: call resolve.
    error MoveTooLate(DisputeId disputeId, uint256 deadline);
    /// @notice resolve before the deadline of the move at hand.
    error DeadlineNotPassed(DisputeId disputeId, uint256 deadline);
    /// @notice A revealed value does not hash to what was committed.
    error NotCommitted(DisputeId disputeId, bytes32 expected, bytes32 got);
    /// @notice The node's state before the step is not proven at step `step` of its trace.
    error StateBeforeNotProven(DisputeId disputeId, uint256 step);
    /// @notice A round reveals `expected` nodes (2^min(3, levels left)); `got` were given or named.
    error NodeCount(DisputeId disputeId, uint256 got, uint256 expected);
    /// @notice The picked leaf is tree padding and the node's value there is zero, as it must be.
    error PaddingAgrees(DisputeId disputeId, uint256 index);
    /// @notice `op` is not the graph's op `index`.
    error OpNotInGraph(DisputeId disputeId, uint256 index);
    /// @notice The graph's final refs do not make state tensor `slot` the output of op `opIndex`.
    error NotFinalOutput(DisputeId disputeId, uint256 slot, uint256 opIndex);
    /// @notice The state after the step holds op i's output at `slot`: nothing to dispute there.
    error StateOutAgrees(DisputeId disputeId, uint256 slot);
    /// @notice The state tensors' commits posted with the trace are not `nState + 1` leaves of stateAfter.
    error StateLeavesMismatch(DisputeId disputeId, bytes32 stateAfter);
    /// @notice The program must have `expected` results (4 bytes each), the last one the element.
    error ProgramMismatch(DisputeId disputeId, uint256 expected, uint256 got);
    /// @notice An operand's opening does not prove input `slot` element `index`.
    error InputNotProven(DisputeId disputeId, uint256 slot, uint256 index);
    /// @notice Input references of kind `refKind` are not checkable on-chain yet (batch rows).
    error UnsupportedInput(DisputeId disputeId, uint8 refKind);

    /// @notice The requester fixed the task's step graph.
    event StepGraphRegistered(TaskId indexed taskId, StepGraph graph);
    /// @notice The node committed to its trace of the disputed step.
    event TracePosted(
        DisputeId indexed disputeId, bytes32 stateBefore, bytes32 stateAfter, bytes32 opRoot, bytes32[] afterLeaves
    );
    /// @notice The node revealed the nodes up to three levels below the tree node under dispute.
    event Split(DisputeId indexed disputeId, bytes32[] nodes);
    /// @notice The challenger picked node `which`; `index` is the path so far, `depthLeft` the levels left.
    event Picked(DisputeId indexed disputeId, uint256 which, uint256 index, uint256 depthLeft);
    /// @notice The node revealed op `opIndex`'s output chunk root and shape.
    event ShapeRevealed(DisputeId indexed disputeId, uint256 opIndex, bytes32 root, uint32[] dims);
    /// @notice The node revealed chunk `chunkIndex` of the op's output.
    event ChunkRevealed(DisputeId indexed disputeId, uint256 chunkIndex, bytes chunk);
    /// @notice The challenger disputes element `element` of op `opIndex`, whose node value is `bits`.
    event ElementNamed(DisputeId indexed disputeId, uint256 opIndex, uint256 element, uint32 bits, uint256 steps);
    /// @notice The node posted the element program's results (4 bytes big-endian per step, 8 for
    ///         a binary64 step: Programs.resultAt).
    event ProgramPosted(DisputeId indexed disputeId, bytes results);
    /// @notice Step `s` recomputed: `computed` by Float32 (Float64 for a binary64 step, opcodes
    ///         32..36, whose bits are 64 wide; binary32 bits otherwise), `claimed` by the node.
    event StepChecked(DisputeId indexed disputeId, uint256 s, uint8 opcode, uint64 computed, uint64 claimed);
    /// @notice The state after the step holds `stateLeaf` at `slot`, not op `opIndex`'s output
    ///         (opIndex = type(uint256).max: not the unchanged tensor the graph keeps there).
    event FinalStateMismatch(DisputeId indexed disputeId, uint256 opIndex, uint256 slot, bytes32 stateLeaf);
    /// @notice The party to move missed its deadline in `phase`.
    event MoveTimedOut(DisputeId indexed disputeId, GamePhase phase, bool nodeLost);
    /// @notice `account` may pull `amount` more with claimPayout().
    event PayoutCredited(DisputeId indexed disputeId, address indexed account, uint256 amount);
    /// @notice `account` pulled `amount`.
    event PayoutClaimed(address indexed account, uint256 amount);

    /// @notice Market only, once, from createTaskWithGraph (the task's roots are fixed with it).
    function registerStepGraph(TaskId taskId, StepGraph calldata graph) external;
    /// @notice Node (Trace): the state hashes v2 of steps t-1 (`proofBefore` proves its leaf in the
    ///         trace; empty when t-1 is the task's step 0) and t (must give the disputed leaf),
    ///         `afterLeaves`, the nState + 1 leaves of stateAfter (so the challenger sees which
    ///         tensor of the state after differs), and opRoot, the sha256 tree over its op output
    ///         commitments for step t.
    function postTrace(
        DisputeId disputeId,
        bytes32 stateBefore,
        bytes32[] calldata proofBefore,
        bytes32 stateAfter,
        bytes32[] calldata afterLeaves,
        bytes32 opRoot
    ) external;
    /// @notice Node (OpSplit, ChunkSplit): the 2^w nodes w = min(3, levels left) levels below the
    ///         tree node under dispute, left to right (they must rebuild it).
    function split(DisputeId disputeId, bytes32[] calldata nodes) external;
    /// @notice Challenger (OpPick, ChunkPick): descends into node `which`, the first that differs
    ///         from its honest trace. `nodes` repeats what the node revealed (Split event), which
    ///         the contract checks against the node under dispute rather than storing it.
    function pick(DisputeId disputeId, bytes32[] calldata nodes, uint256 which) external;
    /// @notice Challenger (OpPick, last round): picks op i (node `which`) whose output is state
    ///         tensor `slot` after the step by the graph's final refs (`finalProof` under
    ///         finalRoot), while stateAfter holds `stateLeaf` there (`stateProof`, built from the
    ///         posted afterLeaves), not op i's output commitment: the node loses the game.
    function pickFinal(
        DisputeId disputeId,
        bytes32[] calldata nodes,
        uint256 which,
        uint256 slot,
        bytes32[] calldata finalProof,
        bytes32 stateLeaf,
        bytes32[] calldata stateProof
    ) external;
    /// @notice Challenger (OpPick, any round): a state tensor the step keeps unchanged (final ref
    ///         State(from)) differs between the states before and after: the node loses the game.
    function disputeKept(DisputeId disputeId, KeptProof calldata proof) external;
    /// @notice Challenger (OpPick, any round): the state after the step is not what the step
    ///         makes of it besides its ops' outputs: a tensor the graph sets to a constant (final
    ///         ref Const(bits)) is not that constant tensor (`proof` = abi.encode(ConstProof)), or
    ///         the scalar leaf is not the state before's advanced by one step: step + 1, the same
    ///         RNG, cursor + batchSize (`proof` = abi.encode(ScalarProof)). Proven: the node loses.
    function disputeState(DisputeId disputeId, StateClaim claim, bytes calldata proof) external;
    /// @notice Node (Shape): the chunk root and shape behind op i's output commitment.
    function revealShape(DisputeId disputeId, bytes32 root, uint32[] calldata dims) external;
    /// @notice Node (Chunk): the 1 KiB chunk at the leaf reached.
    function revealChunk(DisputeId disputeId, bytes calldata chunk) external;
    /// @notice Challenger (Element): element `lane` of the revealed chunk, and op i's graph leaf. A
    ///         shape that differs from the graph's, or a non-zero padding element, loses the node
    ///         the game at once.
    function nameElement(
        DisputeId disputeId,
        uint256 lane,
        bytes calldata chunk,
        StepOp calldata op,
        bytes32[] calldata graphProof
    ) external;
    /// @notice Node (Program): every step result of the element's program, 4 bytes big-endian each
    ///         (8 for a binary64 step of CLIP_COEF: Programs.resultAt); the last must be the element.
    function postProgram(DisputeId disputeId, bytes calldata results) external;
    /// @notice Challenger (Step): step `s` is recomputed from its operands (earlier results, input
    ///         elements opened by `openings` in operand order, literals). A different result loses
    ///         the node the game; the same result loses the challenger the game.
    function checkStep(
        DisputeId disputeId,
        uint256 s,
        StepOp calldata op,
        bytes calldata results,
        Opening[] calldata openings
    ) external returns (Outcome);
    /// @notice Transfers everything credited to the caller.
    function claimPayout() external returns (uint256 amount);

    /// @notice The task's step graph (zero roots: none).
    function stepGraph(TaskId taskId) external view returns (StepGraph memory);
    /// @notice The game.
    function game(DisputeId disputeId) external view returns (GameView memory);
    function owed(address account) external view returns (uint256);
    /// @notice Bonds of unresolved games plus unclaimed payouts (what this contract must hold).
    function totalHeld() external view returns (uint256);
    function disputeCount() external view returns (uint256);
    function params() external view returns (RefereeParams memory);
    function token() external view returns (address);
}
