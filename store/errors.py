"""Leaf errors of the store package (all subclass ``veritrain.errors.StoreError``)."""

from __future__ import annotations

from veritrain.errors import StoreError, leaf

UNAVAILABLE_HINT = ("start one with `veritrain store serve` or point VERITRAIN_IPFS_API at Kubo "
                    "(e.g. /ip4/127.0.0.1/tcp/5001/http)")


@leaf
class InvalidCIDError(StoreError):
    """A string or byte sequence is not a CID this store understands."""

    exit_code = 2
    cid: str


@leaf
class ContentMismatchError(StoreError):
    """A node served bytes that do not hash to the CID they were asked for."""

    hint = "the IPFS node is faulty or malicious; fetch from another node"
    cid: str


@leaf
class BlockNotFoundError(StoreError):
    """A block is not in the local repo."""

    hint = "add the content first, or fetch it from a node that has it"
    cid: str


@leaf
class UnsupportedDagError(StoreError):
    """A DAG uses a feature this implementation does not read."""

    cid: str
    feature: str


@leaf
class StoreUnavailableError(StoreError):
    """No IPFS RPC API answered at the configured address."""

    hint = UNAVAILABLE_HINT
    api: str


@leaf
class StoreTimeoutError(StoreError):
    """The IPFS RPC API did not answer in time."""

    hint = "the node may be overloaded; retry or raise the timeout"
    api: str
    timeout: float


@leaf
class StoreRequestError(StoreError):
    """The IPFS RPC API answered with an error."""

    api: str
    endpoint: str
    detail: str


@leaf
class RepoError(StoreError):
    """The embedded store's repo directory is unusable or inconsistent."""

    repo: str


@leaf
class BadRequestError(StoreError):
    """A request to the embedded store is malformed. Maps to Kubo's Code 1."""

    exit_code = 2
    reason: str
