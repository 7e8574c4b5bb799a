"""The embedded store's repo: blocks + pins, UnixFS reading, adding, and garbage collection."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from store.blockstore import Blockstore, PinIndex, RepoLock, write_atomic
from store.builder import FileBuilder, Node, Params, build_directory
from store.cid import CID, DAG_PB, RAW
from store.dagpb import DIRECTORY, FILE, HAMT_SHARD, RAW_T, Link, decode_node, decode_unixfs
from store.errors import BadRequestError, RepoError, UnsupportedDagError


class RWLock:
    """Many adds at once (shared), or one gc (exclusive)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._writer:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._readers:
                self._cond.wait()
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


@dataclass
class Entry:
    """A resolved UnixFS node: ``kind`` is "file", "directory" or "raw-file"."""

    cid: CID
    kind: str
    size: int
    links: list[Link]


def check_segments(path: str) -> list[str]:
    """Split an upload path; refuse anything that could escape (absolute, '..', '.', empty, NUL)."""
    if path.startswith("/") or "\\" in path or "\0" in path:
        raise BadRequestError(f"refusing path {path!r}: absolute or odd characters", reason="path")
    parts = path.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise BadRequestError(f"refusing path {path!r}: it escapes or has empty parts",
                                  reason="path")
    return parts


