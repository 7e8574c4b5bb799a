"""Checkpoint directories (PROTOCOL.md): config.json, model.safetensors, optimizer.safetensors,
state.json, and the one judge of what state such a directory holds.

:func:`held_state` is the only definition of "directory D holds state S for spec X": the
auditor, the juror, a node continuing from a checkpoint and the consumer's pull all call it (or
:func:`require_state`), so none of them can see a state another would not. The node's
config.json is never read: a continuing node builds the student from the spec, and a consumer
gets a config.json rebuilt from the spec (:func:`export_model`). The dtype policy is
:data:`STATE_DTYPE`.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prover import merkle, statehash
from prover.errors import CheckpointError

if TYPE_CHECKING:
    from prover.spec import TaskSpec

#: What ``save`` writes (config.json for humans and ``from_pretrained``; nobody trusts it).
FILES = ("config.json", "model.safetensors", "optimizer.safetensors", "state.json")
#: What a checkpoint must hold to hold a state (see :func:`held_state`).
REQUIRED = ("model.safetensors", "optimizer.safetensors", "state.json")
#: Dtype policy, stated once: every tensor of a training state (weights and AdamW state) is
#: float32, stored as training holds it. A tensor of any other dtype is not that state even if
#: its values round to it: nothing is ever cast on load, by anyone.
STATE_DTYPE = "float32"
#: The AdamW fields a checkpoint stores per parameter.
ADAMW_FIELDS = ("exp_avg", "exp_avg_sq", "step")


class Defect(enum.Enum):
    """Why a directory holds no state (or not the expected one): ``CheckpointError.defect``."""

    MISSING = "missing file"
    UNREADABLE = "unreadable file"
    LABEL = "state.json label"
    DTYPE = "dtype"
    NAMES = "tensor names"
    SHAPE = "tensor shape"
    STATE_HASH = "state hash"


@dataclass(frozen=True)
class HeldState:
    """The state a checkpoint directory holds (:func:`held_state`): tensors as hashed."""

    step: int
    params: list[tuple[str, Any]]
    optim: list[tuple[str, Any]]
    state_hash: bytes


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
        raise CheckpointError(f"cannot read {d / name}: {exc}", path=str(d),
                              defect=Defect.UNREADABLE) from None
    return load_json(data, f"checkpoint {d} {name}", CheckpointError)


def read_state(ckpt_dir: str | Path) -> dict[str, Any]:
    """state.json of a checkpoint dir, with every field present and of the right type."""
    d = Path(ckpt_dir)
    missing = [f for f in REQUIRED if not (d / f).is_file()]
    if missing:
        raise CheckpointError(f"checkpoint {d} lacks {', '.join(missing)}", path=str(d),
                              hint="a checkpoint dir holds " + ", ".join(REQUIRED),
                              defect=Defect.MISSING)
    doc = _read_json(d, "state.json")
    if not isinstance(doc, dict):
        raise CheckpointError(f"checkpoint {d} state.json must be a JSON object, got "
                              f"{type(doc).__name__}", path=str(d), hint=_REWRITE,
                              defect=Defect.LABEL)
    for key, kind in STATE_FIELDS.items():
        if key not in doc:
            raise CheckpointError(f"checkpoint {d} state.json lacks {key!r}", path=str(d),
                                  hint=_REWRITE, defect=Defect.LABEL)
        value = doc[key]
        bad_int = kind is int and (isinstance(value, bool) or not isinstance(value, int)
                                   or value < 0)
        if bad_int or not isinstance(value, kind):
            raise CheckpointError(f"checkpoint {d} state.json {key} must be a "
                                  f"{'non-negative integer' if kind is int else kind.__name__}, "
                                  f"got {value!r:.60}", path=str(d), hint=_REWRITE,
                                  defect=Defect.LABEL)
    return doc


def _load_tensors(d: Path, name: str) -> dict[str, Any]:
    """A safetensors file of the checkpoint, every tensor in the one dtype a state has."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors: dict[str, Any] = load_file(str(d / name))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"checkpoint {d} {name} is not a readable safetensors file: {exc}",
                              path=str(d), hint=_REWRITE, defect=Defect.UNREADABLE) from None
    for key, t in tensors.items():
        if statehash.dtype_name(t) != STATE_DTYPE:
            raise CheckpointError(f"checkpoint {d} {name} tensor {key} has dtype "
                                  f"{statehash.dtype_name(t)}; a training state is {STATE_DTYPE} "
                                  "only (a cast copy is another state)", path=str(d),
                                  hint=_REWRITE, defect=Defect.DTYPE)
    return tensors


_SHAPES: dict[str, dict[str, tuple[int, ...]]] = {}


def _student_shapes(spec: TaskSpec) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes of the spec's student (built on the meta device: no memory)."""
    import torch

    from prover import model

    key = spec.spec_hash_hex()
    if key not in _SHAPES:
        with torch.device("meta"):
            student = model.new_student(spec)
        _SHAPES[key] = {n: tuple(t.shape) for n, t in student.state_dict().items()}
    return _SHAPES[key]


