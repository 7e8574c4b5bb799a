"""UnixFS DAG builder with Kubo's `ipfs add` layout: fixed-size chunker, balanced tree, directories.

Balanced layout (Kubo's go-unixfs ``balanced`` builder, js ``balanced`` layout): leaves are grouped
into parents of at most ``max_links`` (174) children, parents into grandparents, and so on until
one root is left; a file of a single chunk is that chunk's block itself. Built streaming: a parent
is emitted as soon as its group of 174 is full, so memory stays bounded for any file size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from store.cid import CID, DAG_PB, RAW
from store.dagpb import DIRECTORY_DATA, FILE, Link, UnixFSData, encode_node, encode_unixfs
from store.errors import UnsupportedDagError

#: Kubo's defaults for `ipfs add --cid-version=1`.
DEFAULT_CHUNK_SIZE = 262144
MAX_LINKS = 174
#: Kubo's HAMTShardingSize: directories whose links reach this size get sharded.
HAMT_THRESHOLD = 262144
#: Kubo refuses chunks above 1 MiB (+ header room); we do the same.
MAX_CHUNK_SIZE = 1024 * 1024

#: Receives every block built: (cid, bytes). It must store or discard them.
BlockSink = Callable[[CID, bytes | memoryview], None]


@dataclass(frozen=True)
class Params:
    """How to build the DAG (the subset of `ipfs add` options that change CIDs)."""

    cid_version: int = 1
    raw_leaves: bool = True
    chunk_size: int = DEFAULT_CHUNK_SIZE
    max_links: int = MAX_LINKS


@dataclass(frozen=True)
class Node:
    """A built DAG root: its CID, cumulative DAG size (Tsize) and UnixFS file size."""

    cid: CID
    tsize: int
    filesize: int


class FileBuilder:
    """Feed bytes in any pieces; ``finish()`` returns the file's root."""

    def __init__(self, params: Params, sink: BlockSink) -> None:
        self.p = params
        self.sink = sink
        self._buf = bytearray()
        self._levels: list[list[Node]] = [[]]
        self._leaves = 0

    def feed(self, data: bytes | memoryview) -> None:
        """Add bytes. Whole chunks are hashed and handed to the sink as zero-copy views of
        ``data``, so ``data`` must not change afterwards (writable buffers are copied first)."""
        view = memoryview(data)
        if not view.readonly:
            view = memoryview(bytes(view))
        size = self.p.chunk_size
        if self._buf:  # complete the chunk that straddles the previous piece
            need = size - len(self._buf)
            self._buf += view[:need]
            view = view[need:]
            if len(self._buf) < size:
                return
            self._leaf(bytes(self._buf))
            self._buf = bytearray()
        whole = len(view) - len(view) % size
        for start in range(0, whole, size):
            self._leaf(view[start:start + size])
        self._buf += view[whole:]

    def _leaf(self, chunk: bytes | memoryview) -> None:
        if self.p.raw_leaves:
            cid = CID.of(chunk, RAW, self.p.cid_version)
            block = chunk
        else:
            block = encode_node([], encode_unixfs(UnixFSData(FILE, bytes(chunk), len(chunk))))
            cid = CID.of(block, DAG_PB, self.p.cid_version)
        self.sink(cid, block)
        self._leaves += 1
        self._push(0, Node(cid, len(block), len(chunk)))

    def _push(self, level: int, node: Node) -> None:
        if level == len(self._levels):
            self._levels.append([])
        group = self._levels[level]
        group.append(node)
        if len(group) == self.p.max_links:
            self._levels[level] = []
            self._push(level + 1, self._parent(group))

    def _parent(self, children: list[Node]) -> Node:
        filesize = sum(c.filesize for c in children)
        data = encode_unixfs(UnixFSData(FILE, b"", filesize, [c.filesize for c in children]))
        block = encode_node([Link(c.cid, "", c.tsize) for c in children], data)
        cid = CID.of(block, DAG_PB, self.p.cid_version)
        self.sink(cid, block)
        return Node(cid, len(block) + sum(c.tsize for c in children), filesize)

    def finish(self) -> Node:
        if self._buf or self._leaves == 0:
            self._leaf(bytes(self._buf))
            self._buf = bytearray()
        if self._leaves == 1:
            return self._levels[0][0] if self._levels[0] else self._levels[1][0]
        level = 0
        while True:
            group = self._levels[level]
            is_top = level == len(self._levels) - 1
            if is_top and len(group) == 1 and level > 0:
                return group[0]
            if group:
                self._levels[level] = []
                self._push(level + 1, self._parent(group))
            level += 1


def build_directory(entries: dict[str, Node], params: Params, sink: BlockSink) -> Node:
    """A flat UnixFS directory over named children (links sorted bytewise by name, as Kubo does).

    Kubo and the JS importer switch to a HAMT-sharded directory once the links' names + CIDs
    reach 256 KiB; we do not build HAMTs, so such a directory is refused rather than given a
    CID that Kubo would not produce.
    """
    estimate = sum(len(n.encode()) + len(bytes(e.cid)) for n, e in entries.items())
    if estimate >= HAMT_THRESHOLD:
        raise UnsupportedDagError(f"directory with {len(entries)} entries would be HAMT-sharded "
                                  "by Kubo; sharded directories are not supported",
                                  cid="", feature="HAMT-sharded directory",
                                  hint="split the files over subdirectories")
    names = sorted(entries, key=lambda n: n.encode())
    links = [Link(entries[n].cid, n, entries[n].tsize) for n in names]
    block = encode_node(links, DIRECTORY_DATA)
    cid = CID.of(block, DAG_PB, params.cid_version)
    sink(cid, block)
    return Node(cid, len(block) + sum(link.tsize for link in links), 0)


def build_bytes(data: bytes, params: Params, sink: BlockSink) -> Node:
    builder = FileBuilder(params, sink)
    builder.feed(data)
    return builder.finish()


def build_path(path: str | Path, params: Params, sink: BlockSink,
               read_size: int = 1 << 20) -> list[tuple[str, Node]]:
    """Import a file or directory tree from disk (no server); returns (relative path, node) for
    every file and directory, the top entry last, named by its basename (as `ipfs add -r`)."""
    root = Path(path)
    out: list[tuple[str, Node]] = []

    def visit(p: Path, rel: str) -> Node:
        if p.is_symlink():
            raise ValueError(f"{p} is a symlink; only regular files and directories are added")
        if p.is_dir():
            children = {c.name: visit(c, f"{rel}/{c.name}") for c in sorted(p.iterdir())}
            node = build_directory(children, params, sink)
        else:
            builder = FileBuilder(params, sink)
            with open(p, "rb") as fh:
                while piece := fh.read(read_size):
                    builder.feed(piece)
            node = builder.finish()
        out.append((rel, node))
        return node

    visit(root, root.resolve().name)
    return out
