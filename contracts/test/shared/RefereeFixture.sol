// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {VeriToken} from "../../src/VeriToken.sol";
import {StakeManager} from "../../src/StakeManager.sol";
import {TaskMarket} from "../../src/TaskMarket.sol";
import {OneStepAdjudicator} from "../../src/OneStepAdjudicator.sol";
import {StepEvaluator} from "../../src/referee/StepEvaluator.sol";
import {StepPrograms} from "../../src/referee/StepPrograms.sol";
import {JuryAdjudicator} from "../../src/JuryAdjudicator.sol";
import {PrevrandaoRandomness} from "../../src/PrevrandaoRandomness.sol";
import {Float32} from "../../src/libraries/Float32.sol";
import {TraceMerkle} from "../../src/libraries/TraceMerkle.sol";
import {StepOp, StepOps} from "../../src/referee/StepOp.sol";
import {Programs} from "../../src/referee/Programs.sol";
import {TraceMerkleBuilder} from "../support/TraceMerkleBuilder.sol";
import {TensorTrees} from "../support/TensorTrees.sol";
import {DeployParams, DeployParamsFile} from "../../script/DeployParams.sol";
import {TaskId, TaskParams, SegmentRoots, Outcome} from "../../src/types/Ids.sol";
import {StepGraph, RefereeParams} from "../../src/types/RefereeTypes.sol";

/// @notice How the node's trace of the disputed step is wrong (None: honest).
enum Fault {
    None,
    /// @dev One fma of element E of the GEMM rounds one unit too high (step 2 of its chain).
    WrongFma,
    /// @dev Element E of the GEMM reads A[m, 1] + 1 instead of the state's A[m, 1] (step 1).
    WrongInput,
    /// @dev Every op is right but the state after the step keeps the old Y: its hash is not the
    ///      state the ops produce.
    StaleState,
    /// @dev Every op is right but the state after changes A, which the step keeps (final ref
    ///      State(1)).
    AlteredKept,
    /// @dev (RowsFixture) Step faultStep of element faultAt of op faultOp rounds one unit too
    ///      high; the node's later steps build on it.
    WrongStep
}

