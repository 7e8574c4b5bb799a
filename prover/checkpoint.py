"""Checkpoint directories (PROTOCOL.md): config.json, model.safetensors, optimizer.safetensors,
state.json. ``transformers.AutoModel.from_pretrained(dir)`` loads the student; the loader here
restores the exact training state, and checks that it re-hashes to the recorded state hash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prover import merkle, statehash
from prover.errors import CheckpointError

if TYPE_CHECKING:
    from prover.spec import TaskSpec

FILES = ("config.json", "model.safetensors", "optimizer.safetensors", "state.json")


def save(out_dir: str | Path, spec: TaskSpec, task_id: int, student: Any, optimizer: Any,
         step: int, rng: dict[str, Any], cursor: int, state_hash: bytes) -> Path:
    """Write the full training state at ``step``."""
    from safetensors.torch import save_file

    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    student.save_pretrained(str(d), safe_serialization=True)
    tensors = {name: t.detach().contiguous() for name, t in
               statehash.optimizer_tensors(student, optimizer)}
    save_file(tensors, str(d / "optimizer.safetensors"), metadata={"format": "veritrain-adamw-v1"})
    state = {"step": step, "rng": rng, "dataCursor": cursor, "specHash": spec.spec_hash_hex(),
             "taskId": task_id, "stateHash": merkle.hex32(state_hash),
             "stateHashAlgo": spec.state_hash}
    (d / "state.json").write_text(json.dumps(state, sort_keys=True, indent=1))
    return d


def read_state(ckpt_dir: str | Path) -> dict[str, Any]:
    d = Path(ckpt_dir)
    missing = [f for f in FILES if not (d / f).is_file()]
    if missing:
        raise CheckpointError(f"checkpoint {d} lacks {', '.join(missing)}", path=str(d),
                              hint="a checkpoint dir holds " + ", ".join(FILES))
    doc: dict[str, Any] = json.loads((d / "state.json").read_text())
    return doc


def load_student(ckpt_dir: str | Path, spec: TaskSpec, task_id: int) -> tuple[Any, int]:
    """The student at the checkpoint's step (exact tensors), and that step."""
    from safetensors.torch import load_file
    from transformers import BertModel

    from prover import model

    d = Path(ckpt_dir)
    state = read_state(d)
    if state["specHash"] != spec.spec_hash_hex():
        raise CheckpointError(f"checkpoint {d} was made for spec {state['specHash']}, not "
                              f"{spec.spec_hash_hex()}", path=str(d))
    if int(state["taskId"]) != task_id:
        raise CheckpointError(f"checkpoint {d} belongs to task {state['taskId']}, not {task_id}",
                              path=str(d))
    student = BertModel(model.student_config(spec), add_pooling_layer=True)
    student.config._attn_implementation = model.ATTN_IMPL
    tensors = load_file(str(d / "model.safetensors"))
    result = student.load_state_dict(tensors, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(f"checkpoint {d} model does not fit the spec's student: missing "
                              f"{result.missing_keys[:3]}, unexpected {result.unexpected_keys[:3]}",
                              path=str(d))
    student.train()
    return student, int(state["step"])


def load_optimizer(ckpt_dir: str | Path, student: Any, optimizer: Any) -> None:
    """Put the saved AdamW state (exp_avg, exp_avg_sq, step per parameter) into ``optimizer``."""
    from safetensors.torch import load_file

    d = Path(ckpt_dir)
    saved = load_file(str(d / "optimizer.safetensors"))
    params = dict(student.named_parameters())
    for key, t in saved.items():
        name, _, field = key.rpartition("/")
        if name not in params:
            raise CheckpointError(f"optimizer state names unknown parameter {name}", path=str(d))
        optimizer.state[params[name]][field] = t.clone()


def verify(ckpt_dir: str | Path, trainer: Any) -> bytes:
    """Re-hash a loaded trainer and compare with state.json's stateHash."""
    state = read_state(ckpt_dir)
    got = trainer.state_hash()
    if merkle.hex32(got) != state["stateHash"]:
        raise CheckpointError(f"checkpoint {ckpt_dir} re-hashes to {merkle.hex32(got)}, "
                              f"state.json says {state['stateHash']}", path=str(ckpt_dir))
    return got