def _check_names(d: Path, params: dict[str, Any], optim: dict[str, Any],
                 shapes: dict[str, tuple[int, ...]]) -> None:
    """Exactly the student's tensors, and AdamW fields of known parameters, in their shapes."""
    missing, extra = sorted(set(shapes) - set(params)), sorted(set(params) - set(shapes))
    if missing or extra:
        raise CheckpointError(f"checkpoint {d} model tensors do not fit the spec's student: "
                              f"missing {missing[:3]}, unexpected {extra[:3]}", path=str(d),
                              hint=_REWRITE, defect=Defect.NAMES)
    wrong = [f"{k} {tuple(t.shape)} (expected {shapes[k]})" for k, t in sorted(params.items())
             if tuple(t.shape) != shapes[k]]
    for key, t in sorted(optim.items()):
        name, _, field = key.rpartition("/")
        if name not in shapes or field not in ADAMW_FIELDS:
            raise CheckpointError(f"checkpoint {d} optimizer state {key!r} is not an AdamW field "
                                  f"({', '.join(ADAMW_FIELDS)}) of a student parameter",
                                  path=str(d), hint=_REWRITE, defect=Defect.NAMES)
        want = () if field == "step" else shapes[name]
        if tuple(t.shape) != want:
            wrong.append(f"{key} {tuple(t.shape)} (expected {want})")
    if wrong:
        raise CheckpointError(f"checkpoint {d} tensors have the wrong shape: "
                              f"{', '.join(wrong[:3])}",
                              path=str(d), hint=_REWRITE, defect=Defect.SHAPE)


def held_state(ckpt_dir: str | Path, spec: TaskSpec, task_id: int,
               step: int | None = None) -> HeldState:
    """THE definition of the state a checkpoint directory holds for ``spec``'s task ``task_id``.

    Auditors, jurors, a node starting a segment and the consumer's pull all ask this function
    and nothing else. A directory holds the state whose canonical hash (prover.statehash) is
    computed from its two safetensors files, read as stored (no cast, no model in between), the
    step, and the RNG and data cursor the spec derives for that step. Read from the node's
    files: model.safetensors, optimizer.safetensors and state.json (its step, spec and task
    labels; with ``step`` given, the label must say that step). Never read: config.json and
    anything else in the directory (whoever needs a config rebuilds it from the spec,
    :func:`export_model`). Every tensor must be ``STATE_DTYPE`` and the model tensors exactly
    the spec's student's; otherwise it holds no state (CheckpointError with a ``defect``).
    """
    from prover import schedule
    from prover.train import rng_state

    d = Path(ckpt_dir)
    state = read_state(d)
    labels = {"specHash": spec.spec_hash_hex(), "taskId": task_id}
    if step is not None:
        labels["step"] = step
    for key, want in labels.items():
        if state[key] != want:
            raise CheckpointError(f"checkpoint {d} state.json says {key} {state[key]!r:.70}, "
                                  f"expected {want!r}", path=str(d), hint=_REWRITE,
                                  defect=Defect.LABEL)
    params = _load_tensors(d, "model.safetensors")
    optim = _load_tensors(d, "optimizer.safetensors")
    _check_names(d, params, optim, _student_shapes(spec))
    at = int(state["step"])
    p_list, o_list = sorted(params.items()), sorted(optim.items())
    digest = statehash.digest_state(spec.state_hash, p_list, o_list, at,
                                    rng_state(spec, task_id), schedule.cursor_after(spec, at))
    return HeldState(at, p_list, o_list, digest)


def require_state(ckpt_dir: str | Path, spec: TaskSpec, task_id: int, expected: bytes | None,
                  step: int | None = None) -> HeldState:
    """:func:`held_state`, refused unless it is ``expected`` (None: the state.json label)."""
    held = held_state(ckpt_dir, spec, task_id, step)
    label = read_state(ckpt_dir)["stateHash"]
    want = merkle.hex32(expected) if expected is not None else str(label).lower()
    if merkle.hex32(held.state_hash) != want:
        whose = "the expected state" if expected is not None else "state.json's stateHash"
        raise CheckpointError(f"checkpoint {ckpt_dir} holds state {merkle.hex32(held.state_hash)}, "
                              f"{whose} is {want}", path=str(ckpt_dir), hint=_REWRITE,
                              defect=Defect.STATE_HASH)
    return held


def load_student(held: HeldState, spec: TaskSpec) -> Any:
    """The spec's student holding exactly ``held``'s parameters (train mode)."""
    from prover import model

    student = model.new_student(spec)
    student.load_state_dict(dict(held.params), strict=True)
    student.train()
    return student


def load_optimizer(held: HeldState, student: Any, optimizer: Any) -> None:
    """Put ``held``'s AdamW state (exp_avg, exp_avg_sq, step per parameter) into ``optimizer``."""
    params = dict(student.named_parameters())
    for key, t in held.optim:
        name, _, field = key.rpartition("/")
        optimizer.state[params[name]][field] = t.clone()


def export_model(held: HeldState, spec: TaskSpec, out_dir: str | Path) -> Path:
    """What a consumer loads: config.json rebuilt from the spec, model.safetensors re-serialized
    from the checked tensors (nothing of the node's files is copied)."""
    from safetensors.torch import save_file

    from prover import model

    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    cfg = model.student_config(spec)
    cfg.architectures = ["ElectraModel" if cfg.model_type == "electra" else "BertModel"]
    cfg.save_pretrained(str(d))
    save_file({n: t.contiguous() for n, t in held.params}, str(d / "model.safetensors"),
              metadata={"format": "pt"})
    return d


def verify(ckpt_dir: str | Path, trainer: Any) -> bytes:
    """Re-hash a loaded trainer and compare with state.json's stateHash."""
    state = read_state(ckpt_dir)
    got = trainer.state_hash()
    if merkle.hex32(got) != state["stateHash"]:
        raise CheckpointError(f"checkpoint {ckpt_dir} re-hashes to {merkle.hex32(got)}, "
                              f"state.json says {state['stateHash']}", path=str(ckpt_dir))
    return got
