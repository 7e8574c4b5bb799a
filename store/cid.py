"""CIDs: unsigned varints, sha2-256 multihashes, CIDv0 (base58btc) and CIDv1 (base32 lower).

Only what the store and the verified fetch need: codecs raw (0x55) and dag-pb (0x70), hashes
sha2-256 (0x12) and identity (0x00). See the multiformats specs (CID, multihash, multibase).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from store.errors import InvalidCIDError

RAW = 0x55
DAG_PB = 0x70
SHA2_256 = 0x12
IDENTITY = 0x00
CODEC_NAMES = {RAW: "raw", DAG_PB: "dag-pb"}
CODECS_BY_NAME = {v: k for k, v in CODEC_NAMES.items()}

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


def encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(buf: bytes, pos: int = 0) -> tuple[int, int]:
    """Return (value, position after the varint); raises ValueError on truncation."""
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated or oversized varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + out


def b58decode(text: str) -> bytes:
    n = 0
    for c in text:
        if c not in _B58_INDEX:
            raise ValueError(f"invalid base58 character {c!r}")
        n = n * 58 + _B58_INDEX[c]
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\0" * pad + body


@dataclass(frozen=True)
class CID:
    """A content identifier: version, codec and multihash (code + digest)."""

    version: int
    codec: int
    multihash: bytes

    @classmethod
    def of(cls, data: bytes | memoryview, codec: int = RAW, version: int = 1) -> CID:
        """CID of ``data`` hashed with sha2-256."""
        return cls(version, codec, bytes((SHA2_256, 32)) + hashlib.sha256(data).digest())

    @classmethod
    def from_digest(cls, digest: bytes, codec: int, version: int = 1) -> CID:
        return cls(version, codec, bytes((SHA2_256, 32)) + digest)

    @classmethod
    def decode(cls, raw: bytes) -> CID:
        """Parse binary CID bytes (as found in dag-pb links)."""
        try:
            if len(raw) == 34 and raw[0] == SHA2_256 and raw[1] == 32:
                return cls(0, DAG_PB, bytes(raw))
            version, pos = decode_varint(raw)
            if version != 1:
                raise ValueError(f"unsupported CID version {version}")
            codec, pos = decode_varint(raw, pos)
            _, mh_start = pos, pos
            _code, pos = decode_varint(raw, pos)
            length, pos = decode_varint(raw, pos)
            if pos + length != len(raw):
                raise ValueError("multihash length does not match")
            return cls(1, codec, bytes(raw[mh_start:]))
        except ValueError as exc:
            raise InvalidCIDError(f"invalid binary CID: {exc}", cid=raw.hex()) from None

    @classmethod
    def parse(cls, text: str) -> CID:
        """Parse a CID string (CIDv0 ``Qm...`` or multibase ``b...`` base32 CIDv1), or /ipfs/
        path."""
        s = text.strip()
        if s.startswith("/ipfs/"):
            s = s[len("/ipfs/"):]
        s = s.split("/", 1)[0]
        try:
            if len(s) == 46 and s.startswith("Qm"):
                return cls.decode(b58decode(s))
            if s[:1] in ("b", "B"):
                body = s[1:].upper()
                body += "=" * (-len(body) % 8)
                return cls.decode(base64.b32decode(body))
            if s[:1] == "z":
                return cls.decode(b58decode(s[1:]))
            if s[:1] == "f":
                return cls.decode(bytes.fromhex(s[1:]))
        except (ValueError, base64.binascii.Error):  # type: ignore[attr-defined]
            pass
        except InvalidCIDError:
            pass
        raise InvalidCIDError(f"invalid CID {text!r}", cid=text,
                              hint="pass a CIDv1 (bafy.../bafk...) or CIDv0 (Qm...) string")

    @property
    def hash_code(self) -> int:
        return decode_varint(self.multihash)[0]

    @property
    def digest(self) -> bytes:
        _, pos = decode_varint(self.multihash)
        _, pos = decode_varint(self.multihash, pos)
        return self.multihash[pos:]

    def __bytes__(self) -> bytes:
        if self.version == 0:
            return self.multihash
        return encode_varint(1) + encode_varint(self.codec) + self.multihash

    def __str__(self) -> str:
        if self.version == 0:
            return b58encode(self.multihash)
        return "b" + base64.b32encode(bytes(self)).decode().lower().rstrip("=")

    def __repr__(self) -> str:
        return f"CID({self})"

    def matches(self, data: bytes | memoryview) -> bool:
        """Whether ``data`` hashes to this CID's multihash (sha2-256 or identity)."""
        code = self.hash_code
        if code == SHA2_256:
            return hashlib.sha256(data).digest() == self.digest
        if code == IDENTITY:
            return data == self.digest
        raise InvalidCIDError(f"CID {self} uses unsupported hash 0x{code:x}", cid=str(self),
                              hint="only sha2-256 and identity multihashes are supported")

    def block_key(self) -> str:
        """Filesystem key of the block: base32 of the multihash (same block for v0 and v1)."""
        return base64.b32encode(self.multihash).decode().rstrip("=")
