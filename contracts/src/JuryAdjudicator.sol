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
import {DisputeState} from "./libraries/DisputeState.sol";
import {TaskId, DisputeId, DisputePhase, DisputeView, VoteView, JuryParams, Outcome} from "./types/Ids.sol";

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
    mapping(uint256 => DisputeState.Dispute) private _disputes;
    mapping(uint256 => mapping(uint256 => address[])) private _jurors; // dispute => round => jurors
    mapping(uint256 => mapping(uint256 => mapping(address => DisputeState.Vote))) private _votes; // dispute => round => juror
    mapping(address => uint256) private _owed;
    mapping(bytes32 => uint256) private _endStateDisputes; // DisputeClaim.commitmentKey => latest end-state dispute

    constructor(address token_, address stakeManager_, address market_, address randomness_, JuryParams memory p) {
        if (token_ == address(0) || stakeManager_ == address(0) || market_ == address(0) || randomness_ == address(0))
        {
            revert ZeroAddress();
        }
        if (
            p.jurySize == 0 || p.jurySize > 32 || p.commitWindow == 0 || p.revealWindow == 0
                || p.challengerShareBps > 10_000 || p.jurorFeeBps > 10_000
        ) revert InvalidJuryParams();
        _token = IERC20(token_);
        _stakes = IStakeManager(stakeManager_);
        _market = ITaskMarket(market_);
        _randomness = IRandomness(randomness_);
        _params = p;
    }

    /// @inheritdoc IStepAdjudicator
    function openDispute(TaskId taskId, uint256 k, uint256 step, bytes32 leaf, bytes32[] calldata proof)
        external
        nonReentrant
        returns (DisputeId disputeId)
    {
        (address node, bytes32 traceRoot, uint256 segSteps, uint32 epoch) = _market.noteDisputeOpened(taskId, k);
        if (msg.sender == node) revert ChallengerIsNode(msg.sender);
        DisputeClaim.checkProof(k, step, leaf, proof, traceRoot, segSteps);
        disputeId = _record(taskId, k, step, leaf, node, epoch);
    }

    /// @inheritdoc IStepAdjudicator
    function openEndStateDispute(TaskId taskId, uint256 k) external nonReentrant returns (DisputeId disputeId) {
        (address node,, uint256 segSteps, uint32 epoch) = _market.noteDisputeOpened(taskId, k);
        if (msg.sender == node) revert ChallengerIsNode(msg.sender);
        bytes32 key = DisputeClaim.commitmentKey(taskId, epoch, k);
        uint256 prev = _endStateDisputes[key];
        // INVARIANT: one unresolved end-state dispute per commitment: the claim is fixed by the commitment,
        // so a second one would ask the jury the same question and slash the node twice for one fault.
        if (prev != 0 && _disputes[prev].stage != DisputeState.Stage.Resolved) {
            revert EndStateDisputeOpen(taskId, k, DisputeId.wrap(prev));
        }
        bytes32 endStateHash = _market.segment(taskId, k).endStateHash;
        (uint256 step, bytes32 leaf) = DisputeClaim.endState(taskId, k, segSteps, endStateHash);
        _endStateDisputes[key] = _disputeCount + 1; // the id _record assigns
        disputeId = _record(taskId, k, step, leaf, node, epoch);
        emit EndStateDisputeOpened(disputeId, taskId, k, endStateHash);
    }

    function _record(TaskId taskId, uint256 k, uint256 step, bytes32 leaf, address node, uint32 epoch)
        private
        returns (DisputeId disputeId)
    {
        uint256 id = ++_disputeCount;
        uint128 bond = _params.challengeBond;
        DisputeState.Dispute storage d = _disputes[id];
        d.challenger = msg.sender;
        d.taskId = SafeCast.toUint64(TaskId.unwrap(taskId));
        d.stage = DisputeState.Stage.AwaitingDraw;
        d.node = node;
        d.k = uint32(k);
        d.taskEpoch = epoch;
        d.nodeLeaf = leaf;
        d.step = uint64(step);
        d.drawAfter = uint64(block.number + _params.drawDelay);
        _held += bond;
        disputeId = DisputeId.wrap(id);
        _token.safeTransferFrom(msg.sender, address(this), bond);
        emit DisputeOpened(disputeId, taskId, k, step, leaf, msg.sender, node, bond);
    }

    /// @inheritdoc IJuryAdjudicator
    function drawJury(DisputeId disputeId) external nonReentrant {
        DisputeState.Dispute storage d = _dispute(disputeId);
        if (d.stage != DisputeState.Stage.AwaitingDraw) revert WrongPhase(disputeId, d.phase());
        if (block.number < d.drawAfter) revert DrawTooEarly(disputeId, d.drawAfter);
        uint256 id = DisputeId.unwrap(disputeId);
        uint256 round = d.round;
        uint256 penalty = _params.jurorPenalty;
        (address[] memory pool, uint256[] memory weights) = _stakes.jurorPool();
        for (uint256 i; i < pool.length; ++i) {
            // INVARIANT: the node and the challenger never sit on their own jury.
            if (pool[i] == d.node || pool[i] == d.challenger || weights[i] < penalty) weights[i] = 0;
        }
        uint256 seed = _randomness.randomWord(keccak256(abi.encode(id, round)));
        uint256[] memory picked = JuryDraw.sample(seed, weights, _params.jurySize);
        address[] memory drawn = new address[](picked.length);
        address[] storage stored = _jurors[id][round];
        for (uint256 i; i < picked.length; ++i) {
            address juror = pool[picked[i]];
            drawn[i] = juror;
            stored.push(juror);
            _votes[id][round][juror].state = DisputeState.VoteState.Drawn;
            if (penalty != 0) _stakes.lock(juror, penalty);
        }
        uint256 commitDeadline = block.number + _params.commitWindow;
        uint256 revealDeadline = commitDeadline + _params.revealWindow;
        d.stage = DisputeState.Stage.Voting;
        d.jurorCount = uint8(picked.length);
        d.commitDeadline = uint64(commitDeadline);
        d.revealDeadline = uint64(revealDeadline);
        emit JuryDrawn(disputeId, uint8(round), drawn, commitDeadline, revealDeadline);
    }

    /// @inheritdoc IJuryAdjudicator
    function commitVote(DisputeId disputeId, bytes32 commitment) external {
        DisputeState.Dispute storage d = _dispute(disputeId);
        if (d.stage != DisputeState.Stage.Voting || block.number > d.commitDeadline) revert WrongPhase(disputeId, d.phase());
        DisputeState.Vote storage v = _votes[DisputeId.unwrap(disputeId)][d.round][msg.sender];
        if (v.state == DisputeState.VoteState.None) revert NotDrawnJuror(disputeId, msg.sender);
        if (v.state != DisputeState.VoteState.Drawn) revert AlreadyCommitted(disputeId, msg.sender);
        v.value = commitment;
        v.state = DisputeState.VoteState.Committed;
        d.commits += 1;
        emit VoteCommitted(disputeId, msg.sender);
    }

    /// @inheritdoc IJuryAdjudicator
    function revealVote(DisputeId disputeId, bytes32 leaf, bytes32 salt) external {
        DisputeState.Dispute storage d = _dispute(disputeId);
        bool commitClosed = block.number > d.commitDeadline || d.commits == d.jurorCount;
        if (d.stage != DisputeState.Stage.Voting || !commitClosed || block.number > d.revealDeadline) {
            revert WrongPhase(disputeId, d.phase());
        }
        DisputeState.Vote storage v = _votes[DisputeId.unwrap(disputeId)][d.round][msg.sender];
        if (v.state == DisputeState.VoteState.None) revert NotDrawnJuror(disputeId, msg.sender);
        if (v.state == DisputeState.VoteState.Drawn) revert NotCommitted(disputeId, msg.sender);
        if (v.state == DisputeState.VoteState.Revealed) revert AlreadyRevealed(disputeId, msg.sender);
        if (keccak256(abi.encode(disputeId, leaf, salt, msg.sender)) != v.value) {
            revert CommitmentMismatch(disputeId, msg.sender);
        }
        v.value = leaf;
        v.state = DisputeState.VoteState.Revealed;
        d.reveals += 1;
        emit VoteRevealed(disputeId, msg.sender, leaf);
    }

    /// @inheritdoc IStepAdjudicator
    function resolve(DisputeId disputeId) external nonReentrant returns (Outcome) {
        DisputeState.Dispute storage d = _dispute(disputeId);
        // INVARIANT: voting ends at revealDeadline at the latest, so every dispute can be moved on.
        if (d.stage != DisputeState.Stage.Voting || (block.number <= d.revealDeadline && d.reveals != d.jurorCount)) {
            revert WrongPhase(disputeId, d.phase());
        }
        uint256 id = DisputeId.unwrap(disputeId);
        address[] storage js = _jurors[id][d.round];
        uint256 n = js.length;
        bytes32[] memory leaves = new bytes32[](n);
        bool[] memory revealed = new bool[](n);
        for (uint256 i; i < n; ++i) {
            DisputeState.Vote storage v = _votes[id][d.round][js[i]];
            revealed[i] = v.state == DisputeState.VoteState.Revealed;
            leaves[i] = v.value;
        }
        (bool found, bytes32 majorityLeaf) = JuryDraw.majority(leaves, revealed, n);
        (address[] memory winners, uint256 pot) = _settleJurors(id, js, leaves, revealed, found, majorityLeaf);
        if (pot != 0) {
            _held += pot;
            d.penaltyPot += uint128(pot);
        }

        if (!found && d.round == 0) {
            // No strict majority: draw a new jury once.
            uint256 drawAfter = block.number + _params.drawDelay;
            d.round = 1;
            d.stage = DisputeState.Stage.AwaitingDraw;
            d.drawAfter = uint64(drawAfter);
            d.jurorCount = 0;
            d.commits = 0;
            d.reveals = 0;
            emit RedrawScheduled(disputeId, drawAfter);
            return Outcome.None;
        }
        Outcome result = !found ? Outcome.Default : (majorityLeaf == d.nodeLeaf ? Outcome.NodeRight : Outcome.NodeWrong);
        _settle(disputeId, d, result, majorityLeaf, winners);
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

    /// @dev Unlocks the jurors' stake; silent and minority jurors lose jurorPenalty to the pot.
    ///      Returns the majority jurors (empty when there is no majority) and the penalties collected.
    function _settleJurors(
        uint256 id,
        address[] storage js,
        bytes32[] memory leaves,
        bool[] memory revealed,
        bool found,
        bytes32 majorityLeaf
    ) private returns (address[] memory winners, uint256 pot) {
        uint256 n = leaves.length;
        winners = new address[](n);
        uint256 w;
        for (uint256 i; i < n; ++i) {
            bool agrees = revealed[i] && found && leaves[i] == majorityLeaf;
            // INVARIANT: silent jurors always lose; revealing jurors lose only against a majority.
            if (!revealed[i] || (found && !agrees)) {
                pot += _releaseJuror(id, js[i], true);
            } else {
                _releaseJuror(id, js[i], false);
                if (agrees) winners[w++] = js[i];
            }
        }
        assembly ("memory-safe") {
            mstore(winners, w)
        }
    }

    /// @dev Unlocks a juror's penalty lock and, if `penalise`, slashes it to this contract.
    function _releaseJuror(uint256 id, address juror, bool penalise) private returns (uint256 slashed) {
        uint256 penalty = _params.jurorPenalty;
        if (penalty == 0) return 0;
        _stakes.unlock(juror, penalty);
        if (!penalise) return 0;
        slashed = _stakes.slash(juror, penalty, address(this));
        emit JurorPenalised(DisputeId.wrap(id), juror, slashed);
    }

    /// @dev Applies the outcome to the market and credits every payout (PROTOCOL.md, dispute step 4).
    function _settle(DisputeId disputeId, DisputeState.Dispute storage d, Outcome result, bytes32 majorityLeaf, address[] memory winners)
        private
    {
        bool nodeLost = result == Outcome.NodeWrong;
        uint256 slashed = _market.noteDisputeResolved(
            disputeId, TaskId.wrap(d.taskId), d.k, d.taskEpoch, d.node, nodeLost, nodeLost ? _params.slashAmount : 0
        );
        if (nodeLost) {
            _held += slashed;
            _stakes.jail(d.node, block.number + _params.jailBlocks);
        }
        JuryPayout.Split memory s = JuryPayout.split(
            result, _params.challengeBond, d.penaltyPot, slashed, _params.challengerShareBps, _params.jurorFeeBps, winners.length
        );
        uint256 id = DisputeId.unwrap(disputeId);
        _credit(id, d.challenger, s.toChallenger);
        _credit(id, d.node, s.toNode);
        for (uint256 i; i < winners.length; ++i) {
            _credit(id, winners[i], i == 0 ? s.perJuror + s.jurorDust : s.perJuror);
        }
        d.stage = DisputeState.Stage.Resolved;
        d.outcome = result;
        d.penaltyPot = 0;
        emit DisputeResolved(disputeId, result, result == Outcome.Default ? bytes32(0) : majorityLeaf, slashed);
    }

    function _credit(uint256 id, address account, uint256 amount) private {
        if (amount == 0) return;
        _owed[account] += amount;
        emit PayoutCredited(DisputeId.wrap(id), account, amount);
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
        return _dispute(disputeId).toView(_params.challengeBond);
    }

    /// @inheritdoc IJuryAdjudicator
    function phase(DisputeId disputeId) external view returns (DisputePhase) {
        return _dispute(disputeId).phase();
    }

    /// @inheritdoc IJuryAdjudicator
    function jurors(DisputeId disputeId) external view returns (address[] memory) {
        DisputeState.Dispute storage d = _dispute(disputeId);
        return _jurors[DisputeId.unwrap(disputeId)][d.round];
    }

    /// @inheritdoc IJuryAdjudicator
    function vote(DisputeId disputeId, address juror) external view returns (VoteView memory v) {
        DisputeState.Dispute storage d = _dispute(disputeId);
        DisputeState.Vote storage x = _votes[DisputeId.unwrap(disputeId)][d.round][juror];
        v.committed = x.state >= DisputeState.VoteState.Committed;
        v.revealed = x.state == DisputeState.VoteState.Revealed;
        if (x.state == DisputeState.VoteState.Committed) v.commitment = x.value;
        if (v.revealed) v.leaf = x.value;
    }

    /// @inheritdoc IJuryAdjudicator
    function voteCommitment(DisputeId disputeId, bytes32 leaf, bytes32 salt, address juror)
        external
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(disputeId, leaf, salt, juror));
    }

    /// @inheritdoc IJuryAdjudicator
    function owed(address account) external view returns (uint256) {
        return _owed[account];
    }

    /// @inheritdoc IJuryAdjudicator
    function endStateDisputeOf(TaskId taskId, uint256 k) external view returns (DisputeId) {
        return DisputeId.wrap(_endStateDisputes[DisputeClaim.commitmentKey(taskId, _market.task(taskId).epoch, k)]);
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

    /// @inheritdoc IJuryAdjudicator
    function stakeManager() external view returns (address) {
        return address(_stakes);
    }

    /// @inheritdoc IJuryAdjudicator
    function market() external view returns (address) {
        return address(_market);
    }

    /// @inheritdoc IJuryAdjudicator
    function randomness() external view returns (address) {
        return address(_randomness);
    }

    function _dispute(DisputeId disputeId) private view returns (DisputeState.Dispute storage d) {
        d = _disputes[DisputeId.unwrap(disputeId)];
        if (d.stage == DisputeState.Stage.None) revert UnknownDispute(disputeId);
    }

}
