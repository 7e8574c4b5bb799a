"""The task spec (PROTOCOL.md "Task spec"): a typed model, canonical JSON, and its keccak256 hash.

The canonical form is ``json.dumps(spec, sort_keys=True, separators=(",", ":"))`` of the
camelCase document, UTF-8, no trailing newline. ``specHash = keccak256(canonical bytes)`` is what
the requester puts on-chain. CIDs (``teacher.cid``, ``dataset.manifestCid``) are opaque strings
here: the prover is handed already-fetched local directories.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from prover.errors import SpecValidationError
from veritrain.errors import ProverError

SPEC_VERSION = 1
#: The data schedule of a spec without a ``schedule`` field (every v1 task).
DEFAULT_SCHEDULE = "keccak-v1"
#: The schemes a new spec gets (``spec init``, the presets, the demo): the v2 state hash and data
#: schedule, which the referee game checks element by element (docs/referee.md). The fields'
#: absent values stay the v1 ones, so a spec that names (or omits) the v1 schemes (blake3 or
#: sha256, keccak-v1) keeps its bytes, its hash and its replay.
NEW_STATE_HASH = "tree-v2"
NEW_SCHEDULE = "keccak-v2"

#: Deepest array/object nesting accepted in a JSON document the prover reads (specs, leaves
#: files, state.json need < 10). Checked before ``json.loads``, whose C parser recurses per level
#: and overflows the C stack (a crash, not an exception) when the recursion limit was raised.
MAX_JSON_DEPTH = 64
# One JSON string (possibly unterminated, possessive: linear time) or one bracket.
_JSON_TOKENS = re.compile(r'"(?:[^"\\]++|\\.)*+"?|[\[\]{}]')


def _too_deep(text: str) -> bool:
    depth = 0
    for m in _JSON_TOKENS.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif c in "]}":
            depth -= 1
    return False


def load_json(data: bytes | str, what: str, error: type[ProverError]) -> Any:
    """``json.loads`` for untrusted documents: any malformed input raises ``error`` naming
    ``what`` (not UTF-8/16/32, not JSON, nested deeper than MAX_JSON_DEPTH, an integer over
    Python's digit limit). NaN/Infinity literals parse as floats; callers check ranges."""
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode(json.detect_encoding(data), "surrogatepass")
        except UnicodeDecodeError as exc:
            raise error(f"{what} is not UTF-8 text: {exc}",
                        hint="write it as UTF-8 JSON") from None
    if _too_deep(data):
        raise error(f"{what} nests arrays/objects more than {MAX_JSON_DEPTH} deep",
                    hint="this is not a document veritrain wrote; check where it came from")
    try:
        return json.loads(data)
    except ValueError as exc:  # JSONDecodeError, or an integer over sys.get_int_max_str_digits()
        raise error(f"{what} is not valid JSON: {exc}") from None


class _Model(BaseModel):
    # allow_inf_nan=False: every float field is finite (canonical JSON has no NaN/Infinity).
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              frozen=True, allow_inf_nan=False)


class TeacherSpec(_Model):
    #: Content id of the teacher model directory (opaque to the prover).
    cid: str = Field(min_length=1)
    #: Architecture class name in the teacher's config.json (v1: "BertModel").
    arch: Literal["BertModel"] = "BertModel"


#: Student architectures (``student.config.model_type``; absent means "bert"). "electra" is a
#: BERT encoder whose token embeddings are ``embedding_size`` wide with a learned projection up
#: to ``hidden_size``: a narrow vocabulary table, most of a small student's parameters.
STUDENT_ARCHS = ("bert", "electra")


class StudentInit(_Model):
    #: "random": uniform init from the spec seed; "teacher": copy the chosen teacher layers (same
    #: width); an electra student's narrow embeddings start from the teacher's tables projected
    #: on their top singular subspace (prover.teacher_init).
    method: Literal["random", "teacher"] = "random"
    #: Teacher layer indices copied into the student's layers (method "teacher").
    layers: list[int] = Field(default_factory=list)


