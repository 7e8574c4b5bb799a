"""Kubo RPC commands of the embedded store (`/api/v0/<command>`), shapes as in Kubo's RPC reference.

Each command takes a :class:`Request` and returns a :class:`Reply`: a JSON value, a stream of
newline-delimited JSON objects, or a stream of bytes. Errors are raised as StoreError subclasses
and turned into Kubo's ``{"Message", "Code", "Type": "error"}`` by the server.
"""

from __future__ import annotations

import base64
import platform
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from store.builder import MAX_CHUNK_SIZE, Params
from store.cid import CID, CODECS_BY_NAME, DAG_PB, RAW, b58encode, encode_varint
from store.errors import BadRequestError
from store.http_io import BodyReader, MultipartReader
from store.repo import AddSession, Repo

KUBO_API_VERSION = "0.32.1"  # the Kubo RPC we emulate (what `version` reports)
AGENT = "veritrain-store/0.1.0"
MAX_BLOCK_SIZE = 2 * 1024 * 1024


@dataclass
class Request:
    repo: Repo
    args: dict[str, list[str]]
    body: BodyReader
    content_type: str

    def arg(self, name: str = "arg") -> str:
        values = self.args.get(name)
        if not values:
            raise BadRequestError(f"argument {name!r} is required", reason="missing-arg")
        return values[0]

    def flag(self, name: str, default: bool) -> bool:
        value = self.args.get(name, [None])[-1]
        if value is None:
            return default
        if value.lower() in ("true", "1", ""):
            return True
        if value.lower() in ("false", "0"):
            return False
        raise BadRequestError(f"option {name!r}: {value!r} is not a boolean", reason="bad-option")

    def integer(self, name: str, default: int | None) -> int | None:
        value = self.args.get(name, [None])[-1]
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise BadRequestError(f"option {name!r}: {value!r} is not an integer",
                                  reason="bad-option") from None
        if number < 0:
            raise BadRequestError(f"option {name!r} must not be negative", reason="bad-option")
        return number


@dataclass
class Reply:
    json: Any = None
    ndjson: Iterator[dict[str, Any]] | None = None
    raw: Iterator[bytes] | None = None
    writer: Callable[[BinaryIO], None] | None = None
    data: bytes | None = None  # a small binary answer sent with Content-Length
    headers: dict[str, str] = field(default_factory=dict)


def add_params(req: Request) -> Params:
    version = req.integer("cid-version", 0)
    if version not in (0, 1):
        raise BadRequestError(f"unknown CID version {version}", reason="bad-option")
    raw_leaves = req.flag("raw-leaves", version == 1)  # Kubo: raw leaves by default for CIDv1
    if version == 0 and raw_leaves:
        version = 1  # Kubo upgrades to CIDv1 when raw leaves are asked for
    chunker = req.args.get("chunker", ["size-262144"])[-1]
    if chunker == "default":
        chunker = "size-262144"
    if not chunker.startswith("size-") or not chunker[5:].isdigit():
        raise BadRequestError(f"unsupported chunker {chunker!r}; only size-N is supported",
                              reason="bad-option")
    size = int(chunker[5:])
    if not 0 < size <= MAX_CHUNK_SIZE:
        raise BadRequestError(f"chunker size must be in 1..{MAX_CHUNK_SIZE}", reason="bad-option")
    for name in ("trickle", "nocopy", "fscache", "inline"):
        if req.flag(name, False):
            raise BadRequestError(
                f"option {name!r} is not supported by this store", reason="bad-option"
            )
    if req.args.get("hash", ["sha2-256"])[-1] != "sha2-256":
        raise BadRequestError("only the sha2-256 hash is supported", reason="bad-option")
    return Params(cid_version=version, raw_leaves=raw_leaves, chunk_size=size)


def add(req: Request) -> Reply:
    params = add_params(req)
    only_hash = req.flag("only-hash", False)
    pin = req.flag("pin", True)
    wrap = req.flag("wrap-with-directory", False)
    quieter = req.flag("quieter", False)
    reader = MultipartReader(req.body, req.content_type)
    with req.repo.gc_lock.shared():
        session = AddSession(req.repo, params, only_hash)
        try:
            for part in reader.parts():
                if part.is_directory:
                    session.add_directory(part.filename)
                    continue
                if part.content_type.startswith("multipart/"):
                    raise BadRequestError("nested multipart directories are not supported; "
                                          "send one part per file with url-encoded paths",
                                          reason="multipart")
                builder = session.file_builder()
                for chunk in part.chunks():
                    builder.feed(chunk)
                session.add_file(part.filename or None, builder.finish())
            results = session.finish(wrap=wrap, pin=pin)
        except BaseException:
            session.abort()
            raise
    if quieter:
        results = results[-1:]
    return Reply(ndjson=iter([{"Name": name, "Hash": str(node.cid), "Size": str(node.tsize)}
                              for name, node in results]),
                 headers={"X-Chunked-Output": "1"})


