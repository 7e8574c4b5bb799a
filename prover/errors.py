"""Leaf errors of the prover (all subclasses of :class:`veritrain.errors.ProverError`)."""

from __future__ import annotations

from veritrain.errors import ProverError


class SpecValidationError(ProverError):
    """A task spec breaks a rule (the message names the field and the rule)."""

    exit_code = 2
    hint = "fix the field in the spec file; `veritrain spec init` prints a valid one"


class ProfileMismatchError(ProverError):
    """The running process is not under the determinism profile the spec names."""

    exit_code = 3
    hint = ("run through the `veritrain` CLI (it re-executes itself under the profile) or "
            "export the lines printed by `veritrain spec env SPEC`")


class UnknownProfileError(ProverError):
    """The spec names a determinism profile this prover does not know."""

    exit_code = 2


class KernelsUnavailableError(ProverError):
    """The profile needs the fixed-order kernels (prover.kernels) and they cannot be loaded."""


class DatasetError(ProverError):
    """A dataset manifest is missing, malformed or does not match the spec."""


class CheckpointError(ProverError):
    """A checkpoint directory holds no state, or not the expected one (fields: path, and
    ``defect``, a prover.checkpoint.Defect saying why)."""

    defect: object = None


class MerkleError(ProverError):
    """Bad input to a Merkle tree (wrong number of leaves, index out of range)."""


class TeacherError(ProverError):
    """The teacher model directory cannot be loaded or does not fit the spec."""
