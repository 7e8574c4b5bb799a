"""Streaming body/multipart parsing and DAG-PB/UnixFS round trips."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.cid import CID, DAG_PB, RAW, decode_varint, encode_varint
from store.dagpb import (
    FILE,
    Link,
    UnixFSData,
    decode_node,
    decode_unixfs,
    encode_node,
    encode_unixfs,
)
from store.errors import BadRequestError, InvalidCIDError
from store.http_io import BodyReader, MultipartReader

BOUNDARY = b"3f1c2a9e8b7d6c5f"


def multipart(parts: list[tuple[str, str, bytes]]) -> bytes:
    out = b""
    for name, ctype, data in parts:
        out += (
            b"--"
            + BOUNDARY
            + b'\r\nContent-Disposition: form-data; name="file"; filename="'
            + name.encode()
            + b'"\r\nContent-Type: '
            + ctype.encode()
            + b"\r\n\r\n"
            + data
            + b"\r\n"
        )
    return out + b"--" + BOUNDARY + b"--\r\n"


def chunked(body: bytes, sizes: list[int]) -> bytes:
    out, pos, i = b"", 0, 0
    while pos < len(body):
        n = max(1, sizes[i % len(sizes)])
        out += b"%x\r\n" % len(body[pos:pos + n]) + body[pos:pos + n] + b"\r\n"
        pos, i = pos + n, i + 1
    return out + b"0\r\n\r\n"


def parse(
    raw: bytes, *, is_chunked: bool, read_size: int | None = None
) -> list[tuple[str, bool, bytes]]:
    body = BodyReader(io.BufferedReader(io.BytesIO(raw)), None if is_chunked else len(raw),
                      is_chunked, 1 << 30)
    reader = MultipartReader(body, f"multipart/form-data; boundary={BOUNDARY.decode()}")
    return [(p.filename, p.is_directory, b"".join(p.chunks())) for p in reader.parts()]


@settings(max_examples=60, deadline=None)
@given(datas=st.lists(st.binary(max_size=3000), min_size=1, max_size=4),
       sizes=st.lists(st.integers(1, 5000), min_size=1, max_size=5), use_chunked=st.booleans())
def test_multipart_round_trip_any_split(
    datas: list[bytes], sizes: list[int], use_chunked: bool
) -> None:
    # Data that contains pieces of the delimiter must still come back exactly.
    parts = [(f"d/f%2F{i}", "application/octet-stream", d + b"\r\n--" + BOUNDARY[:5])
             for i, d in enumerate(datas)]
    raw = multipart([("d", "application/x-directory", b""), *parts])
    got = parse(chunked(raw, sizes) if use_chunked else raw, is_chunked=use_chunked)
    assert got[0] == ("d", True, b"")
    assert [(n, data) for n, _, data in got[1:]] == [
        (f"d/f/{i}", p[2]) for i, p in enumerate(parts)
    ]


def test_truncated_and_oversized_bodies_are_refused() -> None:
    raw = multipart([("a", "application/octet-stream", b"x" * 100)])
    with pytest.raises(BadRequestError, match="ended"):
        parse(raw[:-30], is_chunked=False)
    body = BodyReader(io.BufferedReader(io.BytesIO(raw)), len(raw), False, limit=50)
    with pytest.raises(BadRequestError, match="exceeds"):
        list(MultipartReader(body, f"multipart/form-data; boundary={BOUNDARY.decode()}").parts())
    with pytest.raises(BadRequestError, match="chunk"):
        parse(b"zz\r\n" + raw, is_chunked=True)


@given(st.integers(0, 2**63))
def test_varint_round_trip(n: int) -> None:
    assert decode_varint(encode_varint(n)) == (n, len(encode_varint(n)))


@settings(max_examples=50, deadline=None)
@given(names=st.lists(st.text(max_size=10), max_size=5), payload=st.binary(max_size=100),
       sizes=st.lists(st.integers(0, 2**40), max_size=5))
def test_dagpb_unixfs_round_trip(names: list[str], payload: bytes, sizes: list[int]) -> None:
    links = [
        Link(CID.of(n.encode(), RAW if i % 2 else DAG_PB), n, i * 7) for i, n in enumerate(names)
    ]
    data = encode_unixfs(UnixFSData(FILE, payload, len(payload) + sum(sizes), sizes))
    node = decode_node(encode_node(links, data))
    assert node.links == links
    u = decode_unixfs(node.data or b"")
    assert (u.type, u.data, u.filesize, u.blocksizes) == (
        FILE,
        payload,
        len(payload) + sum(sizes),
        sizes,
    )


@pytest.mark.parametrize("junk", [b"\x0a\xff", b"\x12\x05abc", b"\x08\x01\x13"])
def test_malformed_dagpb_raises_value_error(junk: bytes) -> None:
    with pytest.raises(ValueError):
        decode_node(junk)


@pytest.mark.parametrize("text", ["", "bafy", "Qm" + "1" * 44, "bafkrei!!", "zzz", "/ipfs/"])
def test_invalid_cid_strings(text: str) -> None:
    with pytest.raises(InvalidCIDError):
        CID.parse(text)
