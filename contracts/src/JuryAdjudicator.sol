// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IStepAdjudicator} from "./interfaces/IStepAdjudicator.sol";
import {IJuryAdjudicator} from "./interfaces/IJuryAdjudicator.sol";
import {IStakeManager} from "./interfaces/IStakeManager.sol";
import {ITaskMarket} from "./interfaces/ITaskMarket.sol";
import {IRandomness} from "./interfaces/IRandomness.sol";
import {DisputeClaim} from "./libraries/DisputeClaim.sol";
import {JuryDraw} from "./libraries/JuryDraw.sol";
import {JuryPayout} from "./libraries/JuryPayout.sol";
import {JuryVote} from "./libraries/JuryVote.sol";
import {DisputeState} from "./libraries/DisputeState.sol";
import {Bounds} from "./libraries/Bounds.sol";
import {TokenPull} from "./libraries/TokenPull.sol";
import {
    TaskId, DisputeId, DisputePhase, DisputeView, VoteView, JuryParams, Outcome, SegmentRoots
} from "./types/Ids.sol";

/// @title JuryAdjudicator
/// @notice Disputes settled by a stake-weighted jury that replays the segment. See IJuryAdjudicator.
contract JuryAdjudicator is IJuryAdjudicator, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using DisputeState for DisputeState.Dispute;

    IERC20 private immutable _token;
    IStakeManager private immutable _stakes;
    ITaskMarket private immutable _market;
    IRandomness private immutable _randomness;
    JuryParams private _params;
    uint256 private _disputeCount;
    uint256 private _held;
    mapping(DisputeId id => DisputeState.Dispute) private _disputes;
    mapping(DisputeId id => mapping(uint256 round => address[] drawn)) private _jurors;
    mapping(DisputeId id => mapping(uint256 round => mapping(address juror => DisputeState.Vote))) private _votes;
    mapping(address account => uint256 amount) private _owed;
    mapping(bytes32 commitmentKey => DisputeId latest) private _endStateDisputes;

    constructor(address token_, address stakeManager_, address market_, address randomness_, JuryParams memory p) {
        if (token_ == address(0) || stakeManager_ == address(0) || market_ == address(0) || randomness_ == address(0))
        {
            revert ZeroAddress();
        }
        Bounds.checkJury(p);
        _token = IERC20(token_);
        _stakes = IStakeManager(stakeManager_);
        _market = ITaskMarket(market_);
        _randomness = IRandomness(randomness_);
        _params = p;
    }

    /// @inheritdoc IStepAdjudicator
    function openDispute(
        TaskId taskId,
        uint256 k,
        SegmentRoots calldata roots,
        SegmentRoots calldata,
        uint256 step,
        bytes32 leaf,
        bytes32[] calldata proof
    ) external nonReentrant returns (DisputeId disputeId) {
        (address node, uint256 segSteps, uint32 epoch) = _market.noteDisputeOpened(taskId, k, roots);
        if (msg.sender == node) revert ChallengerIsNode(msg.sender);
        DisputeClaim.checkProof(k, step, leaf, proof, roots.traceRoot, segSteps);
        disputeId = _record(taskId, k, step, leaf, node, epoch);
        _setReplayBlocks(disputeId, segSteps);
    }

    /// @inheritdoc IStepAdjudicator
    function openEndStateDispute(TaskId taskId, uint256 k, SegmentRoots calldata roots, SegmentRoots calldata)
        external
        nonReentrant
        returns (DisputeId disputeId)
    {
        (address node, uint256 segSteps, uint32 epoch) = _market.noteDisputeOpened(taskId, k, roots);
        if (msg.sender == node) revert ChallengerIsNode(msg.sender);
        bytes32 key = DisputeClaim.commitmentKey(taskId, epoch, k);
        DisputeId prev = _endStateDisputes[key];
        // INVARIANT: one unresolved end-state dispute per commitment: the claim is fixed by the commitment,
        // so a second one would ask the jury the same question and slash the node twice for one fault.
        if (DisputeId.unwrap(prev) != 0 && _disputes[prev].stage != DisputeState.Stage.Resolved) {
            revert EndStateDisputeOpen(taskId, k, prev);
        }
        bytes32 endStateHash = roots.endStateHash;
        (uint256 step, bytes32 leaf) = DisputeClaim.endState(taskId, k, segSteps, endStateHash);
        disputeId = _record(taskId, k, step, leaf, node, epoch);
        _setReplayBlocks(disputeId, segSteps);
        _endStateDisputes[key] = disputeId;
        emit EndStateDisputeOpened(disputeId, taskId, k, endStateHash);
    }

    function _record(TaskId taskId, uint256 k, uint256 step, bytes32 leaf, address node, uint32 epoch)
        private
        returns (DisputeId disputeId)
    {
        disputeId = DisputeId.wrap(++_disputeCount);
        uint128 bond = _params.challengeBond;
        DisputeState.Dispute storage d = _disputes[disputeId];
        d.challenger = msg.sender;
        d.taskId = SafeCast.toUint64(TaskId.unwrap(taskId));
        d.stage = DisputeState.Stage.AwaitingDraw;
        d.node = node;
        d.k = SafeCast.toUint32(k);
        d.taskEpoch = epoch;
        d.nodeLeaf = leaf;
        d.step = SafeCast.toUint64(step);
        d.drawAfter = SafeCast.toUint64(block.number + _params.drawDelay);
        _held += bond;
        TokenPull.pullExact(_token, msg.sender, bond);
        emit DisputeOpened(disputeId, taskId, k, step, leaf, msg.sender, node, bond);
    }

    /// @inheritdoc IJuryAdjudicator
    function drawJury(DisputeId disputeId) external nonReentrant {
        DisputeState.Dispute storage d = _dispute(disputeId);
        if (d.stage != DisputeState.Stage.AwaitingDraw) revert WrongPhase(disputeId, d.phase(_params.drawExpiry));
        if (block.number < d.drawAfter) revert DrawTooEarly(disputeId, d.drawAfter);
        uint256 expiresAt = uint256(d.drawAfter) + _params.drawExpiry;
        if (block.number > expiresAt) revert DrawExpired(disputeId, expiresAt);
        uint256 round = d.round;
        uint256 penalty = _params.jurorPenalty;
        (address[] memory pool, uint256[] memory weights) = _stakes.jurorPool();
        for (uint256 i; i < pool.length; ++i) {
            // INVARIANT: the node and the challenger never sit on their own jury.
            if (pool[i] == d.node || pool[i] == d.challenger || weights[i] < penalty) weights[i] = 0;
        }
        uint256 seed = _randomness.randomWord(keccak256(abi.encode(disputeId, round)));
        uint256[] memory picked = JuryDraw.sample(seed, weights, _params.jurySize);
        // INVARIANT: no jury sits with fewer than a quorum (starving the pool cannot decide a dispute).
        if (picked.length < _params.quorum) revert QuorumUnavailable(disputeId, picked.length, _params.quorum);
        address[] memory drawn = _seat(disputeId, round, pool, picked);
        uint256 commitDeadline = block.number + _params.commitWindow + d.replayBlocks;
        uint256 revealDeadline = commitDeadline + _params.revealWindow;
        d.stage = DisputeState.Stage.Voting;
        d.jurorCount = uint8(picked.length);
        d.commitDeadline = SafeCast.toUint64(commitDeadline);
        d.revealDeadline = SafeCast.toUint64(revealDeadline);
        emit JuryDrawn(disputeId, uint8(round), drawn, commitDeadline, revealDeadline);
    }

    /// @dev Seats the picked pool members as the jurors of `round`, each locking jurorPenalty.
    function _seat(DisputeId disputeId, uint256 round, address[] memory pool, uint256[] memory picked)
        private
        returns (address[] memory drawn)
    {
        drawn = new address[](picked.length);
        bytes32 obligation = _jurorLockKey(disputeId, round);
        for (uint256 i; i < picked.length; ++i) {
            address juror = pool[picked[i]];
            drawn[i] = juror;
            _jurors[disputeId][round].push(juror);
            _votes[disputeId][round][juror].state = DisputeState.VoteState.Drawn;
            _stakes.lock(juror, obligation, _params.jurorPenalty);
        }
    }

    /// @inheritdoc IJuryAdjudicator
    function commitVote(DisputeId disputeId, bytes32 commitment) external {
        DisputeState.Dispute storage d = _dispute(disputeId);
        DisputeState.Vote storage v = _votes[disputeId][d.round][msg.sender];
        JuryVote.commit(d, v, disputeId, msg.sender, commitment, _params);
        emit VoteCommitted(disputeId, msg.sender);
    }

    /// @inheritdoc IJuryAdjudicator
    function revealVote(DisputeId disputeId, bytes32 leaf, bytes32 salt) external {
        DisputeState.Dispute storage d = _dispute(disputeId);
        DisputeState.Vote storage v = _votes[disputeId][d.round][msg.sender];
        JuryVote.reveal(d, v, disputeId, msg.sender, leaf, salt, _params);
        emit VoteRevealed(disputeId, msg.sender, leaf);
    }

    /// @inheritdoc IStepAdjudicator
    function resolve(DisputeId disputeId) external nonReentrant returns (Outcome) {
        DisputeState.Dispute storage d = _dispute(disputeId);
        if (d.stage == DisputeState.Stage.AwaitingDraw) {
            // INVARIANT: a dispute no quorum could be drawn for expires Void: silence never decides.
            if (block.number <= uint256(d.drawAfter) + _params.drawExpiry) revert WrongPhase(disputeId, d.phase(_params.drawExpiry));
            _settle(disputeId, d, Outcome.Void, bytes32(0), new address[](0));
            return Outcome.Void;
        }
        // INVARIANT: voting ends at revealDeadline at the latest, so every dispute can be moved on.
        if (d.stage != DisputeState.Stage.Voting || (block.number <= d.revealDeadline && d.reveals != d.jurorCount)) {
            revert WrongPhase(disputeId, d.phase(_params.drawExpiry));
        }
        (bool found, bytes32 majorityLeaf, address[] memory paid) = _tally(disputeId, d.round);

        if (!found && d.round == 0) {
            // No strict majority: draw a new jury once.
            uint256 drawAfter = block.number + _params.drawDelay;
            d.round = 1;
            d.stage = DisputeState.Stage.AwaitingDraw;
            d.drawAfter = SafeCast.toUint64(drawAfter);
            d.jurorCount = 0;
            d.commits = 0;
            d.reveals = 0;
            emit RedrawScheduled(disputeId, drawAfter);
            return Outcome.None;
        }
        // INVARIANT: no majority after the redraw (nobody revealed included) never favours the node.
        Outcome result = !found ? Outcome.Void : (majorityLeaf == d.nodeLeaf ? Outcome.NodeRight : Outcome.NodeWrong);
        _settle(disputeId, d, result, majorityLeaf, paid);
        return result;
    }

    /// @inheritdoc IJuryAdjudicator
    function claimPayout() external nonReentrant returns (uint256 amount) {
        amount = _owed[msg.sender];
        if (amount == 0) revert NothingOwed(msg.sender);
        // INVARIANT: a credit is paid once.
        _owed[msg.sender] = 0;
        _held -= amount;
        _token.safeTransfer(msg.sender, amount);
        emit PayoutClaimed(msg.sender, amount);
    }

    /// @dev Tallies the round and settles its jurors: silent and minority jurors lose jurorPenalty to
    ///      the treasury, the others are unlocked. Returns the majority (if any) and the jurors to pay:
    ///      the majority, or every revealing juror when there is none.
    function _tally(DisputeId disputeId, uint256 round)
        private
        returns (bool found, bytes32 majorityLeaf, address[] memory paid)
    {
        address[] storage js = _jurors[disputeId][round];
        uint256 n = js.length;
        bytes32[] memory leaves = new bytes32[](n);
        bool[] memory revealed = new bool[](n);
        for (uint256 i; i < n; ++i) {
            DisputeState.Vote storage v = _votes[disputeId][round][js[i]];
            revealed[i] = v.state == DisputeState.VoteState.Revealed;
            leaves[i] = v.value;
        }
        (found, majorityLeaf) = JuryDraw.majority(leaves, revealed, n);
        paid = new address[](n);
        uint256 w;
        uint256 pot;
        for (uint256 i; i < n; ++i) {
            // INVARIANT: silent jurors always lose; revealing jurors lose only against a majority.
            if (!revealed[i] || (found && leaves[i] != majorityLeaf)) {
                pot += _penalise(disputeId, round, js[i]);
            } else {
                _stakes.unlock(js[i], _jurorLockKey(disputeId, round), type(uint256).max);
                paid[w++] = js[i];
            }
        }
        assembly ("memory-safe") {
            mstore(paid, w)
        }
        // INVARIANT: penalties go to the treasury, never to a party of the dispute.
        _held += pot;
        _credit(disputeId, _params.treasury, pot);
    }

    /// @dev Slashes a juror's penalty lock to this contract.
    function _penalise(DisputeId disputeId, uint256 round, address juror) private returns (uint256 slashed) {
        slashed = _stakes.slash(juror, _jurorLockKey(disputeId, round), _params.jurorPenalty, address(this));
        emit JurorPenalised(disputeId, juror, slashed);
    }

    /// @dev Applies the outcome to the market and credits every payout (docs/protocol.md, disputes).
    function _settle(DisputeId disputeId, DisputeState.Dispute storage d, Outcome result, bytes32 majorityLeaf, address[] memory paid)
        private
    {
        d.stage = DisputeState.Stage.Resolved;
        d.outcome = result;
        uint256 slashed =
            _market.noteDisputeResolved(disputeId, TaskId.wrap(d.taskId), d.k, d.taskEpoch, d.node, result);
        if (result == Outcome.NodeWrong) {
            _held += slashed;
            _stakes.jail(d.node, block.number + _params.jailBlocks);
        }
        JuryPayout.Split memory s = JuryPayout.split(
            result, _params.challengeBond, slashed, _params.challengerShareBps, _params.jurorFeeBps, paid.length
        );
        _credit(disputeId, d.challenger, s.toChallenger);
        _credit(disputeId, d.node, s.toNode);
        for (uint256 i; i < paid.length; ++i) {
            _credit(disputeId, paid[i], i == 0 ? s.perJuror + s.jurorDust : s.perJuror);
        }
        emit DisputeResolved(disputeId, result, result == Outcome.Void ? bytes32(0) : majorityLeaf, slashed);
    }

    function _credit(DisputeId disputeId, address account, uint256 amount) private {
        if (amount == 0) return;
        _owed[account] += amount;
        emit PayoutCredited(disputeId, account, amount);
    }

    /// @inheritdoc IStepAdjudicator
    function outcome(DisputeId disputeId) external view returns (Outcome) {
        return _dispute(disputeId).outcome;
    }

    /// @inheritdoc IStepAdjudicator
    function challengeBond() external view returns (uint256) {
        return _params.challengeBond;
    }

    /// @inheritdoc IJuryAdjudicator
    function dispute(DisputeId disputeId) external view returns (DisputeView memory) {
        return _dispute(disputeId).toView(_params.challengeBond, _params.drawExpiry);
    }

    /// @inheritdoc IJuryAdjudicator
    function phase(DisputeId disputeId) external view returns (DisputePhase) {
        return _dispute(disputeId).phase(_params.drawExpiry);
    }

    /// @inheritdoc IJuryAdjudicator
    function jurors(DisputeId disputeId) external view returns (address[] memory) {
        DisputeState.Dispute storage d = _dispute(disputeId);
        return _jurors[disputeId][d.round];
    }

    /// @inheritdoc IJuryAdjudicator
    function vote(DisputeId disputeId, address juror) external view returns (VoteView memory) {
        return JuryVote.toView(_votes[disputeId][_dispute(disputeId).round][juror]);
    }

    /// @inheritdoc IJuryAdjudicator
    function voteCommitment(DisputeId disputeId, bytes32 leaf, bytes32 salt, address juror)
        external
        pure
        returns (bytes32)
    {
        return JuryVote.commitment(disputeId, leaf, salt, juror);
    }

    /// @inheritdoc IJuryAdjudicator
    function owed(address account) external view returns (uint256) {
        return _owed[account];
    }

    /// @inheritdoc IJuryAdjudicator
    function endStateDisputeOf(TaskId taskId, uint256 k) external view returns (DisputeId) {
        return _endStateDisputes[DisputeClaim.commitmentKey(taskId, _market.task(taskId).epoch, k)];
    }

    /// @inheritdoc IJuryAdjudicator
    function disputeCount() external view returns (uint256) {
        return _disputeCount;
    }

    /// @inheritdoc IJuryAdjudicator
    function params() external view returns (JuryParams memory) {
        return _params;
    }

    /// @inheritdoc IJuryAdjudicator
    function totalHeld() external view returns (uint256) {
        return _held;
    }

    /// @inheritdoc IJuryAdjudicator
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IStepAdjudicator
    function longestDispute() external view returns (uint256) {
        JuryParams memory p = _params;
        uint256 replay = _replayBlocks(_market.params().maxSegmentSteps);
        // Two rounds, each: draw delay, the whole draw window, commit (with replay) and reveal.
        return 2 * (uint256(p.drawDelay) + p.drawExpiry + p.commitWindow + replay + p.revealWindow);
    }

    /// @inheritdoc IStepAdjudicator
    function stakeManager() external view returns (address) {
        return address(_stakes);
    }

    /// @inheritdoc IStepAdjudicator
    function market() external view returns (address) {
        return address(_market);
    }

    /// @inheritdoc IJuryAdjudicator
    function randomness() external view returns (address) {
        return address(_randomness);
    }

    function _dispute(DisputeId disputeId) private view returns (DisputeState.Dispute storage d) {
        d = _disputes[disputeId];
        if (d.stage == DisputeState.Stage.None) revert UnknownDispute(disputeId);
    }

    /// @dev Blocks of replay a segment of `segSteps` steps is allowed: ceil(segSteps / replayStepsPerBlock).
    function _replayBlocks(uint256 segSteps) private view returns (uint256) {
        uint256 rate = _params.replayStepsPerBlock;
        return (segSteps + rate - 1) / rate;
    }

    /// @dev Finding 11: the commit window grows with the segment the jurors replay.
    function _setReplayBlocks(DisputeId disputeId, uint256 segSteps) private {
        _disputes[disputeId].replayBlocks = SafeCast.toUint64(_replayBlocks(segSteps));
    }

    /// @dev The obligation under which the jurors of `round` lock their penalty.
    function _jurorLockKey(DisputeId disputeId, uint256 round) private pure returns (bytes32) {
        return keccak256(abi.encode("juror", disputeId, round));
    }

}