/// @notice A synthetic step graph with real binary32 arithmetic, its honest trace, and a node
///         whose trace has one Fault, on a real market + OneStepAdjudicator deployment.
///         State: Y [2,300], A [2,4], B [4,300]; teacher: bias [300]; scalar table [64,1] (lr).
///         op0 = A @ B + bias (GEMM, fma chain K=4), op1 = op0 * lr (lr broadcast by a stride-0
///         index map), op2 = op1 + Y, op3..op8 = COPY chain of op2 (so the op bisection takes
///         two rounds); the new state is (op8, A, B). Kinds and attrs as prover/trace/kinds.py.
abstract contract RefereeFixture is Test {
    /// @dev The roots of the fixture task's commitment of each segment (SegmentCommitted has them;
    ///      the market keeps a digest).
    mapping(uint256 k => SegmentRoots) internal committedRoots;
    uint256 internal constant NODE_STAKE = 1000e18;
    uint256 internal constant REWARD = 5000e18;
    uint64 internal constant SEG = 16;
    uint64 internal constant TOTAL = 64;
    uint256 internal constant BPS = 10_000;
    uint256 internal constant N_OPS = 9;
    /// @dev The element the faults hit.
    uint256 internal constant E = 345;
    /// @dev The disputed step: segment 1's second step unless a test moves it (before
    ///      _nodeCommits) to the first step of a segment, of the task, or a segment's last step.
    uint256 internal T = 18;

    DeployParams internal dp;
    RefereeParams internal rp;
    uint256 internal BOND;
    uint256 internal SLASH;
    uint256 internal SLASH_TO_REQUESTER;

    VeriToken internal token;
    StakeManager internal stakes;
    TaskMarket internal market;
    OneStepAdjudicator internal referee;
    /// @dev The market's other adjudicator (tasks created without a step graph).
    JuryAdjudicator internal jury;
    address internal requester;
    address internal node;
    address internal challenger;
    TaskId internal taskId;

    /// @dev The state before the step (Y, A, B), the teacher's bias, the scalar table.
    uint32[][3] internal stateT;
    uint32[] internal bias;
    uint32[] internal scalars;
    /// @dev Op outputs: the honest trace and the node's.
    uint32[][N_OPS] internal honestOut;
    uint32[][N_OPS] internal nodeOut;
    Fault internal fault;
    /// @dev The GEMM element the fault hits (E unless a fuzz test moves it).
    uint256 internal faultAt = E;
    bytes32 internal stateBefore;
    bytes32 internal honestAfter;
    bytes32 internal nodeAfter;

    function setUp() public virtual {
        vm.roll(100);
        dp = DeployParamsFile.load(vm, makeAddr("treasury"));
        rp = DeployParamsFile.referee(vm);
        BOND = rp.challengeBond;
        SLASH = NODE_STAKE * dp.market.disputeSlashBps / BPS;
        SLASH_TO_REQUESTER = SLASH * dp.market.requesterShareBps / BPS;
        token = new VeriToken(0);
        stakes = new StakeManager(address(token), dp.unbondingBlocks, dp.minJurorStake);
        market = new TaskMarket(address(token), address(stakes), dp.market);
        referee = new OneStepAdjudicator(
            address(token), address(stakes), address(market), new StepEvaluator(new StepPrograms()), rp
        );
        jury = new JuryAdjudicator(
            address(token), address(stakes), address(market), address(new PrevrandaoRandomness()), dp.jury
        );
        stakes.wire(address(market), address(jury), address(referee));
        market.setAdjudicators(address(jury), address(referee));
        requester = _actor("requester", 0);
        node = _actor("node", 3 * NODE_STAKE);
        challenger = _actor("challenger", 0);
        _buildStep();
        StepGraph memory g = graph();
        vm.prank(requester);
        taskId = market.createTaskWithGraph("bafyspec", keccak256("spec"), REWARD, _taskParams(), g);
        vm.prank(node);
        market.claimTask(taskId);
    }

    function _taskParams() internal pure returns (TaskParams memory) {
        return TaskParams({
            totalSteps: TOTAL,
            segmentSteps: SEG,
            challengeWindow: 40,
            segmentDeadline: 200,
            nodeStake: uint128(NODE_STAKE)
        });
    }

    function _actor(string memory name, uint256 stake) internal returns (address a) {
        a = makeAddr(name);
        token.mint(a, 100_000e18);
        vm.startPrank(a);
        token.approve(address(stakes), type(uint256).max);
        token.approve(address(market), type(uint256).max);
        token.approve(address(referee), type(uint256).max);
        if (stake != 0) stakes.deposit(stake);
        vm.stopPrank();
    }

    // ------------------------------------------------------------------ the step graph

    function _u32(uint256 a, uint256 b) internal pure returns (uint32[] memory d) {
        d = new uint32[](b == 0 ? 1 : 2);
        d[0] = uint32(a);
        if (b != 0) d[1] = uint32(b);
    }

    function _a19(int64[19] memory x) internal pure returns (int64[] memory a) {
        a = new int64[](19);
        for (uint256 i; i < 19; ++i) {
            a[i] = x[i];
        }
    }

    function _a15(int64[15] memory x) internal pure returns (int64[] memory a) {
        a = new int64[](15);
        for (uint256 i; i < 15; ++i) {
            a[i] = x[i];
        }
    }

    /// @dev attrs of an elementwise op over [2, 300] with `slots` plain input slots.
    function _plain(uint256 slots) internal pure returns (int64[] memory a) {
        a = new int64[](4 * slots);
        for (uint256 i; i < slots; ++i) {
            (a[4 * i], a[4 * i + 1], a[4 * i + 2]) = (2, 2, 300);
        }
    }

    function _refs(uint8 k0, uint32 i0, uint8 k1, uint32 i1, uint256 n)
        internal
        pure
        returns (uint8[] memory kinds, uint32[] memory idx)
    {
        kinds = new uint8[](n);
        idx = new uint32[](n);
        kinds[0] = k0;
        idx[0] = i0;
        if (n > 1) (kinds[1], idx[1]) = (k1, i1);
    }

    /// @notice Op i of the graph (prover/trace/graph.py encoding: kind attrs, then per slot its
    ///         logical rank, dims, nLevels and levels).
    function op(uint256 i) public pure virtual returns (StepOp memory o) {
        o.index = uint32(i);
        o.dims = _u32(2, 300);
        if (i == 0) {
            o.kind = Programs.GEMM;
            (o.refKinds, o.refIndices) = _refs(0, 1, 0, 2, 3);
            (o.refKinds[2], o.refIndices[2]) = (2, 0); // teacher bias
            // nb, M, N, K, fused, hasBias; A [1,2,4]; B [1,4,300]; bias [300]; no index maps.
            o.attrs = _a19([int64(1), 2, 300, 4, 1, 1, 3, 1, 2, 4, 0, 3, 1, 4, 300, 0, 1, 300, 0]);
        } else if (i == 1) {
            o.kind = Programs.MUL;
            (o.refKinds, o.refIndices) = _refs(4, 0, 3, 0, 2);
            // lr is expanded over [2, 300] by a STRIDED level with strides 0.
            o.attrs = _a15([int64(2), 2, 300, 0, 2, 2, 300, 1, 0, 0, 2, 2, 300, 0, 0]);
        } else if (i == 2) {
            o.kind = Programs.ADD;
            (o.refKinds, o.refIndices) = _refs(4, 1, 0, 0, 2);
            o.attrs = _plain(2);
        } else {
            o.kind = Programs.COPY;
            (o.refKinds, o.refIndices) = _refs(4, uint32(i - 1), 0, 0, 1);
            o.attrs = _plain(1);
        }
    }

    /// @notice The graph's final refs: state tensor 0 after the step is op 8, 1 and 2 are A and B.
    function finalLeaves() public pure virtual returns (bytes32[] memory l) {
        l = new bytes32[](3);
        l[0] = sha256(abi.encodePacked(uint32(0), uint8(4), uint32(N_OPS - 1)));
        l[1] = sha256(abi.encodePacked(uint32(1), uint8(0), uint32(1)));
        l[2] = sha256(abi.encodePacked(uint32(2), uint8(0), uint32(2)));
    }

    /// @notice The op leaf, through the contract's own encoder (StepOps.leaf; its bytes are
    ///         checked against the Python packer in TensorCommit.t.sol).
    function opLeaf(StepOp calldata o) external pure returns (bytes32) {
        return StepOps.leaf(o);
    }

    function graphLeaves() public view returns (bytes32[] memory l) {
        l = new bytes32[](N_OPS);
        for (uint256 i; i < N_OPS; ++i) {
            l[i] = this.opLeaf(op(i));
        }
    }

    function graph() public view virtual returns (StepGraph memory g) {
        bytes32[] memory t = new bytes32[](1);
        t[0] = TensorTrees.commit(bias, _u32(300, 0));
        g.graphRoot = TensorTrees.root(graphLeaves());
        g.teacherRoot = TensorTrees.root(t);
        g.scalarRoot = TensorTrees.root(scalarRows());
        g.totalSteps = TOTAL;
        g.initialState = _stateRoot(stateT[0], 0);
        g.finalRoot = TensorTrees.root(finalLeaves());
        g.nOps = uint32(N_OPS);
        g.nState = 3;
        g.nTeacher = 1;
        // No op reads the batch here; the dataset fields only have to be set.
        (g.sampleRoot, g.seed, g.numSamples, g.batchSize, g.seqLen) = (keccak256("dataset"), 7, 1000, 2, 300);
    }

    /// @notice Leaves of the scalar tree: sha256 of each step's row (one float32 here: lr).
    function scalarRows() public view returns (bytes32[] memory l) {
        l = new bytes32[](TOTAL);
        for (uint256 t; t < TOTAL; ++t) {
            l[t] = sha256(scalarRow(t + 1));
        }
    }

    /// @notice Row of step t of the scalar table, float32 little-endian.
    function scalarRow(uint256 t) public view returns (bytes memory) {
        uint32 v = scalars[t - 1];
        return abi.encodePacked(uint8(v), uint8(v >> 8), uint8(v >> 16), uint8(v >> 24));
    }

    function stateDims(uint256 j) internal pure virtual returns (uint32[] memory) {
        return j == 0 ? _u32(2, 300) : (j == 1 ? _u32(2, 4) : _u32(4, 300));
    }

    /// @dev A value in [-6, 6) with a fractional part that makes products round.
    function _val(uint256 seed) internal pure returns (uint32) {
        int64 x = int64(int256(uint256(keccak256(abi.encode(seed))) % 12_001)) - 6000;
        return Float32.div(Float32.fromInt(x), Float32.fromInt(1000));
    }

    function _fill(uint32[] storage dst, uint256 n, uint256 salt) internal {
        for (uint256 i; i < n; ++i) {
            dst.push(_val(salt * 1_000_003 + i));
        }
    }

    function _buildStep() internal virtual {
        _fill(stateT[0], 600, 1);
        _fill(stateT[1], 8, 2);
        _fill(stateT[2], 1200, 3);
        _fill(bias, 300, 4);
        for (uint256 i; i < TOTAL; ++i) {
            scalars.push(Float32.div(Float32.fromInt(int64(int256(i + 1))), 0x42C80000));
        }
        for (uint256 e; e < 600; ++e) {
            uint32[] memory p = program(0, e, Fault.None);
            honestOut[0].push(p[p.length - 1]);
        }
    }

    /// @dev The honest trace of step T (op 0 does not depend on the step; lr does).
    function _honestStep() internal virtual {
        for (uint256 i = 1; i < N_OPS; ++i) {
            delete honestOut[i];
        }
        _downstream(honestOut);
        stateBefore = _stateRoot(stateT[0], T - 1);
        honestAfter = _stateRoot(honestOut[N_OPS - 1], T);
    }

    /// @dev Ops 1..5 from op 0 (the same code for the honest node and a faulty one).
    function _downstream(uint32[][N_OPS] storage out) internal {
        uint32 lr = scalars[T - 1];
        for (uint256 e; e < 600; ++e) {
            out[1].push(Float32.mul(out[0][e], lr));
            out[2].push(Float32.add(out[1][e], stateT[0][e]));
        }
        for (uint256 i = 3; i < N_OPS; ++i) {
            out[i] = out[2];
        }
    }

    /// @notice State hash v2 of (Y, A, B) after step `t` (the scalar leaf is a stand-in).
    function _stateRoot(uint32[] memory y, uint256 t) internal view returns (bytes32) {
        return TensorTrees.root(_stateLeaves(y, t));
    }

    function _stateLeaves(uint32[] memory y, uint256 t) internal view virtual returns (bytes32[] memory l) {
        l = new bytes32[](4);
        l[0] = TensorTrees.commit(y, stateDims(0));
        l[1] = TensorTrees.commit(stateT[1], stateDims(1));
        l[2] = TensorTrees.commit(stateT[2], stateDims(2));
        l[3] = sha256(abi.encodePacked("veritrain/state/v2", uint64(t)));
    }

    /// @notice Element e's program of op i as a node with `f` computes it.
    function program(uint256 i, uint256 e, Fault f) public view virtual returns (uint32[] memory r) {
        if (i != 0) {
            r = new uint32[](1);
            r[0] = (f == Fault.None ? honestOut[i] : nodeOut[i])[e];
            return r;
        }
        (uint256 m, uint256 n) = (e / 300, e % 300);
        r = new uint32[](5);
        uint32 acc;
        for (uint256 k; k < 4; ++k) {
            uint32 a = stateT[1][m * 4 + k];
            if (f == Fault.WrongInput && e == faultAt && k == 1) a = Float32.add(a, 0x3F800000);
            acc = Float32.fma(a, stateT[2][k * 300 + n], acc);
            if (f == Fault.WrongFma && e == faultAt && k == 2) acc += 1;
            r[k] = acc;
        }
        r[4] = Float32.add(acc, bias[n]);
    }

    /// @notice Builds the node's trace with fault `f` and commits segments 0 and 1 with it.
    function _nodeCommits(Fault f) internal virtual {
        _honestStep();
        fault = f;
        for (uint256 i; i < N_OPS; ++i) {
            delete nodeOut[i];
        }
        for (uint256 e; e < 600; ++e) {
            uint32[] memory p = program(0, e, f == Fault.StaleState ? Fault.None : f);
            nodeOut[0].push(p[p.length - 1]);
        }
        _downstream(nodeOut);
        nodeAfter = TensorTrees.root(_nodeAfterLeaves());
        _commitSegment(0, nodeAfter);
        _commitSegment(1, nodeAfter);
    }

    /// @dev Commits segment k; leaf `T-1` holds stateBefore and leaf T `afterHash` when in it.
    function _commitSegment(uint256 k, bytes32 afterHash) internal {
        bytes32[] memory l = _segmentLeaves(k, afterHash);
        bytes32 end = _stateHashAt((k + 1) * SEG, afterHash);
        bytes32 root = TraceMerkleBuilder.computeRoot(l);
        vm.prank(node);
        market.commitSegment(taskId, k, root, end, "ckpt", "leaves", l);
        committedRoots[k] = SegmentRoots(root, end);
    }

    /// @dev The committed roots of segment k-1 (zeros for k == 0), for an open's `previous`.
    function _previousRoots(uint256 k) internal view returns (SegmentRoots memory r) {
        if (k != 0) r = committedRoots[k - 1];
    }

    function _segmentLeaves(uint256 k, bytes32 afterHash) internal view returns (bytes32[] memory l) {
        uint256 id = TaskId.unwrap(taskId);
        l = new bytes32[](SEG);
        for (uint256 i; i < SEG; ++i) {
            uint256 t = k * SEG + i + 1;
            l[i] = TraceMerkle.leaf(id, t, _stateHashAt(t, afterHash));
        }
    }

    /// @dev The node's state hash after step t: stateBefore at T-1, `afterHash` at T, filler else.
    function _stateHashAt(uint256 t, bytes32 afterHash) internal view returns (bytes32) {
        if (t == T - 1) return stateBefore;
        if (t == T && afterHash != bytes32(0)) return afterHash;
        return keccak256(abi.encode("state", t));
    }

    /// @dev Segment of step t and its leaf's index there.
    function _seg(uint256 t) internal pure returns (uint256) {
        return (t - 1) / SEG;
    }

    function _idx(uint256 t) internal pure returns (uint256) {
        return (t - 1) % SEG;
    }

    /// @dev The proof of the node's leaf T-1 (none for T = 1: the task's initial state).
    function _beforeProof() internal view returns (bytes32[] memory) {
        if (T == 1) return new bytes32[](0);
        return TraceMerkleBuilder.buildProof(_segmentLeaves(_seg(T - 1), nodeAfter), _idx(T - 1));
    }

    /// @notice The leaves of the node's state after the step (what it posts with its trace).
    function _nodeAfterLeaves() internal view returns (bytes32[] memory l) {
        l = _stateLeaves(fault == Fault.StaleState ? stateT[0] : nodeOut[N_OPS - 1], T);
        if (fault == Fault.AlteredKept) {
            uint32[] memory a = stateT[1];
            a[0] += 1;
            l[1] = TensorTrees.commit(a, stateDims(1));
        }
    }

    /// @notice The node's op output commitments for the step (the leaves of its opRoot).
    function nodeOpCommits() public view returns (bytes32[] memory c) {
        c = new bytes32[](N_OPS);
        for (uint256 i; i < N_OPS; ++i) {
            c[i] = TensorTrees.commit(nodeOut[i], op(i).dims);
        }
    }

    function honestOpCommits() public view returns (bytes32[] memory c) {
        c = new bytes32[](N_OPS);
        for (uint256 i; i < N_OPS; ++i) {
            c[i] = TensorTrees.commit(honestOut[i], op(i).dims);
        }
    }

    // ---- books ---------------------------------------------------------------------------------
    /// @dev Balances and the node's stake before a game (``_snapshotBooks``).
    uint256 internal challengerBal;
    uint256 internal requesterBal;
    uint256 internal nodeBal;
    uint256 internal nodeStaked;

    function _snapshotBooks() internal {
        challengerBal = token.balanceOf(challenger);
        requesterBal = token.balanceOf(requester);
        nodeBal = token.balanceOf(node);
        nodeStaked = stakes.stakeInfo(node).staked;
    }

    /// @dev Every party's books after one game that ended in `result`, once the winner pulled its
    ///      credit: the winner's credit, the loser's none, wallets and the node's stake to the wei.
    function _assertBooks(Outcome result) internal {
        bool nodeLost = result == Outcome.NodeWrong;
        address winner = nodeLost ? challenger : node;
        uint256 credit = nodeLost ? BOND + SLASH - SLASH_TO_REQUESTER : BOND;
        assertEq(referee.owed(winner), credit, "winner's credit");
        assertEq(referee.owed(nodeLost ? node : challenger), 0, "loser's credit");
        vm.prank(winner);
        referee.claimPayout();
        if (nodeLost) {
            assertEq(token.balanceOf(challenger), challengerBal + SLASH - SLASH_TO_REQUESTER, "challenger");
            assertEq(token.balanceOf(requester), requesterBal + SLASH_TO_REQUESTER, "requester");
            assertEq(token.balanceOf(node), nodeBal, "node");
            assertEq(stakes.stakeInfo(node).staked, nodeStaked - SLASH, "node stake");
            assertTrue(stakes.isJailed(node), "jailed");
        } else {
            assertEq(token.balanceOf(challenger), challengerBal - BOND, "challenger");
            assertEq(token.balanceOf(requester), requesterBal, "requester");
            assertEq(token.balanceOf(node), nodeBal + BOND, "node");
            assertEq(stakes.stakeInfo(node).staked, nodeStaked, "node stake");
        }
        // INVARIANT: the referee holds exactly what it owes.
        assertEq(referee.totalHeld(), 0, "held");
        assertEq(token.balanceOf(address(referee)), 0, "balance");
        assertEq(token.balanceOf(address(stakes)), stakes.totalHeld(), "stake books");
        assertEq(token.balanceOf(address(market)), market.totalEscrow(), "escrow books");
    }
}
