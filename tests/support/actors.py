"""Test-side protocol actors: a requester and a minimal node, honest or with one parametrised fault.

The node trains with ``prover.segment.run_segment``, uploads its checkpoint and leaves file to
the store and commits through ``ledger.protocol.Protocol``; it is deliberately NOT the operator
daemon (``node/``), so tests of challengers and of the protocol do not depend on it.

Faults (hivemind-style enum; ``DishonestNode(fault=Fault.WRONG_LEAF_AT_STEP, step=3)``) are
injected through the prover's StepHooks or by post-processing what the node publishes. ``step``
is the 1-based step *within the faulty segment* (1..segmentSteps); ``segment`` says which
segment is faked (the others are trained honestly from the node's own state).
"""

from __future__ import annotations

import enum
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.protocol import Protocol
from materials import Materials, Published, publish
from prover import merkle
from prover.segment import SegmentResult, run_segment
from prover.train import BaseStepHooks
from store.client import Client

E18 = 10**18


class Fault(enum.Enum):
    """Ways a node can cheat (or fail to make its work checkable)."""

    NONE = "none"
    #: Publishes a made-up state hash at one step (the rest is honest).
    WRONG_LEAF_AT_STEP = "wrong_leaf_at_step"
    #: Lazy: from ``step`` on it does not apply updates (state frozen, step counter advances).
    SKIPPED_STEPS = "skipped_steps"
    #: One weight moved by one ulp after the update of ``step``.
    PERTURBED_WEIGHT = "perturbed_weight"
    #: Learning rate x1.5 from ``step`` on.
    DIFFERENT_LR = "different_lr"
    #: Trains the batches of ``step`` and ``step + 1`` in swapped order.
    SWAPPED_BATCHES = "swapped_batches"
    #: Honest leaves, but the committed checkpoint does not hold the end state.
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"
    #: Honest leaves, but the checkpoint is never made available on IPFS.
    WITHHELD_CHECKPOINT = "withheld_checkpoint"
    #: Honest work, but the leaves file is never made available (the end state is right, so
    #: nothing is disputed: docs/challenger.md, "Limits"). Any other fault can be combined with a
    #: withheld leaves file: ``DishonestNode(..., withhold_leaves=True)``.
    WITHHELD_LEAVES = "withheld_leaves"
    #: Honest leaves and checkpoint, but a made-up committed endStateHash.
    WRONG_END_STATE = "wrong_end_state"
    #: Honest work; the checkpoint's weights are a float64 copy of the right ones.
    FLOAT64_CHECKPOINT = "float64_checkpoint"
    #: Honest work; the checkpoint's config.json says another activation and layer-norm epsilon.
    CONFIG_SEMANTICS = "config_semantics"
    #: Honest work; the checkpoint's config.json is not JSON.
    CONFIG_UNLOADABLE = "config_unloadable"

    @property
    def breaks_leaves(self) -> bool:
        return self not in (Fault.NONE, Fault.CHECKPOINT_MISMATCH, Fault.WITHHELD_CHECKPOINT,
                            Fault.WITHHELD_LEAVES, Fault.WRONG_END_STATE, *_CONFIG_FAULTS,
                            Fault.FLOAT64_CHECKPOINT)

    @property
    def breaks_end_state(self) -> bool:
        """The committed end state or end checkpoint is wrong (WRONG_LEAF_AT_STEP only fakes a
        published leaf: its training, end state and checkpoint are honest)."""
        return self not in (Fault.NONE, Fault.WITHHELD_LEAVES, Fault.WRONG_LEAF_AT_STEP,
                            *_CONFIG_FAULTS)

    def end_state_disputed(self, leaves_withheld: bool = False) -> bool:
        """Whether an honest auditor disputes this fault with openEndStateDispute (else
        openDispute).
        A withheld leaves file changes nothing: the leaves are on chain with the commit (#14)."""
        return not self.breaks_leaves

    def disputed_step(self, k: int, segment_steps: int, step: int,
                      leaves_withheld: bool = False) -> int:
        """The absolute step an honest auditor disputes for this fault in segment ``k`` (an
        end-state dispute is on the segment's last step)."""
        start = k * segment_steps
        return start + segment_steps if self.end_state_disputed(leaves_withheld) else start + step


#: Faults in the checkpoint's config.json only: the state (which nobody reads config.json for)
#: is right.
_CONFIG_FAULTS = (Fault.CONFIG_SEMANTICS, Fault.CONFIG_UNLOADABLE)


