// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {RefereeFixture} from "./RefereeFixture.sol";
import {Opening, ConstProof, ScalarProof} from "../../src/interfaces/IOneStepAdjudicator.sol";
import {Float32} from "../../src/libraries/Float32.sol";
import {DataSchedule} from "../../src/libraries/DataSchedule.sol";
import {StepOp} from "../../src/referee/StepOp.sol";
import {Programs} from "../../src/referee/Programs.sol";
import {TraceMerkleBuilder} from "../support/TraceMerkleBuilder.sol";
import {TensorTrees} from "../support/TensorTrees.sol";
import {TaskId} from "../../src/types/Ids.sol";
import {StepGraph} from "../../src/types/RefereeTypes.sol";

/// @notice How the node's trace of the batch step is wrong (None: honest).
enum BindFault {
    None,
    /// @dev Batch row 1 holds another dataset sample than the schedule's (op 0 reads it).
    SwappedRow,
    /// @dev Element EG of op 0 adds embedding row ids[p] + 1 instead of ids[p] (GATHER).
    WrongGather,
    /// @dev Element EB of the embedding gradient (op 1) rounds its last ADD one unit too high.
    WrongEmbedSum,
    /// @dev Element EB of op 1 leaves out position MISSING (listed and summed without it).
    MissingPosition,
    /// @dev Element EB of op 1 adds position EXTRA, whose id is another row.
    ExtraPosition,
    /// @dev The scalar leaf after the step keeps the step counter and cursor of the state before.
    StaleScalar,
    /// @dev The moment tensor, which the step sets to Const(0), keeps its old values.
    StaleConst
}

