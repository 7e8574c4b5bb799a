"""Verified pulls: a final checkpoint from the chain's commitment to a directory transformers loads.

Trust path: the segment's ``traceRoot``/``endStateHash`` and checkpoint CID come from the
``SegmentCommitted`` event whose roots hash to the digest the TaskMarket keeps of the segment's
current commitment (``ledger.segments``; 2^152 work to forge a match); every block of the
checkpoint is checked against that CID (verified fetch); the state the checkpoint holds, as
``prover.checkpoint.held_state`` defines it for auditors and jurors too, must be ``endStateHash``;
the spec must hash to the task's ``specHash``. Nothing the node wrote is handed over as is: the
weights are re-serialized from the checked tensors, config.json is rebuilt from the spec, and
the tokenizer files and projection come from the spec's teacher.
Everything is built in a staging directory beside ``--out`` and renamed into place at the end,
so a failed pull leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consumer.checked import audit_report
from consumer.errors import (
    CheckpointMismatchError,
    CommitmentNotFoundError,
    NothingToPullError,
    OutputExistsError,
    SegmentNotCommittedError,
    SegmentNotFinalError,
    UnknownTaskError,
)
from consumer.packaging import model_card, write_sentence_transformers
from consumer.quality import MAX_TOKENS, SPEC_FILE

if TYPE_CHECKING:
    from ledger.protocol import Protocol, Record
    from ledger.segments import Commitment
    from prover.checkpoint import HeldState
    from prover.spec import TaskSpec
    from store.client import Client

#: Teacher files that make up its tokenizer (copied next to the student).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt",
                   "special_tokens_map.json")
#: Name of the fixed student->teacher-width map written beside the student.
PROJECTION_FILE = "veritrain_projection.safetensors"


@dataclass(frozen=True)
class PullResult:
    """What was pulled and where it came from (also written as provenance.json)."""

    out_dir: Path
    task_id: int
    segment: int
    final: bool
    provenance: dict[str, Any]


def hex32(b: bytes) -> str:
    return "0x" + bytes(b).hex()


def choose_segment(protocol: Protocol, task_id: int, segment: int | None,
                   allow_unfinalized: bool) -> tuple[int, Record]:
    """The segment to pull and its on-chain record; refuses non-final ones unless allowed."""
    from ledger.errors import revert_error

    try:
        task = protocol.task(task_id)
    except revert_error("UnknownTask"):
        raise UnknownTaskError(f"task {task_id} does not exist on chain {protocol.chain.chain_id}",
                               task_id=task_id) from None
    if int(task.status) == 0:
        raise UnknownTaskError(f"task {task_id} does not exist on chain {protocol.chain.chain_id}",
                               task_id=task_id)
    count = protocol.segment_count(task_id)
    if segment is None:
        exists, k = protocol.market.call("lastFinalSegment", task_id)
        if not exists:
            if not allow_unfinalized or int(task.nextSegment) == 0:
                committed = int(task.nextSegment)
                raise NothingToPullError(
                    f"task {task_id} has no final segment yet ({committed} of {count} committed in "
                    f"the current trace)", task_id=task_id,
                    hint="wait for the challenge window of segment 0 to pass"
                         + ("" if committed == 0 else ", or pass --allow-unfinalized"))
            k = int(task.nextSegment) - 1
        segment = int(k)
    if not 0 <= segment < count:
        raise NothingToPullError(f"task {task_id} has segments 0..{count - 1}, not {segment}",
                                 task_id=task_id, hint="pick a segment in range")
    seg = protocol.segment(task_id, segment)
    if not seg.committed:
        slashed = protocol.market.events("NodeSlashed", protocol.addresses.deployBlock,
                                         taskId=task_id)
        why = (" (its node was slashed and the task reopened; the old commitment no longer counts)"
               if slashed else "")
        raise SegmentNotCommittedError(
            f"segment {segment} of task {task_id} is not committed in the task's current "
            f"trace{why}",
            task_id=task_id, segment=segment,
            hint="pull an earlier, final segment (omit --segment)")
    if not seg.isFinal and not allow_unfinalized:
        raise SegmentNotFinalError(f"segment {segment} of task {task_id} is not final: "
                                   f"{_why_not_final(protocol, task, seg)}",
                                   task_id=task_id, segment=segment)
    return segment, seg


def _why_not_final(protocol: Protocol, task: Record, seg: Record) -> str:
    if int(seg.openDisputes):
        return f"{seg.openDisputes} dispute(s) on it are open"
    closes = int(seg.committedAt) + int(task.params["challengeWindow"])
    now = protocol.chain.block_number()
    if now <= closes:
        return f"its challenge window is open until block {closes} (now {now})"
    return "an earlier segment is disputed or not final"


def find_commitment(protocol: Protocol, task_id: int, k: int) -> Commitment:
    """The commitment segment ``k``'s on-chain record holds (ledger.segments: the SegmentCommitted
    event whose roots hash to the record's digest)."""
    found = protocol.commitment(task_id, k)
    if found is None:
        raise CommitmentNotFoundError(f"segment {k} of task {task_id} has no SegmentCommitted "
                                      "event", task_id=task_id, segment=k)
    return found


