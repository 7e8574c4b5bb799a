"""On-disk blocks and pins of the embedded store.

Layout of a repo directory::

    blocks/<2 chars>/<base32 multihash>.data   one file per block (flatfs-like "next-to-last/2")
    tmp/                                       blocks being written; emptied at start-up
    pins.json                                  {"<cid>": "recursive" | "direct"}
    repo.lock                                  held (flock) by the one process serving the repo

Durability: a block is written to ``tmp/``, fsynced, then renamed into place, so a block file
either does not exist or holds exactly the bytes of its CID, whatever moment the process dies
(or the power fails). Directory entries are fsynced (``sync()``) before anything that refers to
the blocks (a pin) is written; the pin index itself is replaced the same way (temp + fsync +
rename + dir fsync).

Group commit (default; ``VERITRAIN_STORE_SYNC=per-block`` restores one fsync per block): a
block's temp file is written without waiting for the disk and *staged*; once ``GROUP_BYTES``
are staged (and in ``sync()``) the batch is fdatasync'ed by ``SYNC_THREADS`` threads at once
(the journal commits concurrent fsyncs together) and only then renamed into place. The invariant
above is unchanged — nothing lands in ``blocks/`` before its bytes are on disk — but the disk
sees a few large flushes instead of one journal commit per 256 KiB.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from store.cid import CID
from store.errors import BlockNotFoundError, RepoError

PIN_TYPES = ("recursive", "direct")
#: Staged bytes that trigger a group commit (bounds the temp files waiting in tmp/).
GROUP_BYTES = 32 << 20
#: Threads issuing fdatasync of one group concurrently.
SYNC_THREADS = 16
#: "group" (default) or "per-block" (fsync each block before its rename; slower, for comparison).
SYNC_MODES = ("group", "per-block")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_temp(data: bytes | memoryview, tmp_dir: Path, fsync: bool) -> Path:
    """A new file in ``tmp_dir`` holding ``data`` (fsynced if asked); removed again on error."""
    tmp = tmp_dir / f"{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if fsync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return tmp


def write_atomic(path: Path, data: bytes | memoryview, tmp_dir: Path) -> None:
    """Write ``data`` to ``path`` so that ``path`` never holds partial bytes (temp+fsync+rename)."""
    os.replace(write_temp(data, tmp_dir, fsync=True), path)


def _datasync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)  # flushes the inode's dirty pages, whichever descriptor wrote them
    finally:
        os.close(fd)


class _Pending:
    """A block on its way into blocks/: writing -> staged -> committing -> (gone) | failed."""

    __slots__ = ("nbytes", "state", "tmp")

    def __init__(self) -> None:
        self.state = "writing"
        self.tmp = Path()
        self.nbytes = 0


class Blockstore:
    """Content-addressed block files, keyed by multihash; writes may run on a small thread pool."""

    def __init__(self, root: Path, writers: int = 4, sync_mode: str | None = None) -> None:
        mode = sync_mode or os.environ.get("VERITRAIN_STORE_SYNC") or "group"
        if mode not in SYNC_MODES:
            raise RepoError(f"unknown block sync mode {mode!r}", repo=str(root),
                            hint=f"set VERITRAIN_STORE_SYNC to one of {', '.join(SYNC_MODES)}")
        self.sync_mode = mode
        self.root = root
        self.blocks = root / "blocks"
        self.tmp = root / "tmp"
        self.blocks.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(exist_ok=True)
        for stale in self.tmp.iterdir():  # left by a process that died mid-write
            stale.unlink(missing_ok=True)
        self._pool = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="blockwriter")
        self._inflight = threading.BoundedSemaphore(writers * 4)
        self._dirty: set[Path] = set()  # block dirs with renames not yet fsynced
        # Blocks put but not yet in blocks/ (durable, renamed, dir recorded in _dirty). A put
        # that finds its block here relies on that entry; sync() waits until it is done.
        self._pending: dict[Path, _Pending] = {}
        self._staged_bytes = 0
        self._cond = threading.Condition()
        self._dirsync = threading.Lock()
        self._sync_pool = ThreadPoolExecutor(
            max_workers=SYNC_THREADS, thread_name_prefix="blocksync"
        )

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
        """Store a block: renamed into blocks/ (and durable) by a group commit or by ``sync()``;
        in per-block mode before returning. Pins must come after ``sync()``."""
        path = self.path(cid)
        with self._cond:
            seen = self._pending.get(path)
            if (seen is not None and seen.state != "failed") or path.exists():
                return  # stored or being stored (e.g. the same zero chunk twice in one add)
            entry = self._pending[path] = _Pending()
        batch: list[tuple[Path, _Pending]] = []
        try:
            path.parent.mkdir(exist_ok=True)
            if self.sync_mode == "per-block":
                write_atomic(path, data, self.tmp)
            else:
                entry.tmp = write_temp(data, self.tmp, fsync=False)
        except BaseException:
            with self._cond:
                entry.state = "failed"
                self._cond.notify_all()
            raise
        with self._cond:
            if self.sync_mode == "per-block":
                self._done([(path, entry)])
                return
            entry.state, entry.nbytes = "staged", len(data)
            self._staged_bytes += len(data)
            if self._staged_bytes >= GROUP_BYTES:
                batch = self._take(self._pending)
            self._cond.notify_all()
        if batch:
            self._commit(batch)

    def _take(self, paths: Iterable[Path]) -> list[tuple[Path, _Pending]]:
        """Claim the staged entries among ``paths`` for a commit (caller holds ``_cond``)."""
        batch = [(p, e) for p in paths if (e := self._pending.get(p)) and e.state == "staged"]
        for _, e in batch:
            e.state = "committing"
        self._staged_bytes = sum(e.nbytes for e in self._pending.values() if e.state == "staged")
        return batch

    def _done(self, batch: list[tuple[Path, _Pending]]) -> None:
        """Renamed and durable: record the dirs, drop the entries (caller holds ``_cond``)."""
        for path, entry in batch:
            self._dirty.add(path.parent)
            if self._pending.get(path) is entry:
                del self._pending[path]
        self._cond.notify_all()

    def _commit(self, batch: list[tuple[Path, _Pending]]) -> None:
        """fdatasync the temp files of ``batch`` concurrently, then rename them into place."""
        try:
            for _ in self._sync_pool.map(_datasync, [e.tmp for _, e in batch]):
                pass
            for path, entry in batch:
                os.replace(entry.tmp, path)
        except BaseException:
            with self._cond:
                for _, entry in batch:
                    entry.tmp.unlink(missing_ok=True)
                    entry.state = "failed"
                self._cond.notify_all()
            raise
        with self._cond:
            self._done(batch)

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
        """Make every block put before this call durable and visible: commit the staged ones,
        wait for those other threads are writing or committing, then fsync the block dirs."""
        with self._cond:
            wait_for = set(self._pending)
        while True:
            with self._cond:
                wait_for = {p for p in wait_for if p in self._pending}
                failed = [p.name for p in wait_for if self._pending[p].state == "failed"]
                if failed:
                    raise RepoError(f"block {failed[0]} (and {len(failed) - 1} more) could not be "
                                    f"written to {self.blocks}", repo=str(self.root),
                                    hint="check the disk (space, errors) and add again")
                if not wait_for:
                    break
                batch = self._take(wait_for)
                if not batch:
                    self._cond.wait(timeout=1.0)
                    continue
            self._commit(batch)
        with self._dirsync:  # a concurrent sync may hold dirs we rely on: wait for its fsyncs
            with self._cond:
                dirty, self._dirty = self._dirty, set()
            if self.sync_mode == "per-block":
                for d in dirty:
                    _fsync_dir(d)
            else:  # up to 1024 shard dirs per add: concurrent fsyncs share journal commits
                for _ in self._sync_pool.map(_fsync_dir, dirty):
                    pass

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
        self.sync()  # blocks put but not yet committed (no pin refers to them) stay, durably
        self._sync_pool.shutdown(wait=True)


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
            raise RepoError(
                f"repo {root} is in use by another process",
                repo=str(root),
                hint="stop the other `veritrain store serve` or use another --repo",
            ) from None

    def release(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()
