"""The vectors the on-chain row programs are checked against
(contracts/test/libraries/ProgramVectors.t.sol, contracts/test/unit/RefereeRows.t.sol): the
synthetic row-kind programs and the rows game's honest trace are what the reference
(prover/trace/programs.py, prover/trace/evaluate.py) gives today."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parents[2] / "vectors" / "trace"


def _generator(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(("script", "output"), [
    ("make_rows_vectors", "programs_synthetic.json"),
    ("make_rows_game", "rows_game.json"),
])
def test_rows_vectors_regenerate_identically(script: str, output: str) -> None:
    committed = json.loads((HERE / output).read_text())
    assert _generator(script).build() == committed, (
        f"tests/vectors/trace/{output} is stale: run "
        f".venv/bin/python tests/vectors/trace/{script}.py and commit it"
    )


def test_synthetic_vectors_cover_the_row_kinds_a_tiny_step_lacks() -> None:
    doc = json.loads((HERE / "programs_synthetic.json").read_text())
    assert {"LOGSOFTMAX", "LOGSOFTMAX_BWD", "FSUM", "FSUM_SQ"} <= set(doc["kinds"])
    # a blocked sum whose last block is short: two lengths for one op
    lengths = {v["length"] for v in doc["vectors"] if v["kind"] == "FSUM"}
    assert len(lengths) == 2
