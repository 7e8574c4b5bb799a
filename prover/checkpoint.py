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


#: state.json fields and the JSON types they must have (bool is refused where int is wanted).
STATE_FIELDS: dict[str, type] = {"step": int, "rng": dict, "dataCursor": int, "specHash": str,
                                 "taskId": int, "stateHash": str, "stateHashAlgo": str}
_REWRITE = "fetch the checkpoint again, or re-run the segment that wrote it"


def _read_json(d: Path, name: str) -> Any:
    from prover.spec import load_json

    try:
        data = (d / name).read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read {d / name}: {exc}", path=str(d)) from None
    return load_json(data, f"checkpoint {d} {name}", CheckpointError)


def read_state(ckpt_dir: str | Path) -> dict[str, Any]:
    """state.json of a checkpoint dir, with every field present and of the right type."""
    d = Path(ckpt_dir)
    missing = [f for f in FILES if not (d / f).is_file()]
    if missing:
        raise CheckpointError(f"checkpoint {d} lacks {', '.join(missing)}", path=str(d),
                              hint="a checkpoint dir holds " + ", ".join(FILES))
    doc = _read_json(d, "state.json")
    if not isinstance(doc, dict):
        raise CheckpointError(f"checkpoint {d} state.json must be a JSON object, got "
                              f"{type(doc).__name__}", path=str(d), hint=_REWRITE)
    for key, kind in STATE_FIELDS.items():
        if key not in doc:
            raise CheckpointError(f"checkpoint {d} state.json lacks {key!r}", path=str(d),
                                  hint=_REWRITE)
        value = doc[key]
        bad_int = kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0)
        if bad_int or not isinstance(value, kind):
            raise CheckpointError(f"checkpoint {d} state.json {key} must be a "
                                  f"{'non-negative integer' if kind is int else kind.__name__}, "
                                  f"got {value!r:.60}", path=str(d), hint=_REWRITE)
    return doc


def _load_tensors(d: Path, name: str) -> dict[str, Any]:
    """A safetensors file of the checkpoint; a malformed one is a CheckpointError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors: dict[str, Any] = load_file(str(d / name))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"checkpoint {d} {name} is not a readable safetensors file: {exc}",
                              path=str(d), hint=_REWRITE) from None
    for key, t in tensors.items():
        if not t.is_floating_point():
            raise CheckpointError(f"checkpoint {d} {name} tensor {key} has dtype {t.dtype}, "
                                  "expected a floating-point dtype", path=str(d), hint=_REWRITE)
    return tensors


def _check_config(d: Path, spec: TaskSpec) -> None:
    """config.json (what AutoModel.from_pretrained reads) must describe the spec's student."""
    cfg = _read_json(d, "config.json")
    if not isinstance(cfg, dict):
        raise CheckpointError(f"checkpoint {d} config.json must be a JSON object", path=str(d),
                              hint=_REWRITE)
    for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                "vocab_size", "max_position_embeddings"):
        if cfg.get(key) != spec.student.config[key]:
            raise CheckpointError(f"checkpoint {d} config.json has {key}={cfg.get(key)!r:.40}, the "
                                  f"spec's student has {spec.student.config[key]}", path=str(d),
                                  hint=_REWRITE)


def load_student(ckpt_dir: str | Path, spec: TaskSpec, task_id: int) -> tuple[Any, int]:
    """The student at the checkpoint's step (exact tensors), and that step."""
    from prover import model

    d = Path(ckpt_dir)
    state = read_state(d)
    if state["specHash"] != spec.spec_hash_hex():
        raise CheckpointError(f"checkpoint {d} was made for spec {state['specHash']}, not "
                              f"{spec.spec_hash_hex()}", path=str(d))
    if state["taskId"] != task_id:
        raise CheckpointError(f"checkpoint {d} belongs to task {state['taskId']}, not {task_id}",
                              path=str(d))
    _check_config(d, spec)
    student = model.new_student(spec)
    tensors = _load_tensors(d, "model.safetensors")
    expected = student.state_dict()
    wrong = [f"{k} {tuple(t.shape)} (expected {tuple(expected[k].shape)})"
             for k, t in sorted(tensors.items()) if k in expected and t.shape != expected[k].shape]
    if wrong:
        raise CheckpointError(f"checkpoint {d} model tensors have the wrong shape: "
                              f"{', '.join(wrong[:3])}", path=str(d), hint=_REWRITE)
    result = student.load_state_dict(tensors, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(f"checkpoint {d} model does not fit the spec's student: missing "
                              f"{result.missing_keys[:3]}, unexpected {result.unexpected_keys[:3]}",
                              path=str(d))
    student.train()
    return student, state["step"]


def load_optimizer(ckpt_dir: str | Path, student: Any, optimizer: Any) -> None:
    """Put the saved AdamW state (exp_avg, exp_avg_sq, step per parameter) into ``optimizer``."""
    d = Path(ckpt_dir)
    saved = _load_tensors(d, "optimizer.safetensors")
    params = dict(student.named_parameters())
    for key, t in saved.items():
        name, _, field = key.rpartition("/")
        if name not in params:
            raise CheckpointError(f"optimizer state names unknown parameter {name}", path=str(d))
        if field not in ("exp_avg", "exp_avg_sq", "step"):
            raise CheckpointError(f"optimizer state {key}: unknown AdamW field {field!r}",
                                  path=str(d), hint=_REWRITE)
        want = params[name].shape if field != "step" else t.shape[:0]
        if t.shape != want:
            raise CheckpointError(f"optimizer state {key} has shape {tuple(t.shape)}, expected "
                                  f"{tuple(want)}", path=str(d), hint=_REWRITE)
        optimizer.state[params[name]][field] = t.clone()


def verify(ckpt_dir: str | Path, trainer: Any) -> bytes:
    """Re-hash a loaded trainer and compare with state.json's stateHash."""
    state = read_state(ckpt_dir)
    got = trainer.state_hash()
    if merkle.hex32(got) != state["stateHash"]:
        raise CheckpointError(f"checkpoint {ckpt_dir} re-hashes to {merkle.hex32(got)}, "
                              f"state.json says {state['stateHash']}", path=str(ckpt_dir))
    return got
