"""CIDs equal those of an independent implementation (ipfs-unixfs-importer, Kubo's JS sibling)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from store.builder import DEFAULT_CHUNK_SIZE, MAX_LINKS, Params, build_bytes, build_path
from store.cid import CID

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "tests" / "js" / "unixfs_cids.mjs"
CHUNK = DEFAULT_CHUNK_SIZE


def reference(*paths: Path, chunk_size: int = CHUNK) -> dict[str, str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is required for the CID compatibility tests (run scripts/bootstrap)")
    out = subprocess.run([node, str(SCRIPT), "--chunk-size", str(chunk_size), *map(str, paths)],
                         cwd=ROOT, check=True, capture_output=True, text=True, timeout=120).stdout
    return {e["path"]: e["cid"] for e in map(json.loads, out.splitlines())}


def ours(path: Path, chunk_size: int = CHUNK) -> dict[str, str]:
    params = Params(chunk_size=chunk_size)
    return {rel: str(node.cid) for rel, node in build_path(path, params, lambda c, b: None)}


def test_known_values() -> None:
    sink = lambda c, b: None  # noqa: E731
    assert str(build_bytes(b"", Params(), sink).cid) == \
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    assert str(build_bytes(b"hello world\n", Params(), sink).cid) == \
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
    # Kubo's defaults without --cid-version (CIDv0, UnixFS leaves)
    v0 = Params(cid_version=0, raw_leaves=False)
    assert str(build_bytes(b"hello world\n", v0, sink).cid) == \
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    assert str(build_bytes(b"", v0, sink).cid) == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"


def test_cid_string_round_trip() -> None:
    for text in ("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
                 "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"):
        assert str(CID.parse(text)) == text
        assert CID.decode(bytes(CID.parse(text))) == CID.parse(text)


def test_file_sizes_match_reference(tmp_path: Path) -> None:
    rng = random.Random(5)
    sizes = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 7, MAX_LINKS * CHUNK,
             (MAX_LINKS + 1) * CHUNK + 1]  # the last one needs a two-level tree
    files = []
    for size in sizes:
        f = tmp_path / f"f{size}"
        f.write_bytes(rng.randbytes(size))
        files.append(f)
    expected = reference(*files)
    for f in files:
        assert ours(f)[f.name] == expected[f.name], f"size {f.stat().st_size}"


def test_three_level_tree_matches_reference(tmp_path: Path) -> None:
    # 174*174+3 chunks of 1 KiB: a root over two 174-wide subtrees (three levels of parents)
    chunk = 1024
    f = tmp_path / "deep"
    f.write_bytes(os.urandom((MAX_LINKS * MAX_LINKS + 3) * chunk - 100))
    assert ours(f, chunk)["deep"] == reference(f, chunk_size=chunk)["deep"]


def test_nested_directory_matches_reference(tmp_path: Path) -> None:
    d = tmp_path / "ckpt"
    (d / "sub" / "deeper").mkdir(parents=True)
    (d / "empty-dir").mkdir()
    (d / "empty").write_bytes(b"")
    (d / "hello.txt").write_bytes(b"hello world\n")
    (d / "sub" / "model.safetensors").write_bytes(os.urandom(3 * CHUNK + 11))
    (d / "sub" / "deeper" / "é-unicode name").write_bytes(b"x" * 1000)
    (d / "Z-upper").write_bytes(b"sorting is bytewise")
    expected = reference(d)
    got = ours(d)
    # the importer does not report empty directories, but they are part of the root it built
    assert {k: v for k, v in got.items() if k != "ckpt/empty-dir"} == expected
    assert got["ckpt/empty-dir"] == "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"
    assert len(expected) == 8


def test_directory_that_kubo_would_shard_is_refused(tmp_path: Path) -> None:
    from store.builder import Node, build_directory
    from store.errors import UnsupportedDagError

    leaf = build_bytes(b"x", Params(), lambda c, b: None)
    small = {f"f{i}": leaf for i in range(100)}
    build_directory(small, Params(), lambda c, b: None)
    huge = {f"{'n' * 200}{i:06d}": Node(leaf.cid, 1, 1) for i in range(1200)}  # > 256 KiB of links
    with pytest.raises(UnsupportedDagError, match="HAMT"):
        build_directory(huge, Params(), lambda c, b: None)
