"""Writing a trace directory while the step is recorded (docs/referee.md "Step trace").

Tracing a step used to record it, then commit to every op output, then write the files: three
phases one after the other, although the recording keeps one core busy with Python and the
step's kernels while the other two are a kernel copy (``pwrite``) and SHA-256 in C, both of
which release the GIL. A :class:`TraceSink` handed to the recorder takes each op output as soon
as it exists and, on a small thread pool, writes its bytes straight from the array's memory to
``ops.f32`` at the op's offset and computes its commitment; the values the step reads (state,
batch, teacher) go to ``inputs.f32`` the same way (the state, which the update overwrites, is
copied there too, while the forward pass runs). When the step ends, most of the trace is on
disk and committed.

What the files hold does not change: the same float32 bytes, the same commitments and
``trace.json``. One difference: ops that the recording drops at the end (nothing in the state
after the step reads them: the poolers) were already written when they were found dead, so
``ops.f32`` keeps their bytes in place and ``trace.json`` then lists every op's offset
(``opOffsets``); ``load_trace`` reads both layouts.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from prover.trace import commit, fastcommit
from prover.trace.commit import TraceError

OPS_FILE = "ops.f32"
INPUTS_FILE = "inputs.f32"
TRACE_FILE = "trace.json"


def as_f32(v: np.ndarray) -> np.ndarray:
    """``v`` flat, as contiguous little-endian float32 (no copy when it already is)."""
    if v.dtype != np.dtype("<f4") or not v.flags.c_contiguous:
        v = np.ascontiguousarray(v, dtype="<f4")
    return v.reshape(-1)


def pwrite_all(fd: int, values: np.ndarray, offset: int) -> None:
    """The array's bytes at byte ``offset`` of ``fd``, straight from its memory (no copy in
    Python; the kernel's copy releases the GIL)."""
    raw = values.data.cast("B")
    done = 0
    while done < len(raw):
        done += os.pwrite(fd, raw[done:], offset + done)


def sink_threads(threads: int | None) -> int:
    """Threads of a sink (None: the cores the training step leaves free, 1 to 4)."""
    if threads is not None and threads > 0:
        return threads
    import torch

    return max(1, min(4, (os.cpu_count() or 1) - torch.get_num_threads()))


