// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../../base/Test.sol";
import {TraceMerkleBuilder} from "../../support/TraceMerkleBuilder.sol";
import {Traces} from "../../shared/Fixture.sol";
import {VeriToken} from "../../../src/VeriToken.sol";
import {StakeManager} from "../../../src/StakeManager.sol";
import {TaskMarket} from "../../../src/TaskMarket.sol";
import {JuryAdjudicator} from "../../../src/JuryAdjudicator.sol";
import {IJuryAdjudicator} from "../../../src/interfaces/IJuryAdjudicator.sol";
import {TraceMerkle} from "../../../src/libraries/TraceMerkle.sol";
import {
    TaskId, DisputeId, TaskParams, TaskStatus, TaskView, DisputeView, DisputePhase, Outcome, MarketParams,
    ReleaseReason, SegmentRoots
} from "../../../src/types/Ids.sol";

/// @notice Drives the protocol with honest and dishonest actors and keeps ghost variables:
///         - nodes: `honestNode` (every leaf replays) and `badNode` (diverges from a step of each task);
///         - challengers: `honestChallenger` (disputes the first divergent step only) and
///           `liarChallenger` (disputes a random step);
///         - jurors: honest ones reveal the replayed leaf, `silentJuror` never votes, `copycat` reveals the node's leaf;
///         - `treasury` receives juror penalties; jurors may leave and rejoin the pool (starving draws).
contract ProtocolHandler is Test {
    /// @notice Named counters of successful actions (a guard against actions that always revert).
    struct Counters {
        uint256 tasksCreated;
        uint256 outOfBoundsRefused;
        uint256 claims;
        uint256 commits;
        uint256 disputes;
        uint256 honestDisputes;
        uint256 endStateDisputes;
        uint256 draws;
        uint256 quorumRefused;
        uint256 voteCommits;
        uint256 reveals;
        uint256 resolves;
        uint256 redraws;
        uint256 nodeRight;
        uint256 nodeWrong;
        uint256 voids;
        uint256 stalls;
        uint256 rewards;
        uint256 cancels;
        uint256 payouts;
        uint256 poolExits;
        uint256 poolJoins;
        uint256 withdrawals;
        uint256 releases;
        uint256 releaseEnds;
    }

    uint64 internal constant S = 4;
    uint64 internal constant TOTAL = 16;
    uint256 internal constant MAX_TASKS = 4;

    VeriToken public token;
    StakeManager public stakes;
    TaskMarket public market;
    JuryAdjudicator public jury;

    address public requester;
    address public honestNode;
    address public badNode;
    address public honestChallenger;
    address public liarChallenger;
    address public silentJuror;
    address public copycat;
    address public treasury;
    address[] public actors;
    Counters internal c;

    // ghosts
    mapping(uint256 => mapping(uint256 => uint256)) public segWrongFrom; // task => k => divergence step (0 honest)
    mapping(uint256 => uint256) public rewardClaims; // task => successful claimReward calls
    mapping(address => uint256) public credited; // adjudicator credits seen
    mapping(address => uint256) public paid; // payouts pulled
    uint256 public escrowIn;
    uint256 public escrowOut;
    bool public honestNodeSlashedByDispute;
    bool public doublePayout;
    bool public acceptedOutOfBounds;
    bool public unpaidRevealingJuror;
    /// @dev #14: the requester gained from a stall, or got back more than a task's escrow.
    bool public requesterPaidByWithholding;
    uint256 public penaltiesTaken; // juror stake lost in resolves
    uint256[] public disputeIds;

    constructor(VeriToken t, StakeManager s, TaskMarket m, JuryAdjudicator j, address[] memory cast) {
        token = t;
        stakes = s;
        market = m;
        jury = j;
        requester = cast[0];
        honestNode = cast[1];
        badNode = cast[2];
        honestChallenger = cast[3];
        liarChallenger = cast[4];
        silentJuror = cast[5];
        copycat = cast[6];
        treasury = cast[10];
        actors = cast;
    }

    function disputeCountGhost() external view returns (uint256) {
        return disputeIds.length;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    // ------------------------------------------------------------ actions

    function createTask(uint256 reward) external {
        if (market.taskCount() >= MAX_TASKS) return;
        reward = bound(reward, 0, 1000e18);
        TaskParams memory p = TaskParams(TOTAL, S, 20, 60, 500e18);
        vm.prank(requester);
        market.createTask("spec", keccak256("spec"), reward, p);
        escrowIn += reward;
        c.tasksCreated++;
    }

    /// @notice Findings 2, 4, 5, 7: a requester tries terms outside the market's bounds (huge
    ///         windows and deadlines, zero stake, segments too long to replay): always refused.
    function createHostileTask(uint256 which, uint256 value) external {
        MarketParams memory m = market.params();
        TaskParams memory p = TaskParams(TOTAL, S, 20, 60, 500e18);
        which = which % 4;
        if (which == 0) p.segmentDeadline = uint64(bound(value, uint256(m.maxSegmentDeadline) + 1, type(uint64).max));
        if (which == 1) p.challengeWindow = uint64(bound(value, uint256(m.maxChallengeWindow) + 1, type(uint64).max));
        if (which == 2) p.nodeStake = uint128(bound(value, 0, uint256(m.minNodeStake) - 1));
        if (which == 3) {
            p.segmentSteps = m.maxSegmentSteps * 2;
            p.totalSteps = p.segmentSteps;
        }
        vm.prank(requester);
        try market.createTask("spec", keccak256("spec"), 0, p) {
            acceptedOutOfBounds = true;
        } catch {
            c.outOfBoundsRefused++;
        }
    }

    function claim(uint256 taskSeed, bool honest, uint256 wrongFrom) external {
        (bool ok, uint256 id) = _pickTask(taskSeed);
        if (!ok) return;
        address who = honest ? honestNode : badNode;
        vm.prank(who);
        try market.claimTask(TaskId.wrap(id)) {
            c.claims++;
            // The bad node diverges at a step of the remaining segments.
            uint256 next = market.task(TaskId.wrap(id)).nextSegment;
            // The bad node diverges inside its first segment (or, 1 in 4, anywhere after it).
            uint256 last = wrongFrom % 4 == 0 ? TOTAL : (next + 1) * S;
            wrongFromOf[id] = (honest || next * S >= TOTAL) ? 0 : bound(wrongFrom, next * S + 1, last);
        } catch {}
    }

    mapping(uint256 => uint256) public wrongFromOf; // task => divergence of its current node

    /// @notice The task's node commits its next `count` segments (1..4) back to back.
    function commitSegments(uint256 taskSeed, uint256 count) external {
        count = bound(count, 1, TOTAL / S);
        for (uint256 i; i < count; ++i) this.commitNext(taskSeed);
    }

    function commitNext(uint256 taskSeed) external {
        (bool ok, uint256 id) = _pickTask(taskSeed);
        if (!ok) return;
        TaskId tid = TaskId.wrap(id);
        if (market.task(tid).status != TaskStatus.Claimed) return;
        uint256 k = market.task(tid).nextSegment;
        uint256 wf = wrongFromOf[id];
        bytes32[] memory l = Traces.leaves(id, k, S, wf);
        bytes32 root = TraceMerkleBuilder.computeRoot(l);
        vm.prank(market.task(tid).node);
        bytes32 end = Traces.stateHashOf(id, (k + 1) * S, wf);
        try market.commitSegment(tid, k, root, end, "ckpt", "leaves", l) {
            segWrongFrom[id][k] = wf;
            c.commits++;
        } catch {}
    }

    function dispute(uint256 taskSeed, uint256 kSeed, uint256 stepSeed, bool honest) external {
        (bool ok, uint256 id) = _pickTask(taskSeed);
        if (!ok) return;
        TaskId tid = TaskId.wrap(id);
        uint256 next = market.task(tid).nextSegment;
        if (next == 0) return;
        uint256 k = bound(kSeed, 0, next - 1);
        if (honest) {
            // A watcher audits every segment: it picks the first divergent one.
            for (uint256 j; j < next; ++j) {
                if (segWrongFrom[id][j] != 0) {
                    k = j;
                    break;
                }
            }
        }
        uint256 wf = segWrongFrom[id][k];
        uint256 step;
        if (honest) {
            // Only the first divergent step of this segment, and only if it diverges.
            if (wf == 0 || wf > (k + 1) * S) return;
            step = wf > k * S ? wf : k * S + 1;
        } else {
            step = k * S + 1 + bound(stepSeed, 0, S - 1);
        }
        bytes32[] memory l = Traces.leaves(id, k, S, wf);
        uint256 idx = step - k * S - 1;
        vm.prank(honest ? honestChallenger : liarChallenger);
        SegmentRoots memory r = SegmentRoots(TraceMerkleBuilder.computeRoot(l), Traces.stateHashOf(id, (k + 1) * S, wf));
        SegmentRoots memory none;
        try jury.openDispute(tid, k, r, none, step, l[idx], TraceMerkleBuilder.buildProof(l, idx)) returns (DisputeId d) {
            disputeIds.push(DisputeId.unwrap(d));
            c.disputes++;
            if (honest) c.honestDisputes++;
        } catch {}
    }

    /// @notice End-state dispute (no proof: as if the node withheld its leaves). The honest challenger
    ///         opens it only on a segment whose end state is wrong; the liar on any committed segment.
    function endStateDispute(uint256 taskSeed, uint256 kSeed, bool honest) external {
        (bool ok, uint256 id) = _pickTask(taskSeed);
        if (!ok) return;
        TaskId tid = TaskId.wrap(id);
        uint256 next = market.task(tid).nextSegment;
        if (next == 0) return;
        uint256 k = bound(kSeed, 0, next - 1);
        uint256 wf = segWrongFrom[id][k];
        if (honest && (wf == 0 || wf > (k + 1) * S)) return;
        bytes32 root = TraceMerkleBuilder.computeRoot(Traces.leaves(id, k, S, wf));
        SegmentRoots memory none;
        vm.prank(honest ? honestChallenger : liarChallenger);
        try jury.openEndStateDispute(tid, k, SegmentRoots(root, Traces.stateHashOf(id, (k + 1) * S, wf)), none) returns (
            DisputeId d
        ) {
            disputeIds.push(DisputeId.unwrap(d));
            c.endStateDisputes++;
        } catch {}
    }

    /// @notice Moves one dispute a phase on (rolling to its deadline when needed), as the
    ///         watchers would: draw, honest/lazy votes, reveals, resolve.
    function playDispute(uint256 dSeed, uint256 steps) external {
        steps = bound(steps, 1, 4);
        for (uint256 i; i < steps; ++i) this.stepDispute(dSeed);
    }

    function stepDispute(uint256 dSeed) external {
        (bool ok, DisputeId d) = _pickDispute(dSeed);
        if (!ok) return;
        DisputeView memory v = jury.dispute(d);
        if (v.phase == DisputePhase.AwaitingDraw) {
            if (block.number < v.drawAfter) vm.roll(v.drawAfter);
            this.draw(dSeed);
        } else if (v.phase == DisputePhase.Commit) {
            this.commitVotes(dSeed);
            // Lazy jurors never commit: wait out the commit window.
            if (jury.phase(d) == DisputePhase.Commit) vm.roll(v.commitDeadline + 1);
        } else if (v.phase == DisputePhase.Reveal) {
            this.revealVotes(dSeed);
            if (jury.phase(d) == DisputePhase.Reveal) vm.roll(v.revealDeadline + 1);
        } else if (v.phase == DisputePhase.Resolvable) {
            this.resolve(dSeed);
        }
    }

    /// @notice Claims the task if open (honest or bad node), else commits its next segment.
    function workTask(uint256 taskSeed, bool honest, uint256 wrongFrom) external {
        (bool ok, uint256 id) = _pickTask(taskSeed);
        if (!ok) return;
        if (market.task(TaskId.wrap(id)).status == TaskStatus.Open) this.claim(taskSeed, honest, wrongFrom);
        else this.commitSegments(taskSeed, wrongFrom);
    }

    function draw(uint256 dSeed) external {
        (bool ok, DisputeId d) = _pickDispute(dSeed);
        if (!ok) return;
        try jury.drawJury(d) {
            c.draws++;
        } catch (bytes memory err) {
            if (bytes4(err) == IJuryAdjudicator.QuorumUnavailable.selector) c.quorumRefused++;
        }
    }

    function commitVotes(uint256 dSeed) external {
        (bool ok, DisputeId d) = _pickDispute(dSeed);
        if (!ok) return;
        address[] memory js = jury.jurors(d);
        for (uint256 i; i < js.length; ++i) {
            if (js[i] == silentJuror) continue;
            bytes32 leaf = _jurorLeaf(d, js[i]);
            vm.prank(js[i]);
            try jury.commitVote(d, keccak256(abi.encode(d, leaf, bytes32(uint256(7)), js[i]))) {
                c.voteCommits++;
            } catch {}
        }
    }

    function revealVotes(uint256 dSeed) external {
        (bool ok, DisputeId d) = _pickDispute(dSeed);
        if (!ok) return;
        address[] memory js = jury.jurors(d);
        for (uint256 i; i < js.length; ++i) {
            bytes32 leaf = _jurorLeaf(d, js[i]); // before the prank: it makes an external call
            vm.prank(js[i]);
            try jury.revealVote(d, leaf, bytes32(uint256(7))) {
                c.reveals++;
            } catch {}
        }
    }

    /// @dev What resolve() looks at before and after the call.
    struct Snapshot {
        address[] jurors;
        bool[] revealed;
        uint256 jurorStake;
        uint256 nodeStake;
        uint256[] owed;
    }

    function resolve(uint256 dSeed) external {
        (bool ok, DisputeId d) = _pickDispute(dSeed);
        if (!ok) return;
        DisputeView memory v = jury.dispute(d);
        Snapshot memory snap = _snapshot(d, v);
        try jury.resolve(d) returns (Outcome o) {
            _afterResolve(d, v, snap, o);
        } catch {}
    }

    function _snapshot(DisputeId d, DisputeView memory v) internal view returns (Snapshot memory snap) {
        snap.jurors = v.phase == DisputePhase.AwaitingDraw ? new address[](0) : jury.jurors(d);
        snap.revealed = new bool[](snap.jurors.length);
        for (uint256 i; i < snap.jurors.length; ++i) {
            snap.revealed[i] = jury.vote(d, snap.jurors[i]).revealed;
            snap.jurorStake += _nodeStake(snap.jurors[i]);
        }
        snap.nodeStake = _nodeStake(v.node);
        snap.owed = _owedAll();
    }

    function _afterResolve(DisputeId d, DisputeView memory v, Snapshot memory snap, Outcome o) internal {
        c.resolves++;
        if (o == Outcome.None) c.redraws++;
        else if (o == Outcome.NodeRight) c.nodeRight++;
        else if (o == Outcome.NodeWrong) c.nodeWrong++;
        else c.voids++;
        if (v.node == honestNode && _nodeStake(v.node) < snap.nodeStake) honestNodeSlashedByDispute = true;
        if (o == Outcome.NodeWrong && v.node == honestNode) honestNodeSlashedByDispute = true;
        uint256 after_;
        for (uint256 i; i < snap.jurors.length; ++i) after_ += _nodeStake(snap.jurors[i]);
        penaltiesTaken += snap.jurorStake - after_;
        for (uint256 i; i < actors.length; ++i) {
            uint256 got = jury.owed(actors[i]) - snap.owed[i];
            credited[actors[i]] += got;
            // Finding 4: a juror that revealed with the decision is paid in every final outcome.
            if (o == Outcome.None || got != 0 || !_isRevealedJuror(snap.jurors, snap.revealed, actors[i])) continue;
            if (o == Outcome.Void || jury.vote(d, actors[i]).leaf == _majority(d, o)) unpaidRevealingJuror = true;
        }
    }

    /// @notice Finding 1: a juror leaves the pool (or rejoins it), so draws may lack a quorum.
    function togglePool(uint256 actorSeed) external {
        address who = actors[bound(actorSeed, 5, 9)];
        vm.startPrank(who);
        if (stakes.stakeInfo(who).juror) {
            stakes.optOutJuror();
            c.poolExits++;
        } else {
            try stakes.optInJuror() {
                c.poolJoins++;
            } catch {}
        }
        vm.stopPrank();
    }

    /// @notice Finding 1: a dispute waits out its draw window (no quorum came) and resolves Void.
    function expireDraw(uint256 dSeed) external {
        (bool ok, DisputeId d) = _pickDispute(dSeed);
        if (!ok) return;
        DisputeView memory v = jury.dispute(d);
        bool waiting = v.phase == DisputePhase.AwaitingDraw || (v.phase == DisputePhase.Resolvable && v.jurorCount == 0);
        if (!waiting) return;
        uint256 end = uint256(v.drawAfter) + jury.params().drawExpiry;
        if (block.number <= end) vm.roll(end + 1);
        this.resolve(dSeed);
    }

    /// @notice Finding 6: a node asks to withdraw all its free stake and takes it once ready.
    function withdrawAll(bool honest) external {
        address who = honest ? honestNode : badNode;
        uint256 free = stakes.freeStake(who);
        vm.startPrank(who);
        if (free != 0) stakes.requestWithdrawal(free);
        if (stakes.stakeInfo(who).pending != 0) {
            vm.roll(stakes.stakeInfo(who).readyAt);
            stakes.withdraw();
            c.withdrawals++;
        }
        vm.stopPrank();
    }

    function timeoutStall(uint256 taskSeed) external {
        (bool ok, uint256 id) = _pickTask(taskSeed);
        if (!ok) return;
        uint256 before = token.balanceOf(requester);
        try market.timeoutStall(TaskId.wrap(id)) {
            c.stalls++;
            // #14: a stall slash never reaches the requester (it could cause the stall).
            if (token.balanceOf(requester) != before) requesterPaidByWithholding = true;
        } catch {}
    }

    /// @notice #14: the task's node gives it back for free (inputs or start checkpoint unavailable);
    ///         the last release ends the task.
    function release(uint256 taskSeed, bool startCheckpoint) external {
        (bool ok, uint256 id) = _pickTask(taskSeed);
        if (!ok) return;
        TaskId tid = TaskId.wrap(id);
        TaskView memory t = market.task(tid);
        if (t.status != TaskStatus.Claimed) return;
        uint256 before = token.balanceOf(requester);
        ReleaseReason r = startCheckpoint ? ReleaseReason.StartCheckpointUnavailable : ReleaseReason.InputsUnavailable;
        vm.prank(t.node);
        try market.releaseTask(tid, r) {
            c.releases++;
            if (market.task(tid).status == TaskStatus.Cancelled) {
                escrowOut += t.reward;
                c.releaseEnds++;
            }
            if (token.balanceOf(requester) - before > t.reward) requesterPaidByWithholding = true;
        } catch {}
    }

    function claimReward(uint256 taskSeed) external {
        (bool ok, uint256 id) = _pickTask(taskSeed);
        if (!ok) return;
        TaskId tid = TaskId.wrap(id);
        uint256 reward = market.task(tid).reward;
        address who = market.task(tid).node;
        if (market.task(tid).nextSegment == TOTAL / S) vm.roll(block.number + 21); // wait out the last window
        vm.prank(who);
        try market.claimReward(tid) {
            rewardClaims[id]++;
            escrowOut += reward;
            c.rewards++;
        } catch {}
        // A second claim must fail.
        vm.prank(who);
        try market.claimReward(tid) {
            rewardClaims[id]++;
        } catch {}
    }

    function cancel(uint256 taskSeed) external {
        (bool ok, uint256 id) = _pickTask(taskSeed);
        if (!ok) return;
        uint256 reward = market.task(TaskId.wrap(id)).reward;
        uint256 before = token.balanceOf(requester);
        vm.prank(requester);
        try market.cancelTask(TaskId.wrap(id)) {
            escrowOut += reward;
            c.cancels++;
            // #14: a cancel (of a stranded task too) refunds at most the task's escrow.
            if (token.balanceOf(requester) - before > reward) requesterPaidByWithholding = true;
        } catch {}
    }

    function claimPayout(uint256 actorSeed) external {
        address who = actors[bound(actorSeed, 0, actors.length - 1)];
        vm.prank(who);
        try jury.claimPayout() returns (uint256 amount) {
            paid[who] += amount;
            c.payouts++;
        } catch {}
        vm.prank(who);
        try jury.claimPayout() {
            doublePayout = true;
        } catch {}
    }

    function roll(uint256 blocks) external {
        vm.roll(block.number + bound(blocks, 1, 40));
        vm.prevrandao(keccak256(abi.encode(block.number)));
    }

    // ------------------------------------------------------------ helpers

    /// @dev What a juror reveals: honest jurors the replayed leaf, the copycat the node's leaf.
    function _jurorLeaf(DisputeId d, address juror) internal view returns (bytes32) {
        DisputeView memory v = jury.dispute(d);
        if (juror == copycat) return v.nodeLeaf;
        return Traces.honestLeaf(TaskId.unwrap(v.taskId), v.step);
    }

    function _isRevealedJuror(address[] memory js, bool[] memory revealed, address who) internal pure returns (bool) {
        for (uint256 i; i < js.length; ++i) {
            if (js[i] == who && revealed[i]) return true;
        }
        return false;
    }

    /// @dev The leaf the decision rests on: the node's leaf on NodeRight, the honest leaf on NodeWrong.
    function _majority(DisputeId d, Outcome o) internal view returns (bytes32) {
        DisputeView memory v = jury.dispute(d);
        return o == Outcome.NodeRight ? v.nodeLeaf : Traces.honestLeaf(TaskId.unwrap(v.taskId), v.step);
    }

    function counters() external view returns (Counters memory) {
        return c;
    }

    function _nodeStake(address who) internal view returns (uint256) {
        StakeManager.StakeInfo memory i = stakes.stakeInfo(who);
        return i.staked + i.pending;
    }

    function _owedAll() internal view returns (uint256[] memory o) {
        o = new uint256[](actors.length);
        for (uint256 i; i < actors.length; ++i) o[i] = jury.owed(actors[i]);
    }

    function _pickTask(uint256 seed) internal view returns (bool, uint256) {
        uint256 n = market.taskCount();
        if (n == 0) return (false, 0);
        return (true, bound(seed, 1, n));
    }

    function _pickDispute(uint256 seed) internal view returns (bool, DisputeId) {
        uint256 n = disputeIds.length;
        if (n == 0) return (false, DisputeId.wrap(0));
        return (true, DisputeId.wrap(disputeIds[bound(seed, 0, n - 1)]));
    }
}