def cat(req: Request) -> Reply:
    entry = req.repo.resolve(req.arg())
    if entry.kind == "directory":
        raise BadRequestError("this dag node is a directory", reason="not-file")
    offset = req.integer("offset", 0) or 0
    length = req.integer("length", None)
    return Reply(raw=req.repo.read_file(entry.cid, offset, length))


class _IterReader:
    """File-like ``read(n)`` over a byte iterator (for tarfile)."""

    def __init__(self, it: Iterator[bytes]) -> None:
        self.it, self.buf = it, b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buf) < n:
            piece = next(self.it, None)
            if piece is None:
                break
            self.buf += piece
        out, self.buf = (self.buf, b"") if n < 0 else (self.buf[:n], self.buf[n:])
        return out


def get(req: Request) -> Reply:
    if req.flag("compress", False):
        raise BadRequestError("compressed output is not supported", reason="bad-option")
    path = req.arg()
    root = req.repo.resolve(path)
    # Like Kubo: the archive's top entry is named by the last path segment, or the CID itself.
    segments = [p for p in path.strip().removeprefix("/ipfs/").split("/") if p]
    top = segments[-1] if len(segments) > 1 else str(root.cid)

    def write(out: BinaryIO) -> None:
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for rel, entry in req.repo.walk(root.cid):
                info = tarfile.TarInfo(f"{top}/{rel}" if rel else top)
                if entry.kind == "directory":
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
                else:
                    info.size, info.mode = entry.size, 0o644
                    tar.addfile(info, _IterReader(req.repo.read_file(entry.cid)))

    return Reply(writer=write, headers={"Content-Type": "application/x-tar"})


def ls(req: Request) -> Reply:
    objects = []
    for path in req.args.get("arg") or [req.arg()]:
        entry = req.repo.resolve(path)
        links = []
        for link in entry.links:
            child = req.repo.entry(link.cid)
            links.append({"Name": link.name, "Hash": str(link.cid), "Target": "",
                          "Size": child.size, "Type": 1 if child.kind == "directory" else 2})
        objects.append({"Hash": path, "Links": links})
    return Reply(json={"Objects": objects})


def pin_add(req: Request) -> Reply:
    cids = [req.repo.resolve(a).cid for a in req.args.get("arg") or [req.arg()]]
    req.repo.pin(cids, recursive=req.flag("recursive", True))
    return Reply(json={"Pins": [str(c) for c in cids]})


def _root_or_path(req: Request, arg: str) -> CID:
    """A bare CID needs no block lookup; a path is resolved through the repo."""
    bare = arg.strip().removeprefix("/ipfs/")
    return CID.parse(bare) if "/" not in bare else req.repo.resolve(arg).cid


def pin_rm(req: Request) -> Reply:
    cids = [_root_or_path(req, a) for a in req.args.get("arg") or [req.arg()]]
    recursive = req.flag("recursive", True)
    for cid in cids:
        kind = req.repo.pins.get(cid)
        if kind is None or (kind == "recursive" and not recursive):
            raise BadRequestError(f"{cid} is not pinned" if kind is None else
                                  f"{cid} is pinned recursively", reason="not-pinned")
    req.repo.pins.update(remove=cids)
    return Reply(json={"Pins": [str(c) for c in cids]})


