// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IStepAdjudicator} from "./interfaces/IStepAdjudicator.sol";
import {IOneStepAdjudicator, Opening, KeptProof} from "./interfaces/IOneStepAdjudicator.sol";
import {IStakeManager} from "./interfaces/IStakeManager.sol";
import {ITaskMarket} from "./interfaces/ITaskMarket.sol";
import {DisputeClaim} from "./libraries/DisputeClaim.sol";
import {JuryPayout} from "./libraries/JuryPayout.sol";
import {TokenPull} from "./libraries/TokenPull.sol";
import {TensorCommit} from "./libraries/TensorCommit.sol";
import {RefereeGame} from "./referee/RefereeGame.sol";
import {StepCheck} from "./referee/StepCheck.sol";
import {StateBindings} from "./referee/StateBindings.sol";
import {StepEvaluator} from "./referee/StepEvaluator.sol";
import {StepOp} from "./referee/StepOp.sol";
import {TaskId, DisputeId, Outcome, TaskView, SegmentRoots} from "./types/Ids.sol";
import {StepGraph, RefereeParams, GamePhase, GameView, StateClaim} from "./types/RefereeTypes.sol";

/// @title OneStepAdjudicator
/// @notice Disputes settled by the referee game, no jury. See IOneStepAdjudicator.
contract OneStepAdjudicator is IOneStepAdjudicator, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using RefereeGame for RefereeGame.Game;

    /// @dev Most ops per step graph: bounds the op bisection (and so longestDispute).
    uint256 public constant MAX_OPS = 1 << 12;

    IERC20 private immutable _token;
    IStakeManager private immutable _stakes;
    ITaskMarket private immutable _market;
    StepEvaluator private immutable _evaluator;
    RefereeParams private _params;
    uint256 private _disputeCount;
    uint256 private _held;
    mapping(TaskId id => StepGraph) private _graphs;
    mapping(DisputeId id => RefereeGame.Game) private _games;
    mapping(address account => uint256 amount) private _owed;
    mapping(bytes32 commitmentKey => DisputeId latest) private _endStateDisputes;

    /// @param evaluator_ A StepEvaluator deployed before (with its StepPrograms): the three do
    ///        not fit one contract under EIP-170's 24 KiB.
    constructor(
        address token_,
        address stakeManager_,
        address market_,
        StepEvaluator evaluator_,
        RefereeParams memory p
    ) {
        if (
            token_ == address(0) || stakeManager_ == address(0) || market_ == address(0)
                || address(evaluator_) == address(0)
        ) revert ZeroAddress();
        _token = IERC20(token_);
        _stakes = IStakeManager(stakeManager_);
        _market = ITaskMarket(market_);
        _evaluator = evaluator_;
        _params = p;
    }

    /// @inheritdoc IOneStepAdjudicator
    function registerStepGraph(TaskId taskId, StepGraph calldata graph) external {
        // INVARIANT: the graph is fixed by the market in the transaction that creates the task, so
        // no node is judged by another graph.
        if (msg.sender != address(_market) || _graphs[taskId].graphRoot != bytes32(0)) {
            revert GraphNotRegistrable(taskId);
        }
        TaskView memory t = _market.task(taskId);
        if (
            graph.graphRoot == bytes32(0) || graph.nOps < 2 || graph.nOps > MAX_OPS || graph.nState == 0
                || graph.initialState == bytes32(0) || graph.finalRoot == bytes32(0)
                || graph.totalSteps != t.params.totalSteps || graph.sampleRoot == bytes32(0) || graph.numSamples == 0
                || graph.batchSize == 0 || graph.seqLen == 0
        ) revert BadGraph(taskId);
        _graphs[taskId] = graph;
        emit StepGraphRegistered(taskId, graph);
    }

    /// @inheritdoc IStepAdjudicator
    function openDispute(
        TaskId taskId,
        uint256 k,
        SegmentRoots calldata roots,
        SegmentRoots calldata previous,
        uint256 step,
        bytes32 leaf,
        bytes32[] calldata proof
    ) external nonReentrant returns (DisputeId disputeId) {
        _graph(taskId);
        (address node, uint256 segSteps, uint32 epoch) = _market.noteDisputeOpened(taskId, k, roots);
        if (msg.sender == node) revert ChallengerIsNode(msg.sender);
        DisputeClaim.checkProof(k, step, leaf, proof, roots.traceRoot, segSteps);
        disputeId = _record(taskId, k, step, leaf, node, epoch);
        _anchor(_games[disputeId], taskId, k, step, roots.traceRoot, previous, segSteps);
    }

    /// @inheritdoc IStepAdjudicator
    function openEndStateDispute(TaskId taskId, uint256 k, SegmentRoots calldata roots, SegmentRoots calldata previous)
        external
        nonReentrant
        returns (DisputeId disputeId)
    {
        _graph(taskId);
        (address node, uint256 segSteps, uint32 epoch) = _market.noteDisputeOpened(taskId, k, roots);
        if (msg.sender == node) revert ChallengerIsNode(msg.sender);
        bytes32 key = DisputeClaim.commitmentKey(taskId, epoch, k);
        DisputeId prev = _endStateDisputes[key];
        // INVARIANT: one unresolved end-state dispute per commitment (its claim is fixed by it).
        if (DisputeId.unwrap(prev) != 0 && _games[prev].phase != GamePhase.Resolved) {
            revert EndStateDisputeOpen(taskId, k, prev);
        }
        bytes32 endStateHash = roots.endStateHash;
        (uint256 step, bytes32 leaf) = DisputeClaim.endState(taskId, k, segSteps, endStateHash);
        disputeId = _record(taskId, k, step, leaf, node, epoch);
        _anchor(_games[disputeId], taskId, k, step, roots.traceRoot, previous, segSteps);
        _endStateDisputes[key] = disputeId;
        emit EndStateDisputeOpened(disputeId, taskId, k, endStateHash);
    }

    /// @inheritdoc IOneStepAdjudicator
    function postTrace(
        DisputeId disputeId,
        bytes32 stateBefore,
        bytes32[] calldata proofBefore,
        bytes32 stateAfter,
        bytes32[] calldata afterLeaves,
        bytes32 opRoot
    ) external {
        RefereeGame.Game storage g = _turn(disputeId, GamePhase.Trace, GamePhase.Trace);
        StepGraph storage graph = _graphs[TaskId.wrap(g.taskId)];
        g.checkBefore(disputeId, graph.initialState, stateBefore, proofBefore);
        g.postTrace(disputeId, graph, stateBefore, stateAfter, afterLeaves, opRoot);
        emit TracePosted(disputeId, stateBefore, stateAfter, opRoot, afterLeaves);
    }

    /// @inheritdoc IOneStepAdjudicator
    function split(DisputeId disputeId, bytes32[] calldata nodes) external {
        _turn(disputeId, GamePhase.OpSplit, GamePhase.ChunkSplit).split(disputeId, nodes);
        emit Split(disputeId, nodes);
    }

    /// @inheritdoc IOneStepAdjudicator
    function pick(DisputeId disputeId, bytes32[] calldata nodes, uint256 which) external nonReentrant {
        RefereeGame.Game storage g = _turn(disputeId, GamePhase.OpPick, GamePhase.ChunkPick);
        Outcome result = g.pick(disputeId, _graphs, nodes, which);
        emit Picked(disputeId, which, g.index, g.depthLeft);
        if (result != Outcome.None) _settle(disputeId, g, result);
    }

    /// @inheritdoc IOneStepAdjudicator
    function pickFinal(
        DisputeId disputeId,
        bytes32[] calldata nodes,
        uint256 which,
        uint256 slot,
        bytes32[] calldata finalProof,
        bytes32 stateLeaf,
        bytes32[] calldata stateProof
    ) external nonReentrant {
        RefereeGame.Game storage g = _turn(disputeId, GamePhase.OpPick, GamePhase.OpPick);
        if (g.depthLeft != g.width()) revert WrongPhase(disputeId, g.phase);
        Outcome result = g.pick(disputeId, _graphs, nodes, which);
        emit Picked(disputeId, which, g.index, g.depthLeft);
        if (result == Outcome.None) {
            g.finalMismatch(disputeId, _graphs[TaskId.wrap(g.taskId)], slot, finalProof, stateLeaf, stateProof);
            emit FinalStateMismatch(disputeId, g.opIndex, slot, stateLeaf);
        }
        // INVARIANT: a state after the step that does not hold its final ops' outputs loses the node.
        _settle(disputeId, g, Outcome.NodeWrong);
    }

    /// @inheritdoc IOneStepAdjudicator
    function disputeKept(DisputeId disputeId, KeptProof calldata proof) external nonReentrant {
        RefereeGame.Game storage g = _turn(disputeId, GamePhase.OpPick, GamePhase.OpPick);
        g.keptMismatch(disputeId, _graphs[TaskId.wrap(g.taskId)], proof);
        emit FinalStateMismatch(disputeId, type(uint256).max, proof.slot, proof.afterLeaf);
        // INVARIANT: a tensor the step keeps must be the same before and after it.
        _settle(disputeId, g, Outcome.NodeWrong);
    }

    /// @inheritdoc IOneStepAdjudicator
    function disputeState(DisputeId disputeId, StateClaim claim, bytes calldata proof) external nonReentrant {
        RefereeGame.Game storage g = _turn(disputeId, GamePhase.OpPick, GamePhase.OpPick);
        StepGraph storage graph = _graphs[TaskId.wrap(g.taskId)];
        StateBindings.Roots memory r =
            StateBindings.Roots(disputeId, graph.finalRoot, g.stateBefore, g.stateAfter, graph.nState, graph.batchSize);
        (uint256 slot, bytes32 afterLeaf) = _evaluator.checkState(r, claim, proof);
        emit FinalStateMismatch(disputeId, type(uint256).max, slot, afterLeaf);
        // INVARIANT: the state after holds the step's constants and its advanced scalar leaf.
        _settle(disputeId, g, Outcome.NodeWrong);
    }

    /// @inheritdoc IOneStepAdjudicator
    function revealShape(DisputeId disputeId, bytes32 root, uint32[] calldata dims) external {
        RefereeGame.Game storage g = _turn(disputeId, GamePhase.Shape, GamePhase.Shape);
        g.revealShape(disputeId, root, dims);
        emit ShapeRevealed(disputeId, g.opIndex, root, dims);
    }

    /// @inheritdoc IOneStepAdjudicator
    function revealChunk(DisputeId disputeId, bytes calldata chunk) external {
        RefereeGame.Game storage g = _turn(disputeId, GamePhase.Chunk, GamePhase.Chunk);
        bytes32 h = TensorCommit.chunkLeaf(chunk);
        if (h != g.cursor) revert NotCommitted(disputeId, g.cursor, h);
        g.phase = GamePhase.Element;
        emit ChunkRevealed(disputeId, g.index, chunk);
    }

    /// @inheritdoc IOneStepAdjudicator
    function nameElement(
        DisputeId disputeId,
        uint256 lane,
        bytes calldata chunk,
        StepOp calldata op,
        bytes32[] calldata graphProof
    ) external nonReentrant {
        RefereeGame.Game storage g = _turn(disputeId, GamePhase.Element, GamePhase.Element);
        RefereeGame.checkOp(disputeId, _graphs[TaskId.wrap(g.taskId)], g.step, op, graphProof, g.opIndex);
        Outcome result = g.nameElement(disputeId, lane, chunk, op, _evaluator);
        if (result != Outcome.None) return _settle(disputeId, g, result);
        emit ElementNamed(disputeId, g.opIndex, g.element, g.bits, g.programLength);
    }

    /// @inheritdoc IOneStepAdjudicator
    function postProgram(DisputeId disputeId, bytes calldata results) external {
        _turn(disputeId, GamePhase.Program, GamePhase.Program).postProgram(disputeId, results);
        emit ProgramPosted(disputeId, results);
    }

    /// @inheritdoc IOneStepAdjudicator
    function checkStep(
        DisputeId disputeId,
        uint256 s,
        StepOp calldata op,
        bytes calldata results,
        Opening[] calldata openings
    ) external nonReentrant returns (Outcome result) {
        RefereeGame.Game storage g = _turn(disputeId, GamePhase.Step, GamePhase.Step);
        StepGraph storage graph = _graphs[TaskId.wrap(g.taskId)];
        result = StepCheck.check(_evaluator, g, disputeId, graph, s, op, results, openings);
        _settle(disputeId, g, result);
    }

    /// @inheritdoc IStepAdjudicator
    /// @dev Here: after the deadline of the move at hand, the party to move loses.
    function resolve(DisputeId disputeId) external nonReentrant returns (Outcome result) {
        RefereeGame.Game storage g = _game(disputeId);
        GamePhase phase = g.phase;
        if (phase == GamePhase.Resolved) revert WrongPhase(disputeId, phase);
        // INVARIANT: silence loses: the party that misses its move loses the game.
        if (block.number <= g.deadline) revert DeadlineNotPassed(disputeId, g.deadline);
        bool nodeLost = RefereeGame.nodeToMove(phase);
        result = nodeLost ? Outcome.NodeWrong : Outcome.NodeRight;
        emit MoveTimedOut(disputeId, phase, nodeLost);
        _settle(disputeId, g, result);
    }

    /// @inheritdoc IOneStepAdjudicator
    function claimPayout() external nonReentrant returns (uint256 amount) {
        amount = _owed[msg.sender];
        if (amount == 0) revert NothingOwed(msg.sender);
        // INVARIANT: a credit is paid once.
        _owed[msg.sender] = 0;
        _held -= amount;
        _token.safeTransfer(msg.sender, amount);
        emit PayoutClaimed(msg.sender, amount);
    }

    /// @inheritdoc IStepAdjudicator
    function outcome(DisputeId disputeId) external view returns (Outcome) {
        return _game(disputeId).outcome;
    }

    /// @inheritdoc IStepAdjudicator
    function challengeBond() external view returns (uint256) {
        return _params.challengeBond;
    }

    /// @inheritdoc IStepAdjudicator
    /// @dev Every move: the trace, two per round of the op and chunk bisections at their largest
    ///      (MAX_OPS, RefereeGame.MAX_CHUNK_DEPTH, ROUND_LEVELS levels a round), the shape, the
    ///      chunk, the element, the program and the step, each within moveBlocks.
    function longestDispute() external view returns (uint256) {
        uint256 r = RefereeGame.ROUND_LEVELS;
        uint256 rounds = (TensorCommit.depthOf(MAX_OPS) + r - 1) / r + (RefereeGame.MAX_CHUNK_DEPTH + r - 1) / r;
        return (6 + 2 * rounds) * _params.moveBlocks;
    }

    /// @inheritdoc IStepAdjudicator
    function market() external view returns (address) {
        return address(_market);
    }

    /// @inheritdoc IStepAdjudicator
    function stakeManager() external view returns (address) {
        return address(_stakes);
    }

    /// @inheritdoc IOneStepAdjudicator
    function stepGraph(TaskId taskId) external view returns (StepGraph memory) {
        return _graphs[taskId];
    }

    /// @inheritdoc IOneStepAdjudicator
    function game(DisputeId disputeId) external view returns (GameView memory) {
        return _game(disputeId).toView();
    }

    /// @inheritdoc IOneStepAdjudicator
    function owed(address account) external view returns (uint256) {
        return _owed[account];
    }

    /// @inheritdoc IOneStepAdjudicator
    function totalHeld() external view returns (uint256) {
        return _held;
    }

    /// @inheritdoc IOneStepAdjudicator
    function disputeCount() external view returns (uint256) {
        return _disputeCount;
    }

    /// @inheritdoc IOneStepAdjudicator
    function params() external view returns (RefereeParams memory) {
        return _params;
    }

    /// @inheritdoc IOneStepAdjudicator
    function token() external view returns (address) {
        return address(_token);
    }

    function _record(TaskId taskId, uint256 k, uint256 step, bytes32 leaf, address node, uint32 epoch)
        private
        returns (DisputeId disputeId)
    {
        disputeId = DisputeId.wrap(++_disputeCount);
        uint128 bond = _params.challengeBond;
        RefereeGame.Game storage g = _games[disputeId];
        g.challenger = msg.sender;
        g.step = SafeCast.toUint64(step);
        g.k = SafeCast.toUint32(k);
        g.node = node;
        g.epoch = epoch;
        g.taskId = SafeCast.toUint64(TaskId.unwrap(taskId));
        g.phase = GamePhase.Trace;
        g.nodeLeaf = leaf;
        g.deadline = SafeCast.toUint64(block.number + _params.moveBlocks);
        _held += bond;
        TokenPull.pullExact(_token, msg.sender, bond);
        emit DisputeOpened(disputeId, taskId, k, step, leaf, msg.sender, node, bond);
    }

    /// @dev Where the node's leaf t-1 is proven: in this segment's trace, or at the end of the last
    ///      one (whose roots, `previous`, the market checks against segment k-1's record).
    function _anchor(
        RefereeGame.Game storage g,
        TaskId taskId,
        uint256 k,
        uint256 step,
        bytes32 root,
        SegmentRoots calldata previous,
        uint256 s
    ) private {
        if (step == 1) return;
        uint256 start = k * s;
        if (step - 1 == start) {
            _market.checkRoots(taskId, k - 1, previous);
            root = previous.traceRoot;
            start -= s;
        }
        g.stateBefore = root;
        g.anchorIndex = uint32(step - 2 - start);
        g.anchorDepth = uint8(TensorCommit.depthOf(s));
    }

    /// @dev The game, if `msg.sender` is the party to move in `a` or `b` and the deadline holds;
    ///      the next move's deadline starts now.
    function _turn(DisputeId disputeId, GamePhase a, GamePhase b) private returns (RefereeGame.Game storage g) {
        g = _game(disputeId);
        GamePhase phase = g.phase;
        if (phase != a && phase != b) revert WrongPhase(disputeId, phase);
        if (msg.sender != (RefereeGame.nodeToMove(phase) ? g.node : g.challenger)) {
            revert NotYourMove(disputeId, msg.sender);
        }
        if (block.number > g.deadline) revert MoveTooLate(disputeId, g.deadline);
        g.deadline = SafeCast.toUint64(block.number + _params.moveBlocks);
    }

    /// @dev Applies the outcome to the market and credits the winner (JuryPayout with no jurors):
    ///      NodeWrong: the challenger gets its bond back plus what this contract received of the
    ///      slash, and the node is jailed; NodeRight: the node gets the bond.
    function _settle(DisputeId disputeId, RefereeGame.Game storage g, Outcome result) private {
        g.phase = GamePhase.Resolved;
        g.outcome = result;
        uint256 slashed = _market.noteDisputeResolved(disputeId, TaskId.wrap(g.taskId), g.k, g.epoch, g.node, result);
        if (result == Outcome.NodeWrong) {
            _held += slashed;
            _stakes.jail(g.node, block.number + _params.jailBlocks);
        }
        JuryPayout.Split memory s = JuryPayout.split(result, _params.challengeBond, slashed, 0, 0, 0);
        _credit(disputeId, g.challenger, s.toChallenger);
        _credit(disputeId, g.node, s.toNode);
        emit DisputeResolved(disputeId, result, bytes32(0), slashed);
    }

    function _credit(DisputeId disputeId, address account, uint256 amount) private {
        if (amount == 0) return;
        _owed[account] += amount;
        emit PayoutCredited(disputeId, account, amount);
    }

    function _game(DisputeId disputeId) private view returns (RefereeGame.Game storage g) {
        g = _games[disputeId];
        if (g.phase == GamePhase.None) revert UnknownDispute(disputeId);
    }

    function _graph(TaskId taskId) private view {
        if (_graphs[taskId].graphRoot == bytes32(0)) revert NoStepGraph(taskId);
    }
}
