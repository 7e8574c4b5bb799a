"""Verified reading of UnixFS DAGs from an untrusted block source.

Every block is hashed and compared with the CID it was asked for before it is decoded; files are
rebuilt only from verified blocks, and their sizes must agree with what the (verified) parents
say. A tree is written into a temporary directory beside the target and renamed into place at
the end, so a node serving wrong bytes leaves nothing at the target path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from store.cid import CID, DAG_PB, RAW
from store.dagpb import (
    DIRECTORY,
    FILE,
    HAMT_SHARD,
    RAW_T,
    PBNode,
    UnixFSData,
    decode_node,
    decode_unixfs,
)
from store.errors import ContentMismatchError, UnsupportedDagError

#: Fetches the bytes of a block (unverified); the verifier checks them.
BlockSource = Callable[[CID], bytes]
#: Streams a whole file's bytes (unverified, e.g. `cat`); checked leaf by leaf against the DAG.
StreamSource = Callable[[CID], Iterator[bytes]]


class _Exact:
    """Takes exact-size slices from a byte stream."""

    def __init__(self, it: Iterator[bytes]) -> None:
        self.it, self.buf = it, bytearray()

    def take(self, n: int) -> bytes | None:
        while len(self.buf) < n:
            piece = next(self.it, None)
            if piece is None:
                return None
            self.buf += piece
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def at_end(self) -> bool:
        return not self.buf and next(self.it, None) is None
MAX_DEPTH = 64


def check_block(cid: CID, data: bytes) -> bytes:
    """Return ``data`` if it hashes to ``cid``, else raise ContentMismatchError(cid=...)."""
    if not cid.matches(data):
        raise ContentMismatchError(
            f"block {cid} does not hash to its CID: the node served wrong bytes", cid=str(cid)
        )
    return data


def _decode(cid: CID, block: bytes) -> tuple[PBNode, UnixFSData]:
    try:
        node = decode_node(block)
        return node, decode_unixfs(node.data or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnsupportedDagError(f"{cid} is not a valid UnixFS dag-pb node: {exc}", cid=str(cid),
                                  feature="malformed") from None


def _check_depth(cid: CID, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise UnsupportedDagError(
            f"{cid}: DAG deeper than {MAX_DEPTH}", cid=str(cid), feature="depth"
        )


def _file_node(cid: CID, block: bytes, expect: int | None) -> tuple[PBNode, UnixFSData]:
    """Decode a dag-pb file node whose sizes add up (to ``expect``, its parent's word, if given)."""
    node, u = _decode(cid, block)
    if u.type not in (FILE, RAW_T):
        raise UnsupportedDagError(f"{cid} is not a file node", cid=str(cid), feature="malformed")
    total = len(u.data) + sum(u.blocksizes)
    if len(u.blocksizes) != len(node.links) or (u.filesize is not None and u.filesize != total) \
            or (expect is not None and expect != total):
        raise UnsupportedDagError(f"{cid}: UnixFS sizes do not add up", cid=str(cid),
                                  feature="malformed")
    return node, u


def safe_name(cid: CID, name: str) -> str:
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise UnsupportedDagError(
            f"directory {cid} has an unsafe entry name {name!r}",
            cid=str(cid),
            feature="unsafe name",
        )
    return name


class VerifiedReader:
    """Reads files and trees through ``source``, verifying every block; ``workers`` fetch ahead."""

    def __init__(self, source: BlockSource, workers: int = 4,
                 stream: StreamSource | None = None) -> None:
        self.source = source
        self.workers = workers
        self.stream = stream

    def block(self, cid: CID) -> bytes:
        if cid.codec not in (RAW, DAG_PB):
            raise UnsupportedDagError(
                f"{cid} has codec 0x{cid.codec:x}", cid=str(cid), feature="codec"
            )
        return check_block(cid, self.source(cid))

    def kind(self, cid: CID) -> tuple[str, bytes]:
        block = self.block(cid)
        if cid.codec == RAW:
            return "file", block
        _, u = _decode(cid, block)
        if u.type == DIRECTORY:
            return "directory", block
        if u.type in (FILE, RAW_T):
            return "file", block
        feature = "HAMT-sharded directory" if u.type == HAMT_SHARD else f"UnixFS type {u.type}"
        raise UnsupportedDagError(
            f"{cid}: {feature} is not supported", cid=str(cid), feature=feature
        )

    def read_file(self, cid: CID, block: bytes | None = None) -> Iterator[bytes]:
        """Yield the file's bytes, in order, each piece verified before it is yielded.

        With a ``stream`` source, leaf bytes come from one streamed read of the whole file and
        each leaf-sized slice is hashed against its raw-leaf CID (parents still come from
        verified blocks): the same guarantee as fetching every leaf block, in one request.
        """
        block = block if block is not None else self.block(cid)
        with ThreadPoolExecutor(self.workers) as pool:
            if self.stream is not None and cid.codec == DAG_PB:
                yield from self._streamed(cid, block, pool, self.stream)
            else:
                yield from self._file(cid, block, None, 0, pool)

    def _streamed(self, cid: CID, block: bytes, pool: ThreadPoolExecutor,
                  stream: StreamSource) -> Iterator[bytes]:
        data = _Exact(stream(cid))
        for leaf, size, expected in self._plan(cid, block, None, 0, pool):
            piece = data.take(size)
            if piece is None:
                raise ContentMismatchError(f"the node's stream of {cid} ended early", cid=str(cid))
            if expected is not None:  # bytes from a verified dag-pb node
                if piece != expected:
                    raise ContentMismatchError(f"bytes of {leaf} differ from its verified block",
                                               cid=str(leaf))
            else:
                check_block(leaf, piece)
            yield piece
        if not data.at_end():
            raise ContentMismatchError(f"the node's stream of {cid} is longer than the file",
                                       cid=str(cid))

    def _plan(self, cid: CID, block: bytes, expect: int | None, depth: int,
              pool: ThreadPoolExecutor) -> Iterator[tuple[CID, int, bytes | None]]:
        """(cid, size, verified bytes or None for a raw leaf) of the file's pieces, in order."""
        _check_depth(cid, depth)
        node, u = _file_node(cid, block, expect)
        if u.data:
            yield cid, len(u.data), u.data
        inner = [lk.cid for lk in node.links if lk.cid.codec != RAW]
        blocks = dict(zip(inner, pool.map(self.block, inner), strict=True))
        for link, size in zip(node.links, u.blocksizes, strict=True):
            if link.cid.codec == RAW:
                yield link.cid, size, None
            else:
                yield from self._plan(link.cid, blocks[link.cid], size, depth + 1, pool)

    def _file(self, cid: CID, block: bytes, expect: int | None, depth: int,
              pool: ThreadPoolExecutor) -> Iterator[bytes]:
        _check_depth(cid, depth)
        if cid.codec == RAW:
            if expect is not None and len(block) != expect:
                raise UnsupportedDagError(
                    f"{cid}: leaf has {len(block)} bytes, parent says {expect}",
                    cid=str(cid),
                    feature="malformed",
                )
            yield block
            return
        node, u = _file_node(cid, block, expect)
        if u.data:
            yield u.data
        children = [link.cid for link in node.links]
        for child, size, data in zip(children, u.blocksizes, pool.map(self.block, children),
                                     strict=True):
            yield from self._file(child, data, size, depth + 1, pool)

    def materialize(self, cid: CID, target: Path) -> None:
        """Write the file or tree of ``cid`` at ``target`` (which must not exist), all or
        nothing."""
        target = Path(target)
        if target.exists():
            raise FileExistsError(f"{target} already exists")
        staging = target.parent / f".{target.name}.partial-{uuid.uuid4().hex[:8]}"
        staging.mkdir(parents=True)
        try:
            self._write(cid, staging / "root", 0)
            os.replace(staging / "root", target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(staging)

    def _write(self, cid: CID, path: Path, depth: int) -> None:
        _check_depth(cid, depth)
        kind, block = self.kind(cid)
        if kind == "file":
            with open(path, "wb") as fh:
                for piece in self.read_file(cid, block):
                    fh.write(piece)
            return
        path.mkdir()
        node, _ = _decode(cid, block)
        seen: set[str] = set()
        for link in node.links:
            name = safe_name(cid, link.name)
            if name in seen:
                raise UnsupportedDagError(f"directory {cid} lists {name!r} twice", cid=str(cid),
                                          feature="malformed")
            seen.add(name)
            self._write(link.cid, path / name, depth + 1)
