"""Leaf errors of the prover (all subclasses of :class:`veritrain.errors.ProverError`)."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

from veritrain.errors import ProverError, leaf


@leaf
class SpecValidationError(ProverError):
    """A task spec breaks a rule (the message names the field and the rule)."""

    exit_code = 2
    hint = "fix the field in the spec file; `veritrain spec init` prints a valid one"
    #: The validator's error list (field location, rule, input), when there is one.
    errors: Sequence[Mapping[str, Any]] | None = None


@leaf
class ProfileMismatchError(ProverError):
    """The running process is not under the determinism profile the spec names."""

    exit_code = 3
    hint = ("run through the `veritrain` CLI (it re-executes itself under the profile) or "
            "export the lines printed by `veritrain spec env SPEC`")
    profile: str
    setting: str
    wanted: object
    actual: object


@leaf
class UnknownProfileError(ProverError):
    """The spec names a determinism profile this prover does not know."""

    exit_code = 2
    profile: str


class KernelsUnavailableError(ProverError):
    """The profile needs the fixed-order kernels (prover.kernels) and they cannot be loaded."""


class DatasetError(ProverError):
    """A dataset manifest is missing, malformed or does not match the spec."""


@leaf
class CheckpointError(ProverError):
    """A checkpoint directory holds no state, or not the expected one (fields: path, step, and
    ``defect``, a prover.checkpoint.Defect saying why)."""

    path: str | None = None
    step: int | None = None
    defect: enum.Enum | None = None


class MerkleError(ProverError):
    """Bad input to a Merkle tree (wrong number of leaves, index out of range)."""


class TeacherError(ProverError):
    """The teacher model directory cannot be loaded or does not fit the spec."""


class ScheduleError(ProverError):
    """A data-schedule position or epoch outside the schedule's range."""


@leaf
class RefereeGraphError(ProverError):
    """A spec whose step graph the referee cannot check (field ``reason`` says why: the data
    schedule or state hash is not the v2 one the game opens on-chain)."""

    exit_code = 2
    hint = ("write the spec with `veritrain spec init --state-hash tree-v2 --schedule keccak-v2` "
            "(only v2 specs can be disputed by the referee; others keep the jury)")
    reason: str


@leaf
class RootsMismatchError(ProverError):
    """The step-graph roots recorded on-chain with a task are not those of its spec and teacher
    (prover/trace/roots.py ``task_roots``): the referee would judge the task by another graph."""

    hint = ("do not claim or audit this task: its requester recorded wrong roots (the "
            "requester can cancel it and post it again with `veritrain task create`)")
    task_id: int
    #: The first field that differs, by its Solidity name (``teacherRoot``, ``graphRoot``...).
    root: str
    #: Its value on chain and the value recomputed here (hex for roots, decimal for counts).
    on_chain: str
    computed: str