class StudentSpec(_Model):
    #: Hugging Face BertConfig fields of the student (dropout must be 0: no hidden RNG draws);
    #: ``model_type: "electra"`` plus ``embedding_size`` selects a narrow-embedding student.
    config: dict[str, Any]
    #: How the student's weights start.
    init: StudentInit = Field(default_factory=StudentInit)

    @field_validator("config")
    @classmethod
    def _config_rules(cls, cfg: dict[str, Any]) -> dict[str, Any]:
        for key in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                    "intermediate_size", "vocab_size", "max_position_embeddings"):
            if not isinstance(cfg.get(key), int) or cfg[key] <= 0:
                raise ValueError(f"student.config.{key} must be a positive "
                                 f"integer, got {cfg.get(key)!r}")
        arch = cfg.get("model_type", "bert")
        if arch not in STUDENT_ARCHS:
            raise ValueError("student.config.model_type must be one of "
                             f"{', '.join(STUDENT_ARCHS)}, got {arch!r}")
        if arch == "electra" and (not isinstance(cfg.get("embedding_size"), int)
                                  or cfg["embedding_size"] <= 0):
            raise ValueError("student.config.embedding_size must be a positive integer for an "
                             f"electra student, got {cfg.get('embedding_size')!r}")
        if cfg["hidden_size"] % cfg["num_attention_heads"]:
            raise ValueError("student.config.hidden_size must be a multiple "
                             f"of num_attention_heads, got {cfg['hidden_size']} and "
                             f"{cfg['num_attention_heads']}")
        for key in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            if cfg.get(key) != 0:
                raise ValueError(f"student.config.{key} must be 0 (dropout would draw from the "
                                 f"global RNG), got {cfg.get(key)!r}")
        return cfg


class DatasetSpec(_Model):
    #: Content id of the dataset manifest directory (opaque to the prover).
    manifest_cid: str = Field(min_length=1)
    #: Number of fixed-length samples in the manifest.
    num_samples: int = Field(gt=0)
    #: 0x-hex Merkle root of the manifest's sample hashes (checked against the local manifest).
    sample_root: str

    @field_validator("sample_root")
    @classmethod
    def _hex32(cls, v: str) -> str:
        if (len(v) != 66 or not v.startswith("0x")
                or any(c not in "0123456789abcdef" for c in v[2:])):
            raise ValueError(f"dataset.sampleRoot must be 0x + 64 lowercase hex digits, got {v!r}")
        return v


class LossSpec(_Model):
    #: Which distillation loss (see docs/prover.md).
    type: Literal["kl_logits", "mse_hidden", "mse_embedding"] = "mse_hidden"
    #: Softmax temperature of kl_logits (ignored by the MSE losses).
    temperature: float = Field(default=2.0, gt=0)
    #: Weight of the cosine term (1 - cos) added to the main term.
    alpha: float = Field(default=1.0, ge=0)


class OptimizerSpec(_Model):
    #: Optimizer name (v1: fused AdamW only).
    name: Literal["adamw"] = "adamw"
    #: Peak learning rate.
    lr: float = Field(gt=0)
    #: Adam betas.
    betas: tuple[float, float] = (0.9, 0.999)
    #: Adam epsilon.
    eps: float = Field(default=1e-8, gt=0)
    #: Decoupled weight decay.
    weight_decay: float = Field(default=0.01, ge=0)
    #: Linear warmup steps (0: none).
    warmup_steps: int = Field(default=0, ge=0)
    #: LR decay after warmup: "constant" or "cosine" down to lr * minLrRatio at totalSteps.
    decay: Literal["constant", "cosine"] = "cosine"
    #: Floor of the cosine decay as a fraction of lr.
    min_lr_ratio: float = Field(default=0.1, ge=0, le=1)
    #: Global gradient-norm clip (0: no clipping).
    grad_clip: float = Field(default=1.0, ge=0)