class Repo:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RepoError(f"cannot create repo {self.root}: {exc}", repo=str(self.root)) from None
        self._lock_file = RepoLock(self.root)
        self.blocks = Blockstore(self.root)
        self.pins = PinIndex(self.root)
        self.gc_lock = RWLock()

    def identity(self) -> bytes:
        """32 random bytes made once per repo (the `id` command derives a peer ID from them)."""
        path = self.root / "identity"
        if not path.exists():
            write_atomic(path, os.urandom(32), self.blocks.tmp)
        return path.read_bytes()

    def close(self) -> None:
        self.blocks.close()
        self._lock_file.release()

    # ---- reading -------------------------------------------------------------------------
    def entry(self, cid: CID) -> Entry:
        block = self.blocks.get(cid)
        if cid.codec == RAW:
            return Entry(cid, "raw-file", len(block), [])
        if cid.codec != DAG_PB:
            raise UnsupportedDagError(
                f"{cid} has codec 0x{cid.codec:x}", cid=str(cid), feature="codec"
            )
        try:
            node = decode_node(block)
            u = decode_unixfs(node.data or b"")
        except ValueError as exc:
            raise UnsupportedDagError(f"{cid} is not a UnixFS node: {exc}", cid=str(cid),
                                      feature="unixfs") from None
        if u.type == DIRECTORY:
            return Entry(cid, "directory", 0, node.links)
        if u.type in (FILE, RAW_T):
            return Entry(
                cid, "file", u.filesize if u.filesize is not None else len(u.data), node.links
            )
        feature = "HAMT-sharded directory" if u.type == HAMT_SHARD else f"UnixFS type {u.type}"
        raise UnsupportedDagError(
            f"{cid}: {feature} is not supported", cid=str(cid), feature=feature
        )

    def resolve(self, path: str) -> Entry:
        """Resolve ``CID[/name/...]`` (or ``/ipfs/CID/...``) to an entry."""
        p = path.strip()
        if p.startswith("/ipfs/"):
            p = p[6:]
        head, _, rest = p.partition("/")
        entry = self.entry(CID.parse(head))
        for name in [s for s in rest.split("/") if s]:
            if entry.kind != "directory":
                raise BadRequestError(
                    f"{path}: {entry.cid} is not a directory", reason="not-directory"
                )
            match = [lk for lk in entry.links if lk.name == name]
            if not match:
                raise BadRequestError(f"no link named {name!r} under {entry.cid}", reason="no-link")
            entry = self.entry(match[0].cid)
        return entry

    def read_file(self, cid: CID, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """Stream a file's bytes from ``offset`` (``length`` bytes, or to the end)."""
        end = None if length is None else offset + length
        yield from self._read(cid, offset, end, 0)

    def _read(self, cid: CID, start: int, end: int | None, depth: int) -> Iterator[bytes]:
        if depth > 64:
            raise UnsupportedDagError(
                f"{cid}: DAG deeper than 64 levels", cid=str(cid), feature="depth"
            )
        block = self.blocks.get(cid)
        if cid.codec == RAW:
            yield block[start:end]
            return
        node = decode_node(block)
        u = decode_unixfs(node.data or b"")
        if u.type not in (FILE, RAW_T):
            raise BadRequestError(f"{cid} is not a file", reason="not-file")
        pos = 0
        if u.data:
            if end is None or pos < end:
                yield u.data[max(start, 0):end]
            pos = len(u.data)
        for link, size in zip(node.links, u.blocksizes, strict=False):
            if end is not None and pos >= end:
                return
            if pos + size > start:
                yield from self._read(link.cid, max(start - pos, 0),
                                      None if end is None else end - pos, depth + 1)
            pos += size

    def walk(self, cid: CID) -> Iterator[tuple[str, Entry]]:
        """Pre-order (relative path, entry) of a UnixFS tree; the root has path ''."""
        stack = [("", self.entry(cid))]
        while stack:
            rel, entry = stack.pop()
            yield rel, entry
            if entry.kind == "directory":
                for link in sorted(entry.links, key=lambda lk: lk.name, reverse=True):
                    check_segments(link.name)
                    stack.append((f"{rel}/{link.name}" if rel else link.name, self.entry(link.cid)))

    def reachable(self, cid: CID, into: set[str]) -> None:
        """Add the block keys of ``cid``'s whole DAG (blocks present locally) to ``into``."""
        stack = [cid]
        while stack:
            c = stack.pop()
            key = c.block_key()
            if key in into:
                continue
            into.add(key)
            if c.codec == DAG_PB and self.blocks.has(c):
                try:
                    stack.extend(lk.cid for lk in decode_node(self.blocks.get(c)).links)
                except ValueError:
                    continue

    def require_dag(self, cid: CID) -> int:
        """Raise BlockNotFoundError unless every block of ``cid``'s DAG is present; returns
        count."""
        seen: set[str] = set()
        stack = [cid]
        while stack:
            c = stack.pop()
            if c.block_key() in seen:
                continue
            seen.add(c.block_key())
            block = self.blocks.get(c)
            if c.codec == DAG_PB:
                try:
                    stack.extend(lk.cid for lk in decode_node(block).links)
                except ValueError as exc:
                    raise UnsupportedDagError(f"{c} is not valid dag-pb: {exc}", cid=str(c),
                                              feature="dag-pb") from None
        return len(seen)

    # ---- pins and gc ---------------------------------------------------------------------
    def pin(self, cids: list[CID], recursive: bool = True) -> None:
        with self.gc_lock.shared():  # a gc must not run between the check and the pin
            for cid in cids:  # every block must be here: this store does not fetch from a network
                if recursive:
                    self.require_dag(cid)
                else:
                    self.blocks.get(cid)
            self.blocks.sync()
            self.pins.update(add={c: "recursive" if recursive else "direct" for c in cids})

    def gc(self) -> list[str]:
        """Delete every block not reachable from a pin; returns the removed block keys."""
        with self.gc_lock.exclusive():
            keep: set[str] = set()
            for text, kind in self.pins.items().items():
                cid = CID.parse(text)
                if kind == "recursive":
                    self.reachable(cid, keep)
                else:
                    keep.add(cid.block_key())
            removed = []
            for key, path in list(self.blocks.keys()):
                if key not in keep:
                    self.blocks.delete(path)
                    removed.append(key)
            return removed


class AddSession:
    """One `add` call: files and directories arrive in order; ``finish()`` builds and pins roots."""

    def __init__(self, repo: Repo, params: Params, only_hash: bool = False) -> None:
        self.repo = repo
        self.params = params
        self.only_hash = only_hash
        self.tree: dict[str, object] = {}
        self.results: list[tuple[str, Node]] = []
        self._futures: list[Future[None]] = []

    def _sink(self, cid: CID, block: bytes | memoryview) -> None:
        if self.only_hash:
            return
        self._futures.append(self.repo.blocks.put_async(cid, block))
        if len(self._futures) > 256:
            done = [f for f in self._futures if f.done()]
            for f in done:
                f.result()
            self._futures = [f for f in self._futures if not f.done()]

    def _parent(self, parts: list[str]) -> dict[str, object]:
        d = self.tree
        for name in parts[:-1]:
            child = d.setdefault(name, {})
            if not isinstance(child, dict):
                raise BadRequestError(f"{name!r} is both a file and a directory", reason="path")
            d = child
        return d

    def add_directory(self, path: str) -> None:
        parts = check_segments(path)
        parent = self._parent(parts)
        if not isinstance(parent.setdefault(parts[-1], {}), dict):
            raise BadRequestError(f"{path!r} is both a file and a directory", reason="path")

    def file_builder(self) -> FileBuilder:
        return FileBuilder(self.params, self._sink)

    def add_file(self, path: str | None, node: Node) -> None:
        """Record a built file under ``path`` (None: a nameless top-level upload)."""
        name = path if path else str(node.cid)
        parts = check_segments(name) if path else [name]
        parent = self._parent(parts)
        if parts[-1] in parent and isinstance(parent[parts[-1]], dict):
            raise BadRequestError(f"{path!r} is both a file and a directory", reason="path")
        parent[parts[-1]] = node
        self.results.append((name, node))

    def _build(self, tree: dict[str, object], prefix: str) -> Node:
        entries: dict[str, Node] = {}
        for name in sorted(tree):
            value = tree[name]
            if isinstance(value, dict):
                rel = f"{prefix}/{name}" if prefix else name
                entries[name] = self._build(value, rel)
                self.results.append((rel, entries[name]))
            elif isinstance(value, Node):
                entries[name] = value
        return build_directory(entries, self.params, self._sink)

    def finish(self, wrap: bool, pin: bool) -> list[tuple[str, Node]]:
        """Build directories (deepest first), wait for block writes, pin the top-level roots."""
        tops: list[Node] = []
        if wrap:
            root = self._build(self.tree, "")
            self.results.append(("", root))
            tops = [root]
        else:
            for name in sorted(self.tree):
                value = self.tree[name]
                if isinstance(value, dict):
                    node = self._build(value, name)
                    self.results.append((name, node))
                    tops.append(node)
                elif isinstance(value, Node):
                    tops.append(value)
        for fut in self._futures:
            fut.result()
        self._futures = []
        if not self.only_hash:
            self.repo.blocks.sync()
            if pin and tops:
                self.repo.pins.update(add={n.cid: "recursive" for n in tops})
        return self.results

    def abort(self) -> None:
        for fut in self._futures:
            fut.exception()
        self._futures = []


def add_bytes(repo: Repo, data: bytes, params: Params | None = None, pin: bool = True) -> Node:
    """In-process add of one byte string (what `ipfs add` would do with a file of these bytes)."""
    with repo.gc_lock.shared():
        session = AddSession(repo, params or Params())
        builder = session.file_builder()
        builder.feed(data)
        session.add_file(None, builder.finish())
        return session.finish(wrap=False, pin=pin)[-1][1]
