"""Fuzzing the embedded store's Kubo RPC over real HTTP (raw sockets, so anything can be sent).

Every request gets an answer within a bound: 200, or a Kubo-shaped JSON error
({"Message", "Code", "Type": "error"}); the server keeps serving; and the repo on disk stays
consistent (every block hashes to its name, pinned DAGs complete, earlier pins intact).
"""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.client import Client
from store.server import serve

LIGHT = settings(max_examples=70, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
HEAVY = settings(max_examples=1500, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
ANSWER_WITHIN = 15.0  # seconds for a whole exchange, on a loaded 2-core machine

COMMANDS = ["add", "cat", "get", "ls", "pin/add", "pin/rm", "pin/ls", "block/get", "block/put",
            "block/stat", "repo/gc", "version", "id"]
HELLO = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("fuzzrepo")
    src = tmp_path_factory.mktemp("src")
    (src / "a.txt").write_bytes(b"alpha\n" * 1000)
    (src / "sub").mkdir()
    (src / "sub" / "b.bin").write_bytes(bytes(range(256)) * 2000)
    with serve(root) as handle, Client(handle.url) as c:
        cids = {"dir": c.put_dir(src), "hello": c.put_bytes(b"hello world\n")}
        yield {"handle": handle, "root": root, "src": src, "cids": cids,
               "pins": {cid: "recursive" for cid in cids.values()}}


def exchange(
    url: str, raw: bytes, timeout: float = ANSWER_WITHIN
) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, half-close, read to EOF; (status, headers, body)."""
    host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as s:
        try:
            s.sendall(raw)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer (413, 431) and close before reading everything
        chunks = []
        while True:
            if time.monotonic() > deadline:
                raise AssertionError(f"no complete answer within {timeout}s")
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
    data = b"".join(chunks)
    if data.startswith(b"<!DOCTYPE HTML>") and b"Error code: " in data:
        # http.server treats a request line without a version as HTTP/0.9: body only, no head
        code = int(data.split(b"Error code: ")[1][:3])
        return code, {"content-type": "text/html"}, data
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines and lines[0].startswith(b"HTTP/1."), f"not an HTTP answer: {data[:200]!r}"
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def check_answer(status: int, headers: dict[str, str], body: bytes) -> None:
    if status == 200:
        return
    assert status in (400, 404, 405, 413, 414, 431, 500), status
    if status in (400, 414, 431) and "json" not in headers.get("content-type", ""):
        return  # http.server's own refusals of oversize/garbled request lines and headers (HTML)
    doc = json.loads(body.decode())
    assert set(doc) == {"Message", "Code", "Type"} and doc["Type"] == "error", doc
    assert doc["Code"] in (0, 1), f"an internal error (Code 2) leaked: {doc['Message']}"


def request(cmd: str, query: list[tuple[str, str]], body: bytes = b"",
            headers: dict[str, str] | None = None) -> bytes:
    q = urllib.parse.urlencode(query)
    h = {"Host": "127.0.0.1", "Connection": "close", "Content-Length": str(len(body)),
         **(headers or {})}
    head = f"POST /api/v0/{cmd}{'?' + q if q else ''} HTTP/1.1\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in h.items())
    return head.encode("latin-1", "replace") + b"\r\n" + body


def multipart(parts: list[tuple[str, str, bytes]], boundary: str = "fuzzB0undary",
              close: bool = True) -> tuple[bytes, str]:
    out = b""
    for name, ctype, data in parts:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{name}\"\r\nContent-Type: {ctype}\r\n\r\n").encode("utf-8", "replace")
        out += data + b"\r\n"
    if close:
        out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def still_serving_and_consistent(env: dict[str, Any], repo_check: Callable[..., Any]) -> None:
    status, _, body = exchange(env["handle"].url, request("version", []))
    assert status == 200 and b"Version" in body
    rep = repo_check(env["root"], expect_pins=env["pins"])
    assert not rep.problems, rep.problems


# ---- strategies ----------------------------------------------------------------------------
names = st.one_of(
    st.sampled_from(["../escape", "/abs", "a//b", "./x", "a/../../b", "%2e%2e/x", "a\\b", "dir/.",
                     "ok.txt", "d/ok.txt", "d", "", ".hidden", "x" * 300, "\u202e.txt", "a\x00b"]),
    st.text(max_size=30))
part = st.tuples(names, st.sampled_from(["application/octet-stream", "application/x-directory",
                                         "multipart/mixed; boundary=zz", "text/plain", ""]),
                 st.binary(max_size=300))
cids = st.one_of(st.sampled_from([HELLO, "Qm123", "bafy", "", "/ipfs/" + HELLO, HELLO + "/../x",
                                  HELLO + "/nope", "z" * 2000, "bafkqaaa", "f01551220" + "00" * 32,
                                  "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"]),
                 st.text(max_size=60))
query_keys = ["arg", "cid-version", "raw-leaves", "chunker", "pin", "offset", "length", "type",
              "recursive", "cid-codec", "format", "mhtype", "wrap-with-directory", "only-hash",
              "quieter", "hash", "quiet", "stream-channels", "\x00", "arg"]
query = st.lists(
    st.tuples(
        st.sampled_from(query_keys),
        st.one_of(
            cids,
            st.sampled_from(
                ["true", "false", "-1", "99999999999999999999", "size-0", "size-1048577", "1", "0"]
            ),
        ),
    ),
    max_size=5,
)


@st.composite
def any_request(draw: st.DrawFn) -> bytes:
    cmd = draw(st.one_of(st.sampled_from(COMMANDS), st.text(max_size=12)))
    q = draw(query)
    kind = draw(st.sampled_from(["multipart", "raw", "empty", "lying-length", "chunked"]))
    if kind == "multipart":
        body, ctype = multipart(draw(st.lists(part, max_size=4)),
                                boundary=draw(st.sampled_from(["b", "fuzzB0undary", "x" * 80])),
                                close=draw(st.booleans()))
        if draw(st.booleans()):
            body = body[: draw(st.integers(0, len(body)))]
        return request(cmd, q, body, {"Content-Type": ctype})
    if kind == "raw":
        return request(cmd, q, draw(st.binary(max_size=500)),
                       {"Content-Type": draw(st.sampled_from(["multipart/form-data", "text/plain",
                                                             "multipart/form-data; boundary="]))})
    if kind == "lying-length":  # says more than it sends; the half-close ends the body early
        body = draw(st.binary(max_size=100))
        raw = request(cmd, q, body)
        return raw.replace(f"Content-Length: {len(body)}".encode(),
                           f"Content-Length: {len(body) + draw(st.integers(1, 10**6))}".encode())
    if kind == "chunked":
        body = draw(st.sampled_from([b"5\r\nhello\r\n0\r\n\r\n", b"zz\r\n", b"5\r\nhel", b"-1\r\n",
                                     b"ffffffffffffffff\r\nx"]))
        raw = request(cmd, q, body, {"Transfer-Encoding": "chunked"})
        return raw.replace(f"Content-Length: {len(body)}\r\n".encode(), b"")
    return request(cmd, q)


@LIGHT
@given(raw=any_request())
def test_fuzz_store_rpc_requests(
    served: dict[str, Any], repo_check: Callable[..., Any], raw: bytes
) -> None:
    check_answer(*exchange(served["handle"].url, raw))
    still_serving_and_consistent(served, repo_check)


@LIGHT
@given(parts=st.lists(part, min_size=1, max_size=5), wrap=st.booleans())
def test_fuzz_store_add_directory_paths(served: dict[str, Any], repo_check: Callable[..., Any],
                                       parts: list[tuple[str, str, bytes]], wrap: bool) -> None:
    body, ctype = multipart(parts)
    q = [("cid-version", "1"), ("wrap-with-directory", str(wrap).lower())]
    status, headers, answer = exchange(
        served["handle"].url, request("add", q, body, {"Content-Type": ctype})
    )
    check_answer(status, headers, answer)
    for name, _, _ in parts:  # an escaping path must never be accepted
        segs = name.split("/")
        if status == 200 and (name.startswith("/") or ".." in segs or "\x00" in name):
            raise AssertionError(f"escaping path {name!r} accepted")
    still_serving_and_consistent(served, repo_check)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(
            b"POST /api/v0/version HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",
            id="200k-header",
        ),
        pytest.param(
            b"POST /api/v0/version HTTP/1.1\r\n" + b"X-H: 1\r\n" * 500 + b"\r\n", id="500-headers"
        ),
        pytest.param(
            b"POST /api/v0/cat?arg=" + b"A" * 100_000 + b" HTTP/1.1\r\n\r\n", id="100k-url"
        ),
        pytest.param(
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64, id="tls-hello"
        ),
        pytest.param(b"GARBAGE\r\n\r\n", id="garbage-line"),
        pytest.param(
            b"POST /api/v0/add HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
            id="huge-length",
        ),
        pytest.param(
            b"POST /api/v0/add HTTP/1.1\r\nContent-Length: -5\r\n\r\n", id="negative-length"
        ),
        pytest.param(
            b"POST /api/v0/add HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b'Content-Length: 40000\r\n\r\n--b\r\nContent-Disposition: form-data; name="f"; '
            b'filename="x"\r\n'
            + b"X-Pad: "
            + b"p" * 30_000
            + b"\r\n\r\nbody\r\n--b--\r\n",
            id="huge-part-header",
        ),
    ],
)
def test_store_hostile_requests(
    served: dict[str, Any], repo_check: Callable[..., Any], raw: bytes
) -> None:
    try:
        answer = exchange(served["handle"].url, raw)
    except AssertionError as exc:
        if "not an HTTP answer: b''" not in str(exc):
            raise
        answer = None  # closing the connection without an answer is acceptable for garbage
    if answer is not None:
        check_answer(*answer)
    still_serving_and_consistent(served, repo_check)


def test_store_slow_client_does_not_block_others(served: dict[str, Any],
                                                 repo_check: Callable[..., Any]) -> None:
    """Slowloris: a client that sends half an add and goes quiet holds one thread, not the server;
    when it disconnects nothing half-written becomes pinned."""
    body, ctype = multipart([("slow.bin", "application/octet-stream", b"s" * 100_000)])
    raw = request("add", [("cid-version", "1")], body, {"Content-Type": ctype})
    url = urllib.parse.urlsplit(served["handle"].url)
    before = json.loads((served["root"] / "pins.json").read_text())
    stuck = [socket.create_connection((url.hostname, url.port), timeout=5) for _ in range(8)]
    try:
        for s in stuck:
            s.sendall(raw[: len(raw) // 2])
        for _ in range(3):
            status, _, _ = exchange(served["handle"].url, request("version", []), timeout=5)
            assert status == 200
    finally:
        for s in stuck:
            s.close()
    time.sleep(0.5)
    pins = json.loads((served["root"] / "pins.json").read_text())
    assert pins == before, "a disconnected half-add left a pin"
    still_serving_and_consistent(served, repo_check)


def test_store_earlier_content_intact_after_fuzz(served: dict[str, Any], tmp_path: Path,
                                                 repo_check: Callable[..., Any]) -> None:
    """After everything above (module order), the first uploads still read back verified."""
    with Client(served["handle"].url) as c:
        out = c.get_dir(served["cids"]["dir"], tmp_path / "back")
        assert (out / "sub" / "b.bin").read_bytes() == (
            served["src"] / "sub" / "b.bin"
        ).read_bytes()
        assert c.get_bytes(served["cids"]["hello"]) == b"hello world\n"
        assert all(c.is_pinned(cid) for cid in served["cids"].values())
    still_serving_and_consistent(served, repo_check)


@pytest.mark.heavy
@HEAVY
@given(raw=any_request())
def test_fuzz_store_rpc_requests_heavy(served: dict[str, Any], repo_check: Callable[..., Any],
                                       raw: bytes) -> None:
    check_answer(*exchange(served["handle"].url, raw))
    still_serving_and_consistent(served, repo_check)
