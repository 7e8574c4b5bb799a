"""DAG-PB nodes and UnixFS data: encoding in the canonical form Kubo writes, and strict decoding.

DAG-PB (spec: ipld/specs dag-pb): ``PBNode { repeated PBLink Links = 2; optional bytes Data = 1; }``
serialised links first, then data; ``PBLink { bytes Hash = 1; string Name = 2; uint64 Tsize = 3;
}``.
UnixFS (spec: ipfs/specs unixfs): ``Data { Type = 1; Data = 2; filesize = 3; repeated blocksizes =
4;
hashType = 5; fanout = 6; mode = 7; mtime = 8 }`` with Type Raw=0, Directory=1, File=2, Metadata=3,
Symlink=4, HAMTShard=5.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from store.cid import CID, decode_varint, encode_varint

RAW_T, DIRECTORY, FILE, METADATA, SYMLINK, HAMT_SHARD = range(6)


@dataclass(frozen=True)
class Link:
    """A named link to a child block with the child's cumulative DAG size."""

    cid: CID
    name: str
    tsize: int


@dataclass
class UnixFSData:
    type: int
    data: bytes = b""
    filesize: int | None = None
    blocksizes: list[int] = field(default_factory=list)


@dataclass
class PBNode:
    links: list[Link]
    data: bytes | None


def _key(field_no: int, wire: int) -> bytes:
    return encode_varint(field_no << 3 | wire)


def _bytes_field(field_no: int, value: bytes) -> bytes:
    return _key(field_no, 2) + encode_varint(len(value)) + value


def encode_node(links: list[Link], data: bytes | None) -> bytes:
    out = bytearray()
    for link in links:
        body = (_bytes_field(1, bytes(link.cid)) + _bytes_field(2, link.name.encode())
                + _key(3, 0) + encode_varint(link.tsize))
        out += _bytes_field(2, body)
    if data is not None:
        out += _bytes_field(1, data)
    return bytes(out)


def encode_unixfs(u: UnixFSData) -> bytes:
    out = bytearray(_key(1, 0) + encode_varint(u.type))
    if u.data:
        out += _bytes_field(2, u.data)
    if u.filesize is not None:
        out += _key(3, 0) + encode_varint(u.filesize)
    for size in u.blocksizes:
        out += _key(4, 0) + encode_varint(size)
    return bytes(out)


DIRECTORY_DATA = encode_unixfs(UnixFSData(DIRECTORY))


def _fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """Split a protobuf message into (field, wire type, value); raises ValueError if malformed."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = decode_varint(buf, pos)
        field_no, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = decode_varint(buf, pos)
            out.append((field_no, wire, value))
        elif wire == 2:
            length, pos = decode_varint(buf, pos)
            if pos + length > len(buf):
                raise ValueError("length-delimited field runs past the end")
            out.append((field_no, wire, bytes(buf[pos:pos + length])))
            pos += length
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


def decode_node(buf: bytes) -> PBNode:
    links: list[Link] = []
    data: bytes | None = None
    for field_no, wire, value in _fields(buf):
        if field_no == 2 and wire == 2 and isinstance(value, bytes):
            h, name, tsize = None, "", 0
            for f2, w2, v2 in _fields(value):
                if f2 == 1 and w2 == 2 and isinstance(v2, bytes):
                    h = CID.decode(v2)
                elif f2 == 2 and w2 == 2 and isinstance(v2, bytes):
                    name = v2.decode("utf-8")
                elif f2 == 3 and w2 == 0 and isinstance(v2, int):
                    tsize = v2
                else:
                    raise ValueError(f"unexpected PBLink field {f2}")
            if h is None:
                raise ValueError("PBLink without Hash")
            links.append(Link(h, name, tsize))
        elif field_no == 1 and wire == 2 and isinstance(value, bytes):
            data = value
        else:
            raise ValueError(f"unexpected PBNode field {field_no}")
    return PBNode(links, data)


def decode_unixfs(buf: bytes) -> UnixFSData:
    u = UnixFSData(type=-1)
    for field_no, _wire, value in _fields(buf):
        if field_no == 1 and isinstance(value, int):
            u.type = value
        elif field_no == 2 and isinstance(value, bytes):
            u.data = value
        elif field_no == 3 and isinstance(value, int):
            u.filesize = value
        elif field_no == 4 and isinstance(value, int):
            u.blocksizes.append(value)
        elif field_no == 4 and isinstance(value, bytes):  # packed encoding
            pos = 0
            while pos < len(value):
                size, pos = decode_varint(value, pos)
                u.blocksizes.append(size)
        # hashType, fanout, mode, mtime: not needed to read file contents
    if u.type < 0:
        raise ValueError("UnixFS data without Type")
    return u
