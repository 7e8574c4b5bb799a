"""Errors raised by chain access. Contract reverts become named errors with their arguments."""

from __future__ import annotations

from typing import Any

from veritrain.errors import LedgerError, leaf


class RpcUnavailableError(LedgerError):
    """The JSON-RPC endpoint did not answer (after retries)."""

    def __init__(self, url: str, reason: str = "") -> None:
        super().__init__(
            f"no EVM JSON-RPC answers at {url}" + (f" ({reason})" if reason else ""),
            hint="start a chain (`veritrain devnet up`) or point VERITRAIN_RPC_URL at a node",
        )
        self.url = url


class ArtifactMissingError(LedgerError):
    """A contract's Foundry artifact is not in the artifacts folder."""

    def __init__(self, name: str, out_dir: str) -> None:
        super().__init__(
            f"no compiled artifact for contract {name!r} in {out_dir}",
            hint="build the contracts with `scripts/bootstrap` then `forge build` (or set "
                 "VERITRAIN_ARTIFACTS)",
        )
        self.name = name
        self.out_dir = out_dir


class BuildError(LedgerError):
    """`forge build` failed (the compiler's first error is in the message)."""


class KeyUnavailableError(LedgerError):
    """No signing key is configured, the keystore is unreadable or its password is wrong."""

    exit_code = 2


class TransactionFailedError(LedgerError):
    """A transaction was mined but failed, and its revert reason could not be recovered."""


class ContractRevertError(LedgerError):
    """A contract call reverted. ``name`` is the Solidity error, ``error_args`` its arguments.

    The message reads like the Solidity source: ``SegmentOutOfOrder(expected=3, got=4)``.
    Every revert is raised as the subclass named after its custom error, made on demand (see
    :func:`revert_error`): catch one by its class, ``except revert_error("SegmentOutOfOrder")``.
    """

    def __init__(self, name: str, error_args: dict[str, Any], contract: str | None = None) -> None:
        self.name = name
        self.error_args = error_args
        self.contract = contract
        shown = ", ".join(f"{k}={_show(v)}" for k, v in error_args.items())
        where = f" in {contract}" if contract else ""
        super().__init__(f"reverted{where}: {name}({shown})")


_REVERT_CLASSES: dict[str, type[ContractRevertError]] = {}


def revert_error(name: str) -> type[ContractRevertError]:
    """The ContractRevertError subclass for the Solidity custom error ``name``."""
    cls = _REVERT_CLASSES.get(name)
    if cls is None:
        cls = type(name, (ContractRevertError,), {"__doc__": f"Solidity custom error {name}."})
        _REVERT_CLASSES[name] = cls
    return cls


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


@leaf
class WrongAdjudicatorError(LedgerError):
    """A dispute call was sent to an adjudicator that does not settle the task (each task's is
    fixed at creation: TaskMarket.adjudicatorOf)."""

    task_id: int
    #: The task's adjudicator and the one the call was meant for.
    adjudicator: str
    attempted: str