class TraceSink:
    """Writes and commits a step's values while it is recorded (see the module doc).

    The recorder calls :meth:`op` for each op output, in recording order, and :meth:`release`
    before it overwrites an op's memory; the tracer calls :meth:`inputs` with the values the
    step read and :meth:`finish` (or :meth:`abort`) at the end.
    """

    def __init__(self, out: str | Path | None, threads: int | None = None) -> None:
        #: None: commit only (the referee's re-trace keeps the values in memory; nothing is
        #: written, and ``write_trace`` writes the files later if they are wanted).
        self.dir = None if out is None else Path(out)
        self._pool = ThreadPoolExecutor(sink_threads(threads), thread_name_prefix="trace-sink")
        self._ops_fd: int | None = None
        self._inputs_fd: int | None = None
        if self.dir is not None:
            self.dir.mkdir(parents=True, exist_ok=True)
            # a trace.json from before would describe the files about to be overwritten
            (self.dir / TRACE_FILE).unlink(missing_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            self._ops_fd = os.open(self.dir / OPS_FILE, flags, 0o644)
            self._inputs_fd = os.open(self.dir / INPUTS_FILE, flags, 0o644)
        #: element offset in ops.f32 and shape of every op recorded so far
        self.offsets: list[int] = []
        self._shapes: list[tuple[int, ...]] = []
        self._jobs: list[Future[bytes]] = []
        self._writes: list[Future[Any]] = []
        self._ops_end = 0
        self._inputs_end = 0
        self._open = True
        self._commits: list[bytes] | None = None

    # ---- fed by the recorder ----------------------------------------------------------------
    def op(self, value: np.ndarray, shape: tuple[int, ...]) -> None:
        """Op ``len(offsets)``'s output (flat float32): written and committed on the pool."""
        self.offsets.append(self._ops_end)
        self._shapes.append(shape)
        self._ops_end += value.size
        self._jobs.append(self._submit(len(self._jobs), value))

    def release(self, index: int, copy: np.ndarray) -> None:
        """Op ``index``'s memory is about to be overwritten (``copy`` holds its value): its job
        reads the copy if it has not started, or is waited for."""
        job = self._jobs[index]
        if job.cancel():
            self._jobs[index] = self._submit(index, copy)
        else:
            job.result()

    def inputs(self, values: Sequence[np.ndarray]) -> list[int]:
        """The next values the step read, after those given before in ``inputs.f32``; returns
        their element counts. They must not change until :meth:`finish`."""
        sizes = []
        for v in values:
            flat = as_f32(v)
            if self._inputs_fd is not None:
                self._writes.append(self._pool.submit(pwrite_all, self._inputs_fd, flat,
                                                      4 * self._inputs_end))
            self._inputs_end += flat.size
            sizes.append(flat.size)
        return sizes

    def inputs_copied(self, views: Sequence[np.ndarray]) -> Future[list[np.ndarray]]:
        """As :meth:`inputs` for values that change later (the state before the update): the
        pool copies them, writes the copies and gives them back; the result must be awaited
        before anything writes the viewed memory."""
        flats = [as_f32(v) for v in views]
        offsets = []
        for f in flats:
            offsets.append(4 * self._inputs_end)
            self._inputs_end += f.size
        job = self._pool.submit(self._copy_and_write, flats, offsets)
        self._writes.append(job)
        return job

    def _copy_and_write(self, flats: list[np.ndarray], offsets: list[int]) -> list[np.ndarray]:
        copies = [f.copy() for f in flats]  # numpy copies without the GIL
        if self._inputs_fd is not None:
            for c, at in zip(copies, offsets, strict=True):
                pwrite_all(self._inputs_fd, c, at)
        return copies

    def commit_copies(self, copied: Future[list[np.ndarray]],
                      shapes: Sequence[tuple[int, ...]]) -> Future[list[bytes]]:
        """The commitments (``prover.trace.commit.commit``) of the values an
        :meth:`inputs_copied` job gives back, with these shapes, computed on the pool: the
        state before's v2 leaves, off the thread that trains."""
        def run() -> list[bytes]:
            return [commit.bind_shape(fastcommit.tensor_root(c), s)
                    for c, s in zip(copied.result(), shapes, strict=True)]

        job = self._pool.submit(run)
        self._writes.append(job)
        return job

    def _submit(self, index: int, value: np.ndarray) -> Future[bytes]:
        return self._pool.submit(self._one, as_f32(value), self._shapes[index],
                                 4 * self.offsets[index])

    def _one(self, value: np.ndarray, shape: tuple[int, ...], offset: int) -> bytes:
        if self._ops_fd is None:
            return commit.bind_shape(fastcommit.tensor_root(value), shape)
        # one C call writes the bytes and hashes them while they are in the cache
        return commit.bind_shape(fastcommit.write_root(self._ops_fd, value, offset), shape)

    # ---- the end ----------------------------------------------------------------------------
    def finish(self) -> list[bytes]:
        """Waits for every write; returns the commitments of every op recorded (in recording
        order, dropped ops included) and closes the files (again: the same list)."""
        if self._commits is None:
            if not self._open:
                where = f"written to {self.dir}" if self.dir is not None else "in memory"
                raise TraceError(f"the trace {where} was abandoned",
                                 hint="trace the step again")
            try:
                commits = [job.result() for job in self._jobs]
                for w in self._writes:
                    w.result()
            finally:
                self._close()
            self._commits = commits
        return self._commits

    def abort(self) -> None:
        """Stops writing and removes the files written so far (a trace that failed)."""
        if self._open:
            for job in self._jobs:
                job.cancel()
            for w in self._writes:
                w.cancel()
            self._close()
        if self.dir is not None:
            for name in (OPS_FILE, INPUTS_FILE):
                (self.dir / name).unlink(missing_ok=True)

    def _close(self) -> None:
        self._open = False
        self._pool.shutdown(wait=True)
        for fd in (self._ops_fd, self._inputs_fd):
            if fd is not None:
                os.close(fd)

    @property
    def ops_elements(self) -> int:
        """Elements in ops.f32 (every op recorded)."""
        return self._ops_end

