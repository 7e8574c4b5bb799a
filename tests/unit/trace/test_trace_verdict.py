"""The verdict formatter's pure pieces (prover/trace/verdict.py): an op read back from its
on-chain encoding hashes to the same graph leaf, ulp distances, and the checked step of a
small GEMM (one product posted wrong) named operand by operand from its openings."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest

from prover.trace import commit
from prover.trace.commit import TraceError
from prover.trace.evaluate import Tensors, bits, from_bits, mul, run
from prover.trace.game import results_bytes
from prover.trace.graph import Level, Op, Ref, Slot, StepGraph
from prover.trace.kinds import MapLevel, OpKind, RefKind
from prover.trace.programs import program
from prover.trace.verdict import op_of, report, text, ulp_distance


@dataclass(frozen=True)
class _StepOp:
    index: int
    kind: int
    refKinds: tuple[int, ...]
    refIndices: tuple[int, ...]
    dims: tuple[int, ...]
    attrs: tuple[int, ...]


def _enc(op: Op) -> _StepOp:
    return _StepOp(op.index, int(op.kind), tuple(int(s.ref.kind) for s in op.slots),
                   tuple(s.ref.index for s in op.slots), op.shape, op.attrs)


#: out[2, 2] = A[2, 3] @ B[3, 2] + bias[2]; B is State(1), a [2, 3] weight read transposed.
GEMM = Op(1, OpKind.GEMM, (2, 2), (
    Slot(Ref(RefKind.OP, 0), (1, 2, 3)),
    Slot(Ref(RefKind.STATE, 1), (1, 3, 2), (Level(MapLevel.STRIDED, 0, (1, 3, 2), (0, 1, 3)),)),
    Slot(Ref(RefKind.STATE, 2), (2,))), (1, 2, 2, 3, 0, 1), "linear")


def test_op_of_reads_back_every_slot_and_level() -> None:
    gather = Op(4, OpKind.COPY, (3, 2), (
        Slot(Ref(RefKind.STATE, 0), (3, 2), (Level(MapLevel.GATHER, ids_slot=1, row_len=2),
                                             Level(MapLevel.STRIDED, 5, (2,), (1,)))),
        Slot(Ref(RefKind.BATCH, 0), (3,))))
    for op in (GEMM, gather):
        back = op_of(_enc(op))
        assert back.leaf() == op.leaf() and back.slots == op.slots and back.kattrs == op.kattrs
    with pytest.raises(TraceError, match="left over"):
        op_of(replace(_enc(GEMM), attrs=(*GEMM.attrs, 7)))
    with pytest.raises(TraceError, match="do not parse"):
        op_of(replace(_enc(GEMM), attrs=GEMM.attrs[:-2]))


def test_ulp_distance_counts_representable_steps() -> None:
    one = bits(np.float32(1.0))
    assert ulp_distance(one, one) == 0 and ulp_distance(one, one + 1) == 1
    assert ulp_distance(0x80000000, 0) == 1 and ulp_distance(0x80000001, 0x00000001) == 3
    assert ulp_distance(0x7FC00000, one) is None
    assert ulp_distance(bits(np.float32(-1.0)), one) == 2 * (one + 1) - 1


@dataclass(frozen=True)
class _Opening:
    dims: tuple[int, ...]
    chunk: bytes


@dataclass(frozen=True)
class _Checked:
    s: int
    opcode: int
    claimed: int
    computed: int
    op: _StepOp
    results: bytes
    openings: tuple[_Opening, ...]


@dataclass(frozen=True)
class _End:
    dispute_id: int = 3
    task_id: int = 2
    segment: int = 1
    step: int = 11
    node: str = "0xnode"
    challenger: str = "0xchallenger"
    winner: str = "0xchallenger"
    outcome: str = "NODE_WRONG"
    decision: str = "STEP"
    block: int = 99
    tx_hash: str = "0xabc"
    slashed: int = 500 * 10**18
    slash_to_adjudicator: int = 4025 * 10**17
    graph_root: bytes = b""
    op_index: int | None = 1
    op_dims: tuple[int, ...] | None = (2, 2)
    element: int | None = 3
    element_bits: int | None = 0
    program_length: int | None = 7
    checked: _Checked | None = None
    final: None = None
    timed_out: None = None
    node_lost: bool | None = None


def _chunk(values: np.ndarray) -> bytes:
    return values.astype("<f4").tobytes().ljust(commit.CHUNK_BYTES, b"\0")


def test_checked_step_names_its_operands_and_both_results() -> None:
    a = np.array([0.5, -1.25, 3.0, 2.0, 1.0, -7.5], np.float32)
    w = np.array([0.3, 0.7, -1.1, 1.9, 1.5, 5.5], np.float32)  # [2, 3]: B[k, n] = w[n, k]
    bias = np.array([0.25, -0.5], np.float32)
    graph = StepGraph([Op(0, OpKind.COPY, (1, 2, 3), (Slot(Ref(RefKind.STATE, 0), (6,)),)),
                       GEMM], ["x", "encoder.q.weight", "encoder.q.bias"])
    t = Tensors([a, w, bias], [], [], [], [a, np.zeros(4, np.float32)])
    e, k = 3, 1  # out[1, 1]; the node's product of k = 1 uses w[1, 1] one ulp up
    steps = program(GEMM, e)
    posted = run(GEMM, steps, t)
    wrong = np.nextafter(w[4], np.float32(np.inf), dtype=np.float32)
    posted[2 * k] = mul(a[3 + k], wrong)
    results = results_bytes(steps, posted)
    honest = mul(a[3 + k], w[4])
    openings = (_Opening((1, 2, 3), _chunk(a)), _Opening((2, 3), _chunk(w)))
    claimed = bits(np.float32(posted[2 * k]))
    checked = _Checked(2 * k, 3, claimed, bits(honest), _enc(GEMM), results, openings)
    end = _End(checked=checked, graph_root=graph.root())
    doc = report(end, graph)
    chk = doc["check"]
    assert doc["op"]["name"] == "op 1 GEMM linear reading encoder.q.weight, encoder.q.bias " \
                                "(2x3 @ 3x2 + bias)"
    assert doc["element"]["at"] == "[1, 1]" and chk["opcode"] == "MUL"
    x, b = chk["operands"]
    assert x["source"] == "A[0, 1, 1] = Op(0) COPY[0, 1, 1]"
    assert x["bits"] == f"0x{bits(a[4]):08x}"
    assert b["source"] == "B[0, 1, 1] = State(1) encoder.q.weight[1, 1]"
    assert from_bits(int(b["bits"], 16)) == w[4]
    assert chk["computed"] == chk["reference"] == f"0x{bits(honest):08x}"
    assert chk["ulps"] == ulp_distance(claimed, bits(honest)) == 1
    shown = text(doc)
    assert "NODE WRONG, the challenger 0xchallenger won; the node was slashed 500 VERI " \
           "(402.5 VERI of it to the challenger)" in shown
    assert "1 ulp apart" in shown and "binary32 gives:" in shown
    # a graph that is not the task's is refused, and so is one whose op differs
    with pytest.raises(TraceError, match="not to task 2's graphRoot"):
        report(replace(end, graph_root=bytes(32)), graph)
    other = StepGraph([graph.ops[0], replace(GEMM, kattrs=(1, 2, 2, 3, 1, 1))],
                      graph.state_names)
    with pytest.raises(TraceError, match="is not the op the game checked"):
        report(replace(end, graph_root=other.root()), other)
    # without a graph: no names, the same numbers
    bare = report(end)
    assert bare["op"]["name"] == "op 1 GEMM (2x3 @ 3x2 + bias)" and bare["check"] == chk | {
        "operands": bare["check"]["operands"]}
    assert bare["check"]["operands"][1]["source"] == "B[0, 1, 1] = State(1)[1, 1]"
