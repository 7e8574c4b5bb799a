"""Leaf errors of the store package (all subclass ``veritrain.errors.StoreError``)."""

from __future__ import annotations

from veritrain.errors import StoreError

UNAVAILABLE_HINT = ("start one with `veritrain store serve` or point VERITRAIN_IPFS_API at Kubo "
                    "(e.g. /ip4/127.0.0.1/tcp/5001/http)")


class InvalidCIDError(StoreError):
    """A string or byte sequence is not a CID this store understands."""

    exit_code = 2

    def __init__(self, message: str, *, cid: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.cid = cid


class ContentMismatchError(StoreError):
    """A node served bytes that do not hash to the CID they were asked for."""

    hint = "the IPFS node is faulty or malicious; fetch from another node"

    def __init__(self, message: str, *, cid: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.cid = cid


class BlockNotFoundError(StoreError):
    """A block is not in the local repo."""

    hint = "add the content first, or fetch it from a node that has it"

    def __init__(self, message: str, *, cid: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.cid = cid


class UnsupportedDagError(StoreError):
    """A DAG uses a feature this implementation does not read."""

    def __init__(self, message: str, *, cid: str, feature: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.cid = cid
        self.feature = feature


class StoreUnavailableError(StoreError):
    """No IPFS RPC API answered at the configured address."""

    hint = UNAVAILABLE_HINT

    def __init__(self, message: str, *, api: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.api = api


class StoreTimeoutError(StoreError):
    """The IPFS RPC API did not answer in time."""

    hint = "the node may be overloaded; retry or raise the timeout"

    def __init__(self, message: str, *, api: str, timeout: float, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.api = api
        self.timeout = timeout


class StoreRequestError(StoreError):
    """The IPFS RPC API answered with an error."""

    def __init__(self, message: str, *, api: str, endpoint: str, detail: str,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.api = api
        self.endpoint = endpoint
        self.detail = detail


class RepoError(StoreError):
    """The embedded store's repo directory is unusable or inconsistent."""

    def __init__(self, message: str, *, repo: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.repo = repo


class BadRequestError(StoreError):
    """A request to the embedded store is malformed. Maps to Kubo's Code 1."""

    exit_code = 2

    def __init__(self, message: str, *, reason: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason
