"""On-disk blocks and pins of the embedded store.

Layout of a repo directory::

    blocks/<2 chars>/<base32 multihash>.data   one file per block (flatfs-like "next-to-last/2")
    tmp/                                       blocks being written; emptied at start-up
    pins.json                                  {"<cid>": "recursive" | "direct"}
    repo.lock                                  held (flock) by the one process serving the repo

Durability: a block is written to ``tmp/``, fsynced, then renamed into place, so a block file
either does not exist or holds exactly the bytes of its CID, whatever moment the process dies.
Directory entries are fsynced (``sync()``) before anything that refers to the blocks (a pin) is
written; the pin index itself is replaced the same way (temp + fsync + rename + dir fsync).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from store.cid import CID
from store.errors import BlockNotFoundError, RepoError

PIN_TYPES = ("recursive", "direct")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes | memoryview, tmp_dir: Path) -> None:
    """Write ``data`` to ``path`` so that ``path`` never holds partial bytes (temp+fsync+rename)."""
    tmp = tmp_dir / f"{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)


class Blockstore:
    """Content-addressed block files, keyed by multihash; writes may run on a small thread pool."""

    def __init__(self, root: Path, writers: int = 4) -> None:
        self.root = root
        self.blocks = root / "blocks"
        self.tmp = root / "tmp"
        self.blocks.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(exist_ok=True)
        for stale in self.tmp.iterdir():  # left by a process that died mid-write
            stale.unlink(missing_ok=True)
        self._pool = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="blockwriter")
        self._inflight = threading.BoundedSemaphore(writers * 4)
        self._dirty: set[Path] = set()
        self._dirty_lock = threading.Lock()

    def path(self, cid: CID) -> Path:
        key = cid.block_key()
        return self.blocks / key[-3:-1] / f"{key}.data"

    def has(self, cid: CID) -> bool:
        return self.path(cid).exists()

    def get(self, cid: CID) -> bytes:
        try:
            return self.path(cid).read_bytes()
        except FileNotFoundError:
            raise BlockNotFoundError(f"block {cid} not found", cid=str(cid)) from None

    def size(self, cid: CID) -> int:
        try:
            return self.path(cid).stat().st_size
        except FileNotFoundError:
            raise BlockNotFoundError(f"block {cid} not found", cid=str(cid)) from None

    def put(self, cid: CID, data: bytes | memoryview) -> None:
        path = self.path(cid)
        if path.exists():
            return
        path.parent.mkdir(exist_ok=True)
        write_atomic(path, data, self.tmp)
        with self._dirty_lock:
            self._dirty.add(path.parent)

    def put_async(self, cid: CID, data: bytes | memoryview) -> Future[None]:
        """Queue a write; at most ``4 * writers`` blocks wait in memory (back-pressure)."""
        self._inflight.acquire()
        try:
            fut = self._pool.submit(self.put, cid, data)
        except BaseException:
            self._inflight.release()
            raise
        fut.add_done_callback(lambda _f: self._inflight.release())
        return fut

    def sync(self) -> None:
        """Make the renames of everything written so far durable."""
        with self._dirty_lock:
            dirty, self._dirty = self._dirty, set()
        for d in dirty:
            _fsync_dir(d)

    def delete(self, key_path: Path) -> None:
        key_path.unlink(missing_ok=True)

    def keys(self) -> Iterator[tuple[str, Path]]:
        """(base32 multihash key, path) of every stored block."""
        for shard in self.blocks.iterdir():
            if shard.is_dir():
                for f in shard.iterdir():
                    if f.suffix == ".data":
                        yield f.stem, f

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class PinIndex:
    """Durable map of pinned root CIDs to their pin type."""

    def __init__(self, root: Path) -> None:
        self.file = root / "pins.json"
        self.tmp = root / "tmp"
        self._lock = threading.Lock()
        try:
            raw = json.loads(self.file.read_text()) if self.file.exists() else {}
        except (OSError, json.JSONDecodeError) as exc:
            raise RepoError(f"pin index {self.file} is unreadable: {exc}", repo=str(root),
                            hint="restore pins.json from a backup or re-pin your content") from None
        self._pins: dict[str, str] = {str(k): str(v) for k, v in raw.items()}

    def items(self) -> dict[str, str]:
        with self._lock:
            return dict(self._pins)

    def get(self, cid: CID) -> str | None:
        with self._lock:
            return self._pins.get(str(cid))

    def update(self, add: dict[CID, str] | None = None, remove: list[CID] | None = None) -> None:
        with self._lock:
            pins = dict(self._pins)
            for cid, kind in (add or {}).items():
                if pins.get(str(cid)) != "recursive":  # recursive wins over direct
                    pins[str(cid)] = kind
            for cid in remove or []:
                pins.pop(str(cid), None)
            write_atomic(self.file, json.dumps(pins, sort_keys=True, indent=0).encode(), self.tmp)
            _fsync_dir(self.file.parent)
            self._pins = pins


class RepoLock:
    """An exclusive flock on ``repo.lock`` so two servers never share one repo."""

    def __init__(self, root: Path) -> None:
        self._fh = open(root / "repo.lock", "a+")  # noqa: SIM115 - held for the repo's lifetime
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh.close()
            raise RepoError(f"repo {root} is in use by another process", repo=str(root),
                            hint="stop the other `veritrain store serve` or use another --repo") from None

    def release(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()
