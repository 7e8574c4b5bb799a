"""Streaming request bodies for the embedded store: Content-Length or chunked, and multipart parts.

Everything reads in bounded pieces so adding a file of any size keeps memory flat.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from typing import BinaryIO

from store.errors import BadRequestError

READ_SIZE = 1 << 20
MAX_PART_HEADERS = 16 * 1024


class BodyReader:
    """``read(n)`` over a request body, de-chunking ``Transfer-Encoding: chunked``."""

    def __init__(self, rfile: BinaryIO, length: int | None, chunked: bool, limit: int) -> None:
        self.rfile = rfile
        self.chunked = chunked
        self.remaining = length if length is not None else 0
        self.limit = limit
        self.total = 0
        self.done = not chunked and self.remaining == 0

    def _next_chunk(self) -> None:
        line = self.rfile.readline(1024)
        if not line.endswith(b"\n"):
            raise BadRequestError("malformed chunked body", reason="chunked")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadRequestError("malformed chunk size", reason="chunked") from None
        if size == 0:
            while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            self.done = True
        self.remaining = size

    def read(self, n: int = READ_SIZE) -> bytes:
        pieces: list[bytes] = []
        got = 0
        while got < n and not self.done:
            if self.remaining == 0:
                if not self.chunked:
                    self.done = True
                    break
                self._next_chunk()
                continue
            piece = self.rfile.read(min(n - got, self.remaining))
            if not piece:
                raise BadRequestError("request body ended early", reason="truncated")
            pieces.append(piece)
            got += len(piece)
            self.remaining -= len(piece)
            if (
                self.remaining == 0
                and self.chunked
                and self.rfile.readline(8) not in (b"\r\n", b"\n")
            ):
                raise BadRequestError("malformed chunked body", reason="chunked")
        self.total += got
        if self.total > self.limit:
            raise BadRequestError(f"request body exceeds {self.limit} bytes", reason="too-large")
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def drain(self) -> None:
        while not self.done:
            self.read(READ_SIZE)


class Part:
    """One multipart part: headers, its (url-decoded) file name and its streamed body."""

    def __init__(self, reader: MultipartReader, headers: dict[str, str]) -> None:
        self.headers = headers
        self._reader = reader
        disp = headers.get("content-disposition", "")
        match = re.search(r'filename\*?="([^"]*)"', disp) or re.search(r"filename\*?=([^;]*)", disp)
        self.filename = urllib.parse.unquote(match.group(1).strip()) if match else ""
        self.content_type = (
            headers.get("content-type", "application/octet-stream").split(";")[0].strip()
        )
        self.finished = False

    @property
    def is_directory(self) -> bool:
        return self.content_type == "application/x-directory"

    def chunks(self) -> Iterator[memoryview]:
        """The part's bytes, as read-only views valid for as long as they are referenced."""
        if not self.finished:
            yield from self._reader._body()
            self.finished = True


class MultipartReader:
    """Splits a multipart body into parts without copying part data: bodies are yielded as
    read-only memoryviews of the received bytes (the file builder hashes and stores them as is)."""

    def __init__(self, body: BodyReader, content_type: str) -> None:
        match = re.search(r'boundary="?([^";]+)"?', content_type)
        if not content_type.startswith("multipart/") or not match:
            raise BadRequestError("expected a multipart/form-data body with a boundary",
                                  reason="content-type")
        self.body = body
        self.delim = b"\r\n--" + match.group(1).encode()
        self.buf = b"\r\n"  # so the first boundary looks like every other one
        self.pos = 0  # bytes of buf before pos are consumed

    def _fill(self) -> bool:
        data = self.body.read(READ_SIZE)
        if not data:
            return False
        rest = self.buf[self.pos:]
        self.buf = rest + data if rest else data
        self.pos = 0
        return True

    def _body(self) -> Iterator[memoryview]:
        delim, buf = self.delim, self.buf
        while True:
            buf = self.buf
            i = buf.find(delim, self.pos)
            if i >= 0:
                if i > self.pos:
                    yield memoryview(buf)[self.pos:i]
                self.pos = i
                return
            # A delimiter not found in full can only start in the last len-1 bytes, at a CR.
            cr = buf.find(b"\r", max(len(buf) - len(delim) + 1, self.pos))
            safe = len(buf) if cr < 0 else cr
            if safe > self.pos:
                yield memoryview(buf)[self.pos:safe]
                self.pos = safe
            if not self._fill():
                raise BadRequestError("multipart body ended inside a part", reason="truncated")

    def parts(self) -> Iterator[Part]:
        for _ in self._body():  # preamble
            pass
        part: Part | None = None
        while True:
            if part is not None and not part.finished:
                for _ in part.chunks():
                    pass
            while len(self.buf) - self.pos < len(self.delim) + 2 and self._fill():
                pass
            self.pos += len(self.delim)
            if self.buf[self.pos:self.pos + 2] == b"--":
                self.body.drain()
                return
            while (end := self.buf.find(b"\r\n\r\n", self.pos)) < 0:
                if len(self.buf) - self.pos > MAX_PART_HEADERS or not self._fill():
                    raise BadRequestError("multipart part headers too large or truncated",
                                          reason="headers")
            raw = self.buf[self.pos + 2:end].decode("utf-8", "replace")
            self.pos = end + 4
            headers = {}
            for line in raw.split("\r\n"):
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            part = Part(self, headers)
            yield part


class ChunkedWriter:
    """Writes an HTTP/1.1 chunked response body."""

    def __init__(self, wfile: BinaryIO) -> None:
        self.wfile = wfile

    def write(self, data: bytes) -> int:
        if data:
            self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
        return len(data)

    def close(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