class _FaultHooks(BaseStepHooks):
    """prover.train.StepHooks that inject ``fault`` at absolute step ``at`` (and after)."""

    def __init__(self, fault: Fault, at: int, spec: Any, task_id: int, dataset_dir: Path) -> None:
        self.fault, self.at, self.spec, self.task_id = fault, at, spec, task_id
        self.dataset_dir = dataset_dir
        self._saved: list[Any] | None = None
        self._ids: Any = None

    def on_batch(self, t: int, ids: Any) -> Any:
        if self.fault is not Fault.SWAPPED_BATCHES or t not in (self.at, self.at + 1):
            return None
        from prover import dataset, schedule

        if self._ids is None:
            self._ids = dataset.load_manifest(self.dataset_dir).input_ids
        other = self.at + 1 if t == self.at else self.at
        return schedule.batch(self.spec, self.task_id, other, self._ids)

    def on_before_update(self, t: int, student: Any, optimizer: Any) -> None:
        if self.fault is Fault.DIFFERENT_LR and t >= self.at:
            for group in optimizer.param_groups:
                group["lr"] = group["lr"] * 1.5
        if self.fault is Fault.SKIPPED_STEPS and t >= self.at:
            self._saved = [(p, p.detach().clone(),
                            {k: v.clone() for k, v in optimizer.state[p].items()})
                           for p in student.parameters()]

    def on_after_update(self, t: int, student: Any, optimizer: Any) -> None:
        import torch

        if self.fault is Fault.SKIPPED_STEPS and self._saved is not None:
            with torch.no_grad():
                for p, value, state in self._saved:
                    p.copy_(value)
                    for k, v in state.items():
                        optimizer.state[p][k].copy_(v)
            self._saved = None
        if self.fault is Fault.PERTURBED_WEIGHT and t == self.at:
            with torch.no_grad():
                flat = next(student.parameters()).view(-1)
                flat[0] = torch.nextafter(flat[0], torch.tensor(float("inf")))


@dataclass
class Requester:
    """Publishes a spec with its teacher and dataset, and posts tasks for it."""

    protocol: Protocol
    client: Client

    def publish(self, spec: Any, teacher_dir: Path, dataset_dir: Path) -> Published:
        return publish(self.client, spec, teacher_dir, dataset_dir)

    def post(self, pub: Published, *, reward: int = 100 * E18, challenge_window: int = 40,
             segment_deadline: int = 200, node_stake: int = 1000 * E18,
             graph: dict[str, Any] | None = None) -> int:
        """Post a task for ``pub``; with ``graph`` (a StepGraph by Solidity field name) for the
        referee, else for the jury."""
        spec = pub.spec
        return self.protocol.create_task(pub.spec_cid, pub.spec_hash, reward,
                                         total_steps=spec.total_steps,
                                         segment_steps=spec.segment_steps,
                                         challenge_window=challenge_window,
                                         segment_deadline=segment_deadline, node_stake=node_stake,
                                         graph=graph)


@dataclass
class Committed:
    """What the node committed for one segment."""

    task_id: int
    k: int
    result: SegmentResult
    checkpoint_cid: str
    leaves_cid: str
    trace_root: bytes