def spec_cid_of(protocol: Protocol, task_id: int) -> str:
    created = protocol.market.events("TaskCreated", protocol.addresses.deployBlock, taskId=task_id)
    if not created:
        raise CommitmentNotFoundError(f"no TaskCreated event for task {task_id} since block "
                                      f"{protocol.addresses.deployBlock}",
                                      task_id=task_id, segment=None)
    return str(created[-1]["args"]["specCid"])


def dir_entries(client: Client, cid: str) -> dict[str, str]:
    """Names and CIDs of a directory's entries, from its verified root block."""
    from store.dagpb import decode_node

    node = decode_node(client.get_block(cid))
    return {link.name: str(link.cid) for link in node.links}


def pull(protocol: Protocol, client: Client, task_id: int, out_dir: str | Path, *,
         segment: int | None = None, allow_unfinalized: bool = False,
         allow_unaudited: bool = False, cache_dir: str | Path | None = None, log: Any = None,
         evaluate: bool = False) -> PullResult:
    """Pull segment ``segment`` (default: the latest final one) of ``task_id`` into ``out_dir``;
    ``evaluate``: fetch the teacher (verified) and score the student for the model card.
    Refuses (UnauditedError) when a segment 0..k has no independent audit attested on chain,
    unless ``allow_unaudited``."""
    from materials import Materials
    from prover import checkpoint

    say = log or (lambda _m: None)
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputExistsError(f"{out} exists and is not empty", path=str(out))
    k, seg = choose_segment(protocol, task_id, segment, allow_unfinalized)
    say(f"how segments 0..{k} of task {task_id} were checked (audits attested on chain):")
    audits = audit_report(protocol, task_id, k, allow_unaudited=allow_unaudited, say=say)
    found = find_commitment(protocol, task_id, k)
    ckpt_cid, leaves_cid = found.checkpoint_cid, found.leaves_cid
    task = protocol.task(task_id)
    spec_cid = spec_cid_of(protocol, task_id)
    say(f"task {task_id} segment {k} ({'final' if seg.isFinal else 'NOT final'}): "
        f"checkpoint {ckpt_cid}")
    staging = out.parent / f".{out.name}.pull-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        cache = Path(cache_dir) if cache_dir else staging / "cache"
        spec = Materials(client, cache).spec(spec_cid, bytes(task.specHash))
        ckpt = client.get_dir(ckpt_cid, staging / "checkpoint")
        say("checkpoint fetched; every block matched its CID")
        held = _check_state(spec, task_id, k, ckpt, ckpt_cid, bytes(seg.endStateHash))
        say(f"state hash recomputed: {hex32(seg.endStateHash)} = on-chain endStateHash")
        # nothing of the node's files is copied: config.json is rebuilt from the spec and the
        # weights re-serialized from the tensors that hashed to endStateHash
        model = checkpoint.export_model(held, spec, staging / "model")
        teacher_hidden = _copy_tokenizer(client, spec.teacher.cid, model)
        proj = _write_projection(spec, teacher_hidden, model / PROJECTION_FILE)
        (model / SPEC_FILE).write_bytes(spec.canonical_bytes())
        write_sentence_transformers(model, proj, min(MAX_TOKENS, _max_pos(spec)))
        prov = {
            "chainId": protocol.chain.chain_id, "taskMarket": protocol.addresses.taskMarket,
            "taskId": task_id, "segment": k, "final": bool(seg.isFinal),
            "step": (k + 1) * spec.segment_steps,
            "txHash": "0x" + found.tx_hash.hex(),
            "blockNumber": found.block, "node": found.node,
            "traceRoot": hex32(seg.traceRoot), "endStateHash": hex32(seg.endStateHash),
            "checkpointCid": ckpt_cid, "leavesCid": leaves_cid, "specCid": spec_cid,
            "specHash": hex32(task.specHash), "teacherCid": spec.teacher.cid,
            "stateHashAlgo": spec.state_hash, "projection": PROJECTION_FILE,
            "audits": [sa.to_doc() for sa in audits],
        }
        (model / "provenance.json").write_text(json.dumps(prov, indent=2) + "\n")
        scores = None
        if evaluate:
            say("scoring the student on the Lee benchmark beside the teacher (fetched, verified)")
            scores = _scores(client, spec.teacher.cid, model, staging / "teacher")
            (model / "quality.json").write_text(
                json.dumps([r.to_doc() for r in scores], indent=2) + "\n")
        (model / "README.md").write_text(model_card(prov, spec, int(seg.openDisputes), scores))
        if out.exists():
            out.rmdir()  # empty (checked above)
        model.rename(out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(staging)
    say(f"wrote {out}")
    return PullResult(out, task_id, k, bool(seg.isFinal), prov)


def _check_state(spec: TaskSpec, task_id: int, k: int, ckpt: Path, cid: str,
                 on_chain: bytes) -> HeldState:
    """The checkpoint's state, judged by prover.checkpoint.held_state (what the jury uses)."""
    from prover import checkpoint
    from prover.errors import CheckpointError

    want_step = (k + 1) * spec.segment_steps
    try:
        held = checkpoint.held_state(ckpt, spec, task_id)
    except CheckpointError as exc:
        raise CheckpointMismatchError(f"checkpoint {cid} holds no state of the task: {exc}",
                                      cid=cid,
                                      reason=getattr(exc.defect, "value", "spec")) from None
    if held.step != want_step:
        raise CheckpointMismatchError(f"checkpoint {cid} is at step "
                                      f"{held.step}, segment {k} ends at step {want_step}", cid=cid,
                                      reason="step")
    if held.state_hash != on_chain:
        raise CheckpointMismatchError(f"checkpoint {cid} holds state {hex32(held.state_hash)}, the "
                                      f"chain's endStateHash is {hex32(on_chain)}", cid=cid,
                                      reason="state hash")
    return held


def _copy_tokenizer(client: Client, teacher_cid: str, model_dir: Path) -> int:
    """Copy the teacher's tokenizer files (verified) next to the student; returns its hidden
    size."""
    entries = dir_entries(client, teacher_cid)
    for name in TOKENIZER_FILES:
        if name in entries:
            (model_dir / name).write_bytes(client.get_bytes(entries[name]))
    if "tokenizer_config.json" not in entries and "tokenizer.json" not in entries:
        raise CheckpointMismatchError(f"teacher {teacher_cid} has no tokenizer files",
                                      cid=teacher_cid,
                                      reason="tokenizer")
    cfg = json.loads(client.get_bytes(entries["config.json"]))
    return int(cfg["hidden_size"])


def _max_pos(spec: TaskSpec) -> int:
    return int(spec.student.config["max_position_embeddings"])


def _scores(client: Client, teacher_cid: str, model_dir: Path, teacher_dir: Path) -> list[Any]:
    """Quality reports of the teacher and the pulled student (consumer.quality)."""
    from dataclasses import replace

    from consumer.quality import evaluate, load

    client.get_dir(teacher_cid, teacher_dir)
    teacher = load(teacher_dir)
    t = replace(evaluate(teacher_dir, teacher_dir, teacher), model="teacher")
    return [t, replace(evaluate(model_dir, teacher_dir, teacher), model="this student")]


def _write_projection(spec: TaskSpec, teacher_hidden: int, path: Path) -> Any:
    """The spec's fixed student->teacher map (identity when the widths agree)."""
    from safetensors.torch import save_file

    from prover import model

    proj = model.projections(spec, teacher_hidden)["proj"]
    save_file({"proj": proj.contiguous()}, str(path),
              metadata={"format": "veritrain-projection-v1"})
    return proj