class ProfileSpec(BaseModel):
    """Determinism profile named by the spec; prover.profile holds what each name pins."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow",
                              frozen=True, allow_inf_nan=False)
    #: Registered profile name (prover.profile.PROFILES).
    name: str
    #: Exact torch version string the trace was made with.
    torch: str
    #: Intra-op threads (OMP_NUM_THREADS and torch.set_num_threads).
    threads: int = Field(ge=1)
    #: Training dtype (v1: float32).
    dtype: Literal["float32"] = "float32"


class TaskSpec(_Model):
    """A knowledge-distillation task: everything a replay needs besides the fetched bytes."""

    version: Literal[1] = 1
    kind: Literal["kd"] = "kd"
    teacher: TeacherSpec
    student: StudentSpec
    dataset: DatasetSpec
    loss: LossSpec = Field(default_factory=LossSpec)
    optimizer: OptimizerSpec
    # Counts are strict integers (JSON ``true`` is no batch size) in the chain's uint64 range.
    #: Samples per optimizer step.
    batch_size: int = Field(gt=0, strict=True)
    #: Tokens per sample (must equal the manifest's).
    seq_len: int = Field(gt=1, strict=True)
    #: Optimizer steps of the whole task (a multiple of segmentSteps; TaskParams.totalSteps).
    total_steps: int = Field(gt=0, lt=2**64, strict=True)
    #: Steps per committed segment (a power of two; TaskParams.segmentSteps).
    segment_steps: int = Field(gt=0, lt=2**64, strict=True)
    #: Root seed; every RNG derives from it (and the task id).
    seed: int = Field(ge=0, lt=2**63, strict=True)
    profile: ProfileSpec
    #: Digest of the canonical state serialization ("sha256", "blake3"), or "tree-v2": the root
    #: of a tree over the state tensors' commitments (docs/referee.md "State hash v2").
    state_hash: Literal["sha256", "blake3", "tree-v2"] = "blake3"
    #: Data schedule: "keccak-v1" (sorted keccak keys per epoch; the v1 tasks', and the
    #: canonical form omits it) or "keccak-v2" (a keyed Feistel permutation that Solidity can
    #: evaluate per sample: docs/referee.md "Data schedule v2").
    schedule: Literal["keccak-v1", "keccak-v2"] = "keccak-v1"

    @field_validator("segment_steps")
    @classmethod
    def _pow2(cls, v: int) -> int:
        if v & (v - 1):
            raise ValueError(f"segmentSteps must be a power of two, got {v}")
        return v

    @model_validator(mode="after")
    def _cross_field(self) -> TaskSpec:
        if self.total_steps % self.segment_steps:
            raise ValueError("totalSteps must be a multiple of segmentSteps "
                             f"({self.segment_steps}), got {self.total_steps}")
        if self.seq_len > self.student.config["max_position_embeddings"]:
            raise ValueError(f"seqLen must be <= student.config.max_position_embeddings "
                             f"({self.student.config['max_position_embeddings']}), "
                             f"got {self.seq_len}")
        if self.optimizer.warmup_steps > self.total_steps:
            raise ValueError(f"optimizer.warmupSteps must be <= totalSteps ({self.total_steps}), "
                             f"got {self.optimizer.warmup_steps}")
        return self

    # ---- canonical form -------------------------------------------------------------------
    def to_doc(self) -> dict[str, Any]:
        """The camelCase JSON document (plain dicts/lists). The v1 schedule is the absent
        field, so every spec written before ``schedule`` existed keeps its bytes and hash."""
        doc = self.model_dump(mode="json", by_alias=True)
        if doc["schedule"] == DEFAULT_SCHEDULE:
            del doc["schedule"]
        return doc

    def canonical_bytes(self) -> bytes:
        return canonical_json(self.to_doc())

    def spec_hash(self) -> bytes:
        """keccak256 of the canonical bytes (32 bytes)."""
        from eth_hash.auto import keccak

        return keccak(self.canonical_bytes())

    def spec_hash_hex(self) -> str:
        return "0x" + self.spec_hash().hex()

    def num_segments(self) -> int:
        return self.total_steps // self.segment_steps


def canonical_json(doc: Any) -> bytes:
    """Sorted keys, compact separators, UTF-8, no NaN/Infinity."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _format(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "value_error":  # our validators already name the field and the rule
            parts.append(str(err["msg"]).removeprefix("Value error, "))
        else:
            parts.append(f"{loc or 'spec'}: {err['msg']}" + (f", got {err['input']!r}"
                         if err["type"] not in ("missing", "extra_forbidden") else ""))
    return "; ".join(parts)


def parse_spec(doc: dict[str, Any]) -> TaskSpec:
    """Validate a spec document; errors name the field and the rule."""
    try:
        return TaskSpec.model_validate(doc)
    except ValidationError as exc:
        raise SpecValidationError(f"invalid task spec: {_format(exc)}",
                                  errors=exc.errors()) from None


def loads_spec(data: bytes | str) -> TaskSpec:
    doc = load_json(data, "task spec", SpecValidationError)
    if not isinstance(doc, dict):
        raise SpecValidationError("task spec must be a JSON object")
    return parse_spec(doc)


def load_spec(path: str | Path) -> TaskSpec:
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise SpecValidationError(f"spec file {p} does not exist", hint="check the path") from None
    except OSError as exc:
        raise SpecValidationError(f"cannot read spec file {p}: {exc}",
                                  hint="check the path") from None
    return loads_spec(data)


def save_spec(spec: TaskSpec, path: str | Path) -> Path:
    p = Path(path)
    p.write_bytes(spec.canonical_bytes())
    return p