@dataclass
class HonestNode:
    """A minimal node: claim, train segment by segment, upload, commit."""

    protocol: Protocol
    client: Client
    workdir: Path
    fault: Fault = Fault.NONE
    step: int = 1
    segment: int = 0
    #: Shared materials cache (CID-keyed, verified); default: workdir/cache.
    cache_dir: Path | None = None
    #: Also make the faulty segment's leaves file unavailable (unpinned, collected).
    withhold_leaves: bool = False
    committed: list[Committed] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir)
        self.materials = Materials(self.client, Path(self.cache_dir or self.workdir / "cache"))

    def spec(self, task_id: int) -> Any:
        (ev,) = self.protocol.market.events("TaskCreated",
                                            from_block=self.protocol.addresses.deployBlock,
                                            taskId=task_id)[-1:]
        return self.materials.spec(ev["args"]["specCid"],
                                   bytes(self.protocol.task(task_id).specHash))

    def claim(self, task_id: int) -> None:
        stake = int(self.protocol.task(task_id).params.nodeStake)
        info = self.protocol.stake_info()
        if int(info.staked) - int(info.locked) < stake:
            self.protocol.deposit(stake - (int(info.staked) - int(info.locked)))
        self.protocol.claim_task(task_id)

    def seg_dir(self, task_id: int, k: int) -> Path:
        return self.workdir / f"task{task_id}" / f"seg{k}"

    def train(self, task_id: int, k: int) -> SegmentResult:
        """Train segment k from this node's own (true) state, injecting the fault if it is k's."""
        spec = self.spec(task_id)
        teacher, data = self.materials.teacher_dir(spec), self.materials.dataset_dir(spec)
        start = None if k == 0 else self.seg_dir(task_id, k - 1) / "checkpoint"
        faulty = self.fault is not Fault.NONE and k == self.segment
        hooks = None
        if faulty and self.fault.breaks_leaves and self.fault is not Fault.WRONG_LEAF_AT_STEP:
            hooks = _FaultHooks(self.fault, k * spec.segment_steps + self.step, spec, task_id, data)
        out = self.seg_dir(task_id, k)
        if out.exists():
            shutil.rmtree(out)
        result = run_segment(spec, task_id, k, start, teacher, data, out, hooks=hooks)
        if faulty and self.fault is Fault.WRONG_LEAF_AT_STEP:
            i = self.step - 1
            result.state_hashes[i] = merkle.keccak(b"made up" + result.state_hashes[i])
            result.leaves = merkle.leaves_for(task_id, k * spec.segment_steps, result.state_hashes)
            result.trace_root = merkle.trace_root(result.leaves)
            merkle.write_leaves_file(result.leaves_file, task_id, k, result.steps,
                                     result.state_hashes,
                                     result.losses)
        return result

    def upload(self, task_id: int, k: int, result: SegmentResult) -> tuple[str, str]:
        ckpt = result.checkpoint_dir
        faulty = k == self.segment
        if faulty and self.fault in (Fault.CHECKPOINT_MISMATCH, Fault.FLOAT64_CHECKPOINT,
                                     *_CONFIG_FAULTS):
            ckpt = self._tampered_copy(ckpt)
        ckpt_cid = self.client.put_dir(ckpt)
        leaves_cid = self.client.put_file(result.leaves_file)
        withheld = {Fault.WITHHELD_CHECKPOINT: [ckpt_cid],
                    Fault.WITHHELD_LEAVES: [leaves_cid]}.get(self.fault, [])
        if faulty and self.withhold_leaves:
            withheld.append(leaves_cid)
        if faulty and withheld:
            for cid in withheld:
                self.client.unpin(cid)
            self.client.gc()
        return ckpt_cid, leaves_cid

    def _tampered_copy(self, ckpt: Path) -> Path:
        """The checkpoint changed as the fault says, its state.json left claiming the end state:
        one weight moved by an ulp (CHECKPOINT_MISMATCH), the weights as float64, or config.json."""
        import torch
        from safetensors.torch import load_file, save_file

        fake = ckpt.parent / "checkpoint-tampered"
        if fake.exists():
            shutil.rmtree(fake)
        shutil.copytree(ckpt, fake)
        if self.fault is Fault.CONFIG_SEMANTICS:
            cfg = json.loads((fake / "config.json").read_text())
            cfg.update(hidden_act="relu", layer_norm_eps=0.5)
            (fake / "config.json").write_text(json.dumps(cfg))
            return fake
        if self.fault is Fault.CONFIG_UNLOADABLE:
            (fake / "config.json").write_bytes(b'{"model_type": "bert", "hidden_size": ')
            return fake
        tensors = load_file(str(fake / "model.safetensors"))
        if self.fault is Fault.FLOAT64_CHECKPOINT:
            save_file({n: t.double() for n, t in tensors.items()}, str(fake / "model.safetensors"),
                      metadata={"format": "pt"})
            return fake
        name = sorted(tensors)[0]
        flat = tensors[name].view(-1)
        flat[0] = torch.nextafter(flat[0], torch.tensor(float("inf")))
        save_file(tensors, str(fake / "model.safetensors"), metadata={"format": "pt"})
        return fake

    def commit(self, task_id: int, k: int) -> Committed:
        """Train, upload and commit segment k."""
        result = self.train(task_id, k)
        ckpt_cid, leaves_cid = self.upload(task_id, k, result)
        end_state = result.end_state_hash
        if k == self.segment and self.fault is Fault.WRONG_END_STATE:
            end_state = merkle.keccak(b"made up end state" + end_state)
        self.protocol.commit_segment(task_id, k, result.trace_root, end_state, ckpt_cid, leaves_cid,
                                     leaves=result.leaves)
        c = Committed(task_id, k, result, ckpt_cid, leaves_cid, result.trace_root)
        self.committed.append(c)
        return c


class DishonestNode(HonestNode):
    """A node with one fault:
    ``DishonestNode(protocol, client, workdir, fault=Fault.X, step=3)``."""

    def __post_init__(self) -> None:
        if self.fault is Fault.NONE:
            raise ValueError("a DishonestNode needs a fault; use HonestNode")
        super().__post_init__()


def leaves_json(path: Path) -> dict[str, Any]:
    return dict(json.loads(Path(path).read_text()))


@dataclass
class GriefingChallenger:
    """A dishonest challenger: disputes a segment it knows is right (a correct leaf, valid
    proof)."""

    protocol: Protocol

    def dispute(self, c: Committed, step_in_segment: int = 1) -> int:
        S = len(c.result.leaves)
        i = step_in_segment - 1
        return self.protocol.open_dispute(c.task_id, c.k, c.k * S + step_in_segment,
                                          c.result.leaves[i],
                                          merkle.proof(c.result.leaves, i))
