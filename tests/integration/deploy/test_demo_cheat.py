"""The demo's cheat (``deploy.demo_actors.DemoCheat``) on the real training loop and the real
re-trace (tiny preset, the real teacher and corpus): the weight moved before step 3 leaves the
leaves of steps 1 and 2 honest (the background state hash of step 2 still reads the old tensor)
and changes every leaf from step 3 on; the cheater's re-trace of step 3 with
``DemoCheat.mutation`` starts from the honest state of step 2 and ends at the cheater's own
state of step 3, so its referee bot answers every move consistently with its leaf."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deploy.demo_actors import DemoCheat
from prover import segment
from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec
from prover.trace.commit import root_of
from prover.trace.retrace import retrace

TASK, STEP = 4, 3
PARAM = "encoder.layer.0.attention.self.query.weight"


def test_demo_cheat_moves_one_weight_at_its_step_and_the_retrace_repeats_it(
        tmp_path: Path) -> None:
    spec = preset_spec("tiny", seed=13)
    teacher, data = default_teacher_dir(), default_dataset_dir(spec.seq_len)
    honest = segment.run_segment(spec, TASK, 0, None, teacher, data, tmp_path / "honest")
    cheat = DemoCheat(STEP, param=PARAM)
    cheated = segment.run_segment(spec, TASK, 0, None, teacher, data, tmp_path / "cheat",
                                  hooks=cheat)
    assert cheat.fired
    assert cheated.state_hashes[:STEP - 1] == honest.state_hashes[:STEP - 1]
    assert all(a != b for a, b in zip(cheated.state_hashes[STEP - 1:],
                                      honest.state_hashes[STEP - 1:], strict=True))
    assert cheat.mutation(TASK, STEP + 1) is None and cheat.mutation(TASK, STEP) is not None

    view = retrace(spec, TASK, STEP, None, teacher, data, mutate=cheat.mutation(TASK, STEP))
    assert root_of(view.before_leaves) == honest.state_hashes[STEP - 2]  # what it posts
    assert view.recorded.state_hash_after == cheated.state_hashes[STEP - 1]  # its leaf 3
    # the traced weight is the committed one with element 0 one ulp up, nothing else moved
    plain = retrace(spec, TASK, STEP, None, teacher, data)
    j = view.recorded.graph.state_names.index(PARAM)
    moved, kept = view.tensors.state[j], plain.tensors.state[j]
    assert moved[0] == np.nextafter(kept[0], np.float32(np.inf), dtype=np.float32)
    assert np.array_equal(moved[1:].view(np.uint32), kept[1:].view(np.uint32))
