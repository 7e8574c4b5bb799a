"""The trace sink (prover/trace/sink.py): a real tiny step traced with its values written and
committed while it is recorded gives what tracing in phases (record, then commit, then write)
gives, byte for byte where the layout is the same, value for value everywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from prover import checkpoint
from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec
from prover.trace.commit import TraceError, commit, root_of
from prover.trace.sink import TraceSink
from prover.trace.tracer import load_trace, record_trainer_step, write_trace
from prover.train import BaseStepHooks, Trainer

TASK = 11


@pytest.fixture(scope="module", params=["repfma-1", "repcpu-2"])
def traces(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Step 2 of a tiny task traced twice from the checkpoint of step 1: in phases and with a
    sink (the same trainer state, so the same values); each profile writes other tensors in
    place (repcpu-2 clips with ATen ops)."""
    d = tmp_path_factory.mktemp("sink")
    spec = preset_spec("tiny", profile_name=request.param)
    tr = Trainer(spec, TASK, default_teacher_dir(), default_dataset_dir(spec.seq_len))
    tr.step()
    ckpt = checkpoint.save(d / "s1", spec, TASK, tr.student, tr.optimizer, tr.step_no, tr.rng,
                           tr.cursor, tr.state_hash())
    phased = record_trainer_step(tr)
    write_trace(phased, d / "phased")
    again = Trainer(spec, TASK, default_teacher_dir(), default_dataset_dir(spec.seq_len), ckpt)
    sink = TraceSink(d / "sink", threads=2)
    streamed = record_trainer_step(again, sink=sink)
    doc = write_trace(streamed, d / "sink")
    return {"dir": d, "phased": phased, "streamed": streamed, "doc": doc, "sink": sink}


def test_streamed_trace_matches_the_phased_one_succeeds(traces: dict[str, Any]) -> None:
    d: Path = traces["dir"]
    a, b = d / "phased", d / "sink"
    # the step read the same values and has the same graph
    assert (a / "inputs.f32").read_bytes() == (b / "inputs.f32").read_bytes()
    assert (a / "graph.json").read_bytes() == (b / "graph.json").read_bytes()
    ja, jb = json.loads((a / "trace.json").read_text()), json.loads((b / "trace.json").read_text())
    offsets = jb.pop("opOffsets")
    assert ja == jb  # roots, every commitment, state hashes, layout
    # the poolers were written before the recording found them dead: their bytes stay, between
    # the kept ops, and opOffsets says where each kept op is
    g = traces["streamed"].graph
    recorded = traces["sink"].offsets
    assert len(recorded) > len(g.ops) == len(offsets)
    assert offsets == [recorded[i] for i in traces["streamed"].kept]
    raw_a, raw_b = (a / "ops.f32").read_bytes(), (b / "ops.f32").read_bytes()
    at = 0
    for op, off in zip(g.ops, offsets, strict=True):
        n = 4 * op.numel
        assert raw_b[4 * off:4 * off + n] == raw_a[at:at + n], op.index
        at += n
    assert at == len(raw_a) < len(raw_b)


def test_streamed_trace_loads_to_the_recorded_values_succeeds(traces: dict[str, Any]) -> None:
    g, t, doc = load_trace(traces["dir"] / "sink")
    r = traces["streamed"]
    for loaded, kept in zip(t.ops, r.tensors.ops, strict=True):
        assert np.array_equal(loaded.view(np.uint32), kept.view(np.uint32))
    for loaded, kept in zip(t.state + t.batch + t.teacher,
                            r.tensors.state + r.tensors.batch + r.tensors.teacher, strict=True):
        assert np.array_equal(loaded.view(np.uint32), kept.view(np.uint32))
    # the sink's commitments are the commitments of what it wrote
    again = [commit(v.reshape(op.shape)).commit for op, v in zip(g.ops, t.ops, strict=True)]
    assert doc["opRoot"] == "0x" + root_of(again).hex() == "0x" + r.op_root().hex()
    assert doc["opRoot"] == "0x" + traces["phased"].op_root().hex()


def test_sink_release_keeps_the_value_before_an_overwrite_succeeds(tmp_path: Path) -> None:
    """An op whose memory is written in place after it was handed over (the clip scales the
    gradients so): the file holds the value it had, whether its job had run or not."""
    sink = TraceSink(tmp_path, threads=1)
    big = np.arange(1 << 22, dtype=np.float32)  # keeps the one thread busy a while
    small = np.full(1000, 2.5, dtype=np.float32)
    sink.op(big, (1 << 22,))
    sink.op(small, (10, 100))
    sink.release(1, small.copy())
    small[:] = -1.0
    commits = sink.finish()
    flat = np.fromfile(tmp_path / "ops.f32", dtype="<f4")
    assert np.array_equal(flat[1 << 22:], np.full(1000, 2.5, dtype=np.float32))
    assert commits[1] == commit(np.full((10, 100), 2.5, dtype=np.float32)).commit
    assert sink.finish() is commits  # finishing again gives the same list


class _Crash(BaseStepHooks):
    def on_before_update(self, step: int, student: Any, optimizer: Any) -> None:
        raise RuntimeError("the node crashed mid-step")


def test_record_with_sink_on_a_failed_step_fails(tmp_path: Path) -> None:
    """A step that fails while the sink writes leaves no half-written trace behind."""
    spec = preset_spec("tiny")
    tr = Trainer(spec, TASK, default_teacher_dir(), default_dataset_dir(spec.seq_len))
    sink = TraceSink(tmp_path / "t")
    with pytest.raises(RuntimeError, match="crashed mid-step"):
        record_trainer_step(tr, hooks=_Crash(), sink=sink)
    assert not (tmp_path / "t" / "ops.f32").exists()
    assert not (tmp_path / "t" / "inputs.f32").exists()
    with pytest.raises(TraceError, match="abandoned"):
        sink.finish()