def pin_ls(req: Request) -> Reply:
    want = req.args.get("type", ["all"])[-1]
    if want not in ("all", "direct", "recursive", "indirect"):
        raise BadRequestError(f"invalid type {want!r}", reason="bad-option")
    pins = req.repo.pins.items()
    keys: dict[str, dict[str, str]] = {}
    indirect: set[str] = set()
    if want in ("all", "indirect"):
        for text, kind in pins.items():
            if kind == "recursive":
                root, sub = CID.parse(text), set[str]()
                req.repo.reachable(root, sub)
                sub.discard(root.block_key())
                indirect |= sub
    for text, kind in pins.items():
        if want in ("all", kind):
            keys[text] = {"Type": kind}
    args = req.args.get("arg")
    if args:
        out = {}
        for a in args:
            cid = _root_or_path(req, a)
            if str(cid) in keys:
                out[str(cid)] = keys[str(cid)]
            elif want in ("all", "indirect") and cid.block_key() in indirect:
                out[str(cid)] = {"Type": "indirect"}
            else:
                raise BadRequestError(f"path '{a}' is not pinned", reason="not-pinned")
        keys = out
    elif want in ("all", "indirect"):
        pinned = {CID.parse(t).block_key() for t in pins}
        for key in sorted(indirect - pinned):
            cid = CID(1, RAW, base64.b32decode(key + "=" * (-len(key) % 8)))
            keys.setdefault(str(cid), {"Type": "indirect"})
    return Reply(json={"Keys": keys})


def block_get(req: Request) -> Reply:
    return Reply(data=req.repo.blocks.get(CID.parse(req.arg())),
                 headers={"Content-Type": "application/octet-stream"})


def block_stat(req: Request) -> Reply:
    cid = CID.parse(req.arg())
    return Reply(json={"Key": str(cid), "Size": req.repo.blocks.size(cid)})


def block_put(req: Request) -> Reply:
    codec_name = req.args.get("cid-codec", [""])[-1]
    fmt = req.args.get("format", [""])[-1]
    version = 1
    if not codec_name:
        codec_name = {"v0": "dag-pb", "": "raw"}.get(fmt, fmt)
        version = 0 if fmt == "v0" else 1
    if codec_name not in CODECS_BY_NAME:
        raise BadRequestError(
            f"unsupported codec {codec_name!r} (raw, dag-pb)", reason="bad-option"
        )
    if req.args.get("mhtype", ["sha2-256"])[-1] != "sha2-256":
        raise BadRequestError("only the sha2-256 hash is supported", reason="bad-option")
    out = []
    for part in MultipartReader(req.body, req.content_type).parts():
        data = bytearray()
        for chunk in part.chunks():
            data += chunk
            if len(data) > MAX_BLOCK_SIZE:
                raise BadRequestError(f"block is over {MAX_BLOCK_SIZE} bytes", reason="too-large")
        codec = CODECS_BY_NAME[codec_name]
        cid = CID.of(bytes(data), codec, version if codec == DAG_PB else 1)
        with req.repo.gc_lock.shared():
            req.repo.blocks.put(cid, bytes(data))
            req.repo.blocks.sync()
            if req.flag("pin", False):
                req.repo.pins.update(add={cid: "recursive"})
        out.append({"Key": str(cid), "Size": len(data)})
    if not out:
        raise BadRequestError("no block data in the request", reason="missing-arg")
    return Reply(ndjson=iter(out))


def repo_gc(req: Request) -> Reply:
    removed = req.repo.gc()
    items = []
    for key in removed:
        mh = base64.b32decode(key + "=" * (-len(key) % 8))
        items.append({"Key": {"/": str(CID(1, RAW, mh))}})
    return Reply(ndjson=iter(items))


def version(req: Request) -> Reply:
    return Reply(json={"Version": KUBO_API_VERSION, "Commit": "", "Repo": "16",
                       "System": f"{platform.machine()}/{platform.system().lower()}",
                       "Golang": "", "Agent": AGENT})


def ident(req: Request) -> Reply:
    # No libp2p here: the peer ID is the identity multihash of an Ed25519-typed public key made of
    # the repo's random identity bytes, so it has the right shape but signs nothing.
    key = bytes((0x08, 0x01, 0x12, 0x20)) + req.repo.identity()
    peer = b58encode(bytes((0x00,)) + encode_varint(len(key)) + key)
    return Reply(json={"ID": peer, "PublicKey": base64.b64encode(key).decode(), "Addresses": [],
                       "AgentVersion": AGENT, "ProtocolVersion": "ipfs/0.1.0", "Protocols": []})


COMMANDS: dict[str, Callable[[Request], Reply]] = {
    "add": add, "cat": cat, "get": get, "ls": ls,
    "pin/add": pin_add, "pin/rm": pin_rm, "pin/ls": pin_ls,
    "block/get": block_get, "block/put": block_put, "block/stat": block_stat,
    "repo/gc": repo_gc, "version": version, "id": ident,
}
