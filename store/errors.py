"""Leaf errors of the store package (all subclass ``veritrain.errors.StoreError``)."""

from __future__ import annotations

from veritrain.errors import StoreError

UNAVAILABLE_HINT = ("start one with `veritrain store serve` or point VERITRAIN_IPFS_API at Kubo "
                    "(e.g. /ip4/127.0.0.1/tcp/5001/http)")


class InvalidCIDError(StoreError):
    """A string or byte sequence is not a CID this store understands (fields: cid)."""

    exit_code = 2


class ContentMismatchError(StoreError):
    """A node served bytes that do not hash to the CID they were asked for (fields: cid)."""

    hint = "the IPFS node is faulty or malicious; fetch from another node"


class BlockNotFoundError(StoreError):
    """A block is not in the local repo (fields: cid)."""

    hint = "add the content first, or fetch it from a node that has it"


class UnsupportedDagError(StoreError):
    """A DAG uses a feature this implementation does not read (fields: cid, feature)."""


class StoreUnavailableError(StoreError):
    """No IPFS RPC API answered at the configured address (fields: api)."""

    hint = UNAVAILABLE_HINT


class StoreTimeoutError(StoreError):
    """The IPFS RPC API did not answer in time (fields: api, timeout)."""

    hint = "the node may be overloaded; retry or raise the timeout"


class StoreRequestError(StoreError):
    """The IPFS RPC API answered with an error (fields: api, endpoint, detail)."""


class RepoError(StoreError):
    """The embedded store's repo directory is unusable or inconsistent (fields: repo)."""


class BadRequestError(StoreError):
    """A request to the embedded store is malformed (fields: reason). Maps to Kubo's Code 1."""

    exit_code = 2