/// @notice A second synthetic step for the referee's input bindings (docs/referee.md "Batch
///         inputs", "GATHER maps", "EMBED_BWD"), on the same deployment as RefereeFixture:
///         a dataset of NS samples of L tokens (its real keccak sample tree); batch B x L of step
///         T by the keccak-v2 schedule. State: wte [V, H], wpe [L, H], mom [V, H] and the real
///         scalar leaf. op0 = ADD(wte[ids], wpe[pos]) [B*L, H] (two GATHER slots, the ids from
///         Batch(0) and Batch(2)); op1 = EMBED_BWD(ids, op0) [V, H]; op2 = ADD(op1, mom)
///         (step 1: ADD(op1, Const(0)), the step-1 graph). After the step: wte = op2, wpe kept,
///         mom = Const(0).
abstract contract BindFixture is RefereeFixture {
    uint256 internal constant V = 8;
    uint256 internal constant H = 4;
    uint256 internal constant B = 2;
    uint256 internal constant L = 4;
    uint256 internal constant NPOS = B * L;
    uint256 internal constant NS = 5;
    uint64 internal constant SEED = 7;
    uint256 internal constant B_OPS = 3;
    /// @dev The elements the faults hit: op 0 element EG (position 5 = row 1), op 1 element EB.
    uint256 internal constant EG = 21;
    uint256 internal EB;
    uint256 internal MISSING;
    uint256 internal EXTRA;
    bytes32 internal constant RNG = keccak256("canonical rng json");

    /// @dev int32 tokens of every dataset sample.
    uint32[L][NS] internal samples;
    bytes32 internal sampleRoot;
    /// @dev The batch of step T (its ids as the node read them), op outputs of both traces.
    uint32[] internal ids;
    uint32[] internal nodeIds;
    uint32[][B_OPS] internal bHonest;
    uint32[][B_OPS] internal bNode;
    BindFault internal bFault;

    function _buildStep() internal override {
        _fill(stateT[0], V * H, 11);
        _fill(stateT[1], L * H, 12);
        _fill(stateT[2], V * H, 13);
        for (uint256 i; i < NS; ++i) {
            for (uint256 l; l < L; ++l) {
                samples[i][l] = uint32((i * 7 + l * 3) % 6);
            }
        }
        sampleRoot = TraceMerkleBuilder.computeRoot(_sampleLeaves());
        for (uint256 t; t < TOTAL; ++t) {
            scalars.push(0x3F800000);
        }
    }

    // ------------------------------------------------------------------ dataset and batch

    function rowBytes(uint256 i) public view returns (bytes memory b) {
        for (uint256 l; l < L; ++l) {
            uint32 v = samples[i][l];
            b = bytes.concat(b, abi.encodePacked(uint8(v), uint8(v >> 8), uint8(v >> 16), uint8(v >> 24)));
        }
    }

    function _sampleLeaves() internal view returns (bytes32[] memory l) {
        l = new bytes32[](8);
        for (uint256 i; i < NS; ++i) {
            l[i] = keccak256(abi.encode(i, keccak256(rowBytes(i))));
        }
    }

    /// @notice The dataset sample of batch row b at step t.
    function sampleOf(uint256 t, uint256 b) public view returns (uint256) {
        return DataSchedule.batchSample(sampleRoot, SEED, TaskId.unwrap(taskId), NS, B, t, b);
    }

    /// @notice Opening of Batch(0) row b: the sample's int32 tokens and its dataset proof.
    function _batchOpening(uint256 b) internal view returns (Opening memory w) {
        uint256 i = sampleOf(T, b);
        w.chunk = rowBytes(i);
        w.chunkProof = TraceMerkleBuilder.buildProof(_sampleLeaves(), i);
    }

    // ------------------------------------------------------------------ the graph

    /// @notice Op i (`first`: of the step-1 graph).
    function bop(uint256 i, bool first) public pure returns (StepOp memory o) {
        o.index = uint32(i);
        o.dims = i == 0 ? _u32(NPOS, H) : _u32(V, H);
        if (i == 0) {
            o.kind = Programs.ADD;
            (o.refKinds, o.refIndices) = _refs4(0, 0, 0, 1, 1, 0, 1, 2);
            // wte through GATHER(ids slot 2, rowLen H), wpe through GATHER(slot 3, H); slot 2 the
            // ids [NPOS]; slot 3 the position ids [NPOS] = Batch(2)[q % L] (STRIDED 0, 1).
            int64[27] memory a = [
                int64(2), int64(int256(NPOS)), int64(int256(H)), 1, 1, 2, int64(int256(H)),
                2, int64(int256(NPOS)), int64(int256(H)), 1, 1, 3, int64(int256(H)),
                1, int64(int256(NPOS)), 0,
                1, int64(int256(NPOS)), 1, 0, 0, 2, int64(int256(B)), int64(int256(L)), 0, 1
            ];
            o.attrs = new int64[](27);
            for (uint256 k; k < 27; ++k) {
                o.attrs[k] = a[k];
            }
        } else if (i == 1) {
            o.kind = 28; // EMBED_BWD
            (o.refKinds, o.refIndices) = _refs(1, 0, 4, 0, 2);
            o.attrs = new int64[](11);
            (o.attrs[0], o.attrs[1], o.attrs[2], o.attrs[3]) = (int64(int256(V)), int64(int256(H)), int64(int256(NPOS)), -1);
            (o.attrs[4], o.attrs[5], o.attrs[6]) = (1, int64(int256(NPOS)), 0);
            (o.attrs[7], o.attrs[8], o.attrs[9], o.attrs[10]) = (2, int64(int256(NPOS)), int64(int256(H)), 0);
        } else {
            o.kind = Programs.ADD;
            (o.refKinds, o.refIndices) = first ? _refs(4, 1, 5, 0, 2) : _refs(4, 1, 0, 2, 2);
            o.attrs = new int64[](8);
            for (uint256 s; s < 2; ++s) {
                (o.attrs[4 * s], o.attrs[4 * s + 1], o.attrs[4 * s + 2]) = (2, int64(int256(V)), int64(int256(H)));
            }
        }
    }

    function _refs4(uint8 k0, uint32 i0, uint8 k1, uint32 i1, uint8 k2, uint32 i2, uint8 k3, uint32 i3)
        internal
        pure
        returns (uint8[] memory kinds, uint32[] memory idx)
    {
        kinds = new uint8[](4);
        idx = new uint32[](4);
        (kinds[0], kinds[1], kinds[2], kinds[3]) = (k0, k1, k2, k3);
        (idx[0], idx[1], idx[2], idx[3]) = (i0, i1, i2, i3);
    }

    function bGraphLeaves(bool first) public view returns (bytes32[] memory l) {
        l = new bytes32[](B_OPS);
        for (uint256 i; i < B_OPS; ++i) {
            l[i] = this.opLeaf(bop(i, first));
        }
    }

    function bFinalLeaves() public pure returns (bytes32[] memory l) {
        l = new bytes32[](3);
        l[0] = sha256(abi.encodePacked(uint32(0), uint8(4), uint32(2)));
        l[1] = sha256(abi.encodePacked(uint32(1), uint8(0), uint32(1)));
        l[2] = sha256(abi.encodePacked(uint32(2), uint8(5), uint32(0)));
    }

    function graph() public view override returns (StepGraph memory g) {
        g.graphRoot = TensorTrees.root(bGraphLeaves(false));
        g.graphRoot1 = TensorTrees.root(bGraphLeaves(true));
        g.teacherRoot = keccak256("no teacher");
        g.scalarRoot = TensorTrees.root(scalarRows());
        g.totalSteps = TOTAL;
        g.initialState = _bStateRoot(stateT[0], stateT[2], 0, 0);
        g.finalRoot = TensorTrees.root(bFinalLeaves());
        g.nOps = uint32(B_OPS);
        g.nState = 3;
        g.nTeacher = 1;
        (g.sampleRoot, g.seed, g.numSamples, g.batchSize, g.seqLen) = (sampleRoot, SEED, uint64(NS), uint32(B), uint32(L));
    }

    // ------------------------------------------------------------------ state

    function bStateDims(uint256 j) internal pure returns (uint32[] memory) {
        return j == 1 ? _u32(L, H) : _u32(V, H);
    }

    function scalarLeafAt(uint64 step, uint64 cursor) public pure returns (bytes32) {
        return sha256(abi.encodePacked("veritrain/state/v2", step, RNG, cursor));
    }

    function _bStateLeaves(uint32[] memory wte, uint32[] memory mom, uint64 step, uint64 cursor)
        internal
        view
        returns (bytes32[] memory l)
    {
        l = new bytes32[](4);
        l[0] = TensorTrees.commit(wte, bStateDims(0));
        l[1] = TensorTrees.commit(stateT[1], bStateDims(1));
        l[2] = TensorTrees.commit(mom, bStateDims(2));
        l[3] = scalarLeafAt(step, cursor);
    }

    function _bStateRoot(uint32[] memory wte, uint32[] memory mom, uint64 step, uint64 cursor)
        internal
        view
        returns (bytes32)
    {
        return TensorTrees.root(_bStateLeaves(wte, mom, step, cursor));
    }

    function _beforeLeaves() internal view returns (bytes32[] memory) {
        return _bStateLeaves(stateT[0], stateT[2], uint64(T - 1), uint64((T - 1) * B));
    }

    /// @notice The leaves of the node's state after the step.
    function bAfterLeaves() public view returns (bytes32[] memory) {
        bool staleS = bFault == BindFault.StaleScalar;
        uint64 step = uint64(staleS ? T - 1 : T);
        uint32[] memory mom = bFault == BindFault.StaleConst ? stateT[2] : new uint32[](V * H);
        return _bStateLeaves(bNode[2], mom, step, step * uint64(B));
    }

    // ------------------------------------------------------------------ the step

    /// @notice op 0 element e with the given ids; `shift` adds 1 to the id (WrongGather).
    function _embed(uint32[] memory id, uint256 e, uint256 shift) internal view returns (uint32) {
        (uint256 p, uint256 c) = (e / H, e % H);
        return Float32.add(stateT[0][(id[p] + shift) * H + c], stateT[1][(p % L) * H + c]);
    }

    /// @notice The positions element e of op 1 sums (ascending), as the node with `f` lists them.
    function positions(uint32[] memory id, uint256 e, BindFault f) public view returns (uint256[] memory ps) {
        uint256 v = e / H;
        uint256 n;
        uint256[] memory all = new uint256[](NPOS);
        for (uint256 p; p < NPOS; ++p) {
            bool take = id[p] == v;
            if (e == EB && f == BindFault.MissingPosition && p == MISSING) take = false;
            if (e == EB && f == BindFault.ExtraPosition && p == EXTRA) take = true;
            if (take) all[n++] = p;
        }
        ps = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            ps[i] = all[i];
        }
    }

    /// @notice Element e's program results of op 1 as the node with `f` computes them.
    function embedProgram(uint32[] memory id, uint32[] memory grad, uint256 e, BindFault f)
        public
        view
        returns (uint32[] memory r, uint256[] memory ps)
    {
        ps = positions(id, e, f);
        r = new uint32[](ps.length == 0 ? 1 : ps.length);
        uint32 acc;
        for (uint256 i; i < ps.length; ++i) {
            acc = Float32.add(acc, grad[ps[i] * H + e % H]);
            if (f == BindFault.WrongEmbedSum && e == EB && i + 1 == ps.length) acc += 1;
            r[i] = acc;
        }
    }

    /// @notice results ++ positions, 4 bytes big-endian each (ProgramsEmbed's layout).
    function packEmbed(uint32[] memory r, uint256[] memory ps) public pure returns (bytes memory b) {
        for (uint256 i; i < r.length; ++i) {
            b = bytes.concat(b, abi.encodePacked(r[i]));
        }
        for (uint256 i; i < ps.length; ++i) {
            b = bytes.concat(b, abi.encodePacked(uint32(ps[i])));
        }
    }

    function _trace(uint32[][B_OPS] storage out, uint32[] memory id, BindFault f) internal {
        for (uint256 i; i < B_OPS; ++i) {
            delete out[i];
        }
        for (uint256 e; e < NPOS * H; ++e) {
            out[0].push(_embed(id, e, f == BindFault.WrongGather && e == EG ? 1 : 0));
        }
        for (uint256 e; e < V * H; ++e) {
            (uint32[] memory r,) = embedProgram(id, out[0], e, f);
            out[1].push(r[r.length - 1]);
            out[2].push(Float32.add(out[1][e], T == 1 ? 0 : stateT[2][e]));
        }
    }

    /// @notice The honest and the node's traces of step T; the node commits segments 0 and 1.
    function _bindCommits(BindFault f) internal {
        bFault = f;
        delete ids;
        for (uint256 b; b < B; ++b) {
            uint256 i = sampleOf(T, b);
            for (uint256 l; l < L; ++l) {
                ids.push(samples[i][l]);
            }
        }
        nodeIds = ids;
        if (f == BindFault.SwappedRow) {
            // Row 1 from the sample after the scheduled one (a different row of tokens).
            uint256 other = (sampleOf(T, 1) + 1) % NS;
            for (uint256 l; l < L; ++l) {
                nodeIds[L + l] = samples[other][l];
            }
        }
        _pickTargets();
        _trace(bHonest, ids, BindFault.None);
        _trace(bNode, nodeIds, f);
        stateBefore = TensorTrees.root(_beforeLeaves());
        nodeAfter = TensorTrees.root(bAfterLeaves());
        _commitSegment(0, nodeAfter);
        _commitSegment(1, nodeAfter);
    }

    /// @dev EB: an element of a row with two or more positions; MISSING its second position;
    ///      EXTRA the first position of another id.
    function _pickTargets() internal {
        for (uint256 v; v < V; ++v) {
            uint256[] memory ps = positions(ids, v * H, BindFault.None);
            if (ps.length >= 2) {
                EB = v * H + 1;
                MISSING = ps[1];
                for (uint256 p; p < NPOS; ++p) {
                    if (ids[p] != v) {
                        EXTRA = p;
                        return;
                    }
                }
            }
        }
        revert("no repeated token in the batch");
    }

    function bOpCommits(uint32[][B_OPS] storage out) internal view returns (bytes32[] memory c) {
        c = new bytes32[](B_OPS);
        for (uint256 i; i < B_OPS; ++i) {
            c[i] = TensorTrees.commit(out[i], bop(i, T == 1).dims);
        }
    }

    // ------------------------------------------------------------------ openings

    function _bStateOpening(uint256 j, uint256 idx) internal view returns (Opening memory w) {
        uint32[] memory vals = stateT[j];
        w.root = TensorTrees.root(TensorTrees.leaves(vals));
        w.dims = bStateDims(j);
        w.commitProof = TensorTrees.proof(_beforeLeaves(), j);
        w.chunk = TensorTrees.chunk(vals, idx >> 8);
        w.chunkProof = TensorTrees.chunkProof(vals, idx >> 8);
    }

    function _bOpOpening(uint256 i, uint256 idx) internal view returns (Opening memory w) {
        uint32[] memory vals = bNode[i];
        w.root = TensorTrees.root(TensorTrees.leaves(vals));
        w.dims = bop(i, T == 1).dims;
        w.commitProof = TensorTrees.proof(bOpCommits(bNode), i);
        w.chunk = TensorTrees.chunk(vals, idx >> 8);
        w.chunkProof = TensorTrees.chunkProof(vals, idx >> 8);
    }

    /// @notice Openings of op 0 element e: the ids row, the wte row element, the wpe element.
    function gatherOpenings(uint256 e) public view returns (Opening[] memory w) {
        uint256 p = e / H;
        w = new Opening[](3);
        w[0] = _batchOpening(p / L);
        w[1] = _bStateOpening(0, ids[p] * H + e % H);
        w[2] = _bStateOpening(1, (p % L) * H + e % H);
    }

    function constProof() public view returns (ConstProof memory p) {
        bytes32[] memory fl = bFinalLeaves();
        bytes32[] memory after_ = bAfterLeaves();
        p.slot = 2;
        p.bits = 0;
        p.finalProof = TensorTrees.proof(fl, 2);
        p.beforeRoot = TensorTrees.root(TensorTrees.leaves(stateT[2]));
        p.dims = bStateDims(2);
        p.beforeProof = TensorTrees.proof(_beforeLeaves(), 2);
        p.afterLeaf = after_[2];
        p.afterProof = TensorTrees.proof(after_, 2);
    }

    function scalarProof() public view returns (ScalarProof memory p) {
        bytes32[] memory after_ = bAfterLeaves();
        (p.step, p.rngDigest, p.cursor) = (uint64(T - 1), RNG, uint64((T - 1) * B));
        p.beforeProof = TensorTrees.proof(_beforeLeaves(), 3);
        p.afterLeaf = after_[3];
        p.afterProof = TensorTrees.proof(after_, 3);
    }
}
