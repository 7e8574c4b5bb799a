"""The training step, nanoGPT style: a plain loop over a student, a frozen teacher and fused AdamW.

A :class:`Trainer` holds the state (student, optimizer, step); :meth:`Trainer.step` makes one
update. Hooks (:class:`StepHooks`) let a caller see or change a batch and the state around the
update — the node records nothing through them, adversarial tests inject faults through them.
Subclass :class:`BaseStepHooks` and override the callbacks you need.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from prover import dataset, model, profile, schedule, statehash

if TYPE_CHECKING:
    import torch

    from prover.spec import TaskSpec


class StepHooks(Protocol):
    """Callbacks around an update. Implement all three, or subclass :class:`BaseStepHooks`
    (whose callbacks do nothing) and override the ones you need."""

    def on_batch(self, step: int, input_ids: torch.Tensor) -> torch.Tensor | None:
        """Before the forward pass: a batch to use instead of ``input_ids`` (None keeps it)."""
        ...

    def on_before_update(self, step: int, student: torch.nn.Module,
                         optimizer: torch.optim.Optimizer) -> None:
        """After backward, before clipping and the update."""
        ...

    def on_after_update(self, step: int, student: torch.nn.Module,
                        optimizer: torch.optim.Optimizer) -> None:
        """After the update, before the state is hashed."""
        ...


class BaseStepHooks:
    """:class:`StepHooks` that change nothing: the base of hooks that need only some callbacks."""

    def on_batch(self, step: int, input_ids: torch.Tensor) -> torch.Tensor | None:
        return None

    def on_before_update(self, step: int, student: torch.nn.Module,
                         optimizer: torch.optim.Optimizer) -> None:
        return None

    def on_after_update(self, step: int, student: torch.nn.Module,
                        optimizer: torch.optim.Optimizer) -> None:
        return None


#: The hooks of a run that has none.
NO_HOOKS: StepHooks = BaseStepHooks()


@dataclass(frozen=True)
class StepRecord:
    """What an observer's ``on_step_end`` receives for every step."""

    task_id: int
    step: int
    state_hash: bytes
    leaf: bytes
    loss: float
    lr: float


class StepObserver(Protocol):
    """Sees every step's record after its state is hashed (the node's progress, a loss plot)."""

    def on_step_end(self, record: StepRecord) -> None: ...


def rng_state(spec: TaskSpec, task_id: int) -> dict[str, Any]:
    """All randomness is derived from these (no stateful generator to carry)."""
    return {"scheme": "derived-v1", "seed": spec.seed, "taskId": task_id}


class Trainer:
    """Student + teacher + optimizer at some step of a task."""

    def __init__(self, spec: TaskSpec, task_id: int, teacher_dir: str | Path,
                 dataset_dir: str | Path, start_checkpoint: str | Path | None = None,
                 check_profile: bool = True, start_state_hash: bytes | None = None) -> None:
        """``start_checkpoint`` must hold ``start_state_hash`` (None: its state.json label),
        as :func:`prover.checkpoint.require_state` judges it."""
        import torch

        from prover import checkpoint

        if check_profile:
            profile.apply(spec)
            profile.ensure(spec)
        self.spec, self.task_id = spec, task_id
        self.manifest = dataset.load_manifest(dataset_dir)
        dataset.check_against_spec(self.manifest, spec)
        self.teacher = model.load_teacher(teacher_dir)
        self.fixed = model.projections(spec, int(self.teacher.config.hidden_size))
        if start_checkpoint is None:
            self.student = model.build_student(spec, self.teacher)
            self.step_no = 0
        else:
            held = checkpoint.require_state(start_checkpoint, spec, task_id, start_state_hash)
            self.student, self.step_no = checkpoint.load_student(held, spec), held.step
        decay = [p for n, p in self.student.named_parameters() if p.dim() >= 2]
        no_decay = [p for n, p in self.student.named_parameters() if p.dim() < 2]
        o = spec.optimizer
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": o.weight_decay},
             {"params": no_decay, "weight_decay": 0.0}],
            lr=schedule.lr_at(spec, max(self.step_no, 1)), betas=o.betas, eps=o.eps, fused=True)
        if start_checkpoint is not None:
            checkpoint.load_optimizer(held, self.student, self.optimizer)
        profile.enable_kernels(spec, self.student, self.teacher)
        self.rng = rng_state(spec, task_id)
        self.params = list(self.student.parameters())

    # ---- state -----------------------------------------------------------------------------
    @property
    def cursor(self) -> int:
        return schedule.cursor_after(self.spec, self.step_no)

    def state_hash(self) -> bytes:
        return statehash.state_hash(self.spec.state_hash, self.student, self.optimizer,
                                    self.step_no, self.rng, self.cursor)

    # ---- one update ------------------------------------------------------------------------
    def forward_backward(self, hooks: StepHooks = NO_HOOKS) -> float:
        """Loss and gradients of the next step's batch; reads, never writes, the state."""
        import torch

        t = self.step_no + 1
        profile.select_kernels(self.spec)
        ids = schedule.batch(self.spec, self.task_id, t, self.manifest.input_ids)
        swapped = hooks.on_batch(t, ids)
        if swapped is not None:
            ids = swapped
        mask = torch.ones_like(ids)
        with torch.no_grad():
            h_t = self.teacher(input_ids=ids, attention_mask=mask).last_hidden_state
        h_s = self.student(input_ids=ids, attention_mask=mask).last_hidden_state
        loss = model.kd_loss(self.spec, h_s, h_t, self.fixed)
        loss.backward()
        return float(loss.detach())

    def update(self, hooks: StepHooks = NO_HOOKS) -> float:
        """Clip, set the scheduled lr, apply AdamW; returns the lr used. Mutates the state."""
        import torch

        t = self.step_no + 1
        lr = schedule.lr_at(self.spec, t)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        hooks.on_before_update(t, self.student, self.optimizer)
        clip = self.spec.optimizer.grad_clip
        grads = [p.grad for p in self.params if p.grad is not None]
        if profile.get(self.spec.profile.name).fixed_train_ops:  # repcpu-2: no stock reductions
            from prover import kernels

            profile.select_kernels(self.spec)
            if clip > 0 and grads:
                kernels.clip_grad_norm_(grads, clip)
            kernels.adamw_step(self.optimizer)
        else:
            if clip > 0 and grads:
                # global norm in a fixed order, root via rsqrt (no vector-math sqrt)
                total = torch.stack([(g * g).sum() for g in grads]).sum()
                norm = 1.0 / torch.rsqrt(total)
                coef = torch.clamp(clip / (norm + 1e-6), max=1.0)
                for g in grads:
                    g.mul_(coef)
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step_no = t
        hooks.on_after_update(t, self.student, self.optimizer)
        return lr

    def step(self, hooks: StepHooks = NO_HOOKS) -> tuple[float, float]:
        """One full training step: (loss, lr)."""
        loss = self.forward_backward(hooks)
        return loss, self.update(hooks)
