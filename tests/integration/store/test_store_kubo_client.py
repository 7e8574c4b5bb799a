"""ipfshttpclient (an independent Kubo client) against `veritrain store serve` in a subprocess."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import ipfshttpclient
import pytest

from store.server import SubprocessHandle, start_subprocess

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # urllib3 vs ipfshttpclient


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SubprocessHandle]:
    with start_subprocess(tmp_path_factory.mktemp("repo"), via_cli=True) as handle:
        yield handle


@pytest.fixture(scope="module")
def ipfs(served: SubprocessHandle) -> Iterator[ipfshttpclient.Client]:
    client = ipfshttpclient.Client(served.multiaddr)
    yield client
    client.close()


def test_version_and_id(ipfs: ipfshttpclient.Client) -> None:
    assert ipfs.version()["Version"]
    assert ipfs.id()["ID"].startswith("12D3KooW")


def test_add_bytes_and_cat(ipfs: ipfshttpclient.Client) -> None:
    cid = ipfs.add_bytes(b"hello world\n", opts={"cid-version": 1})
    assert cid == "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
    assert ipfs.cat(cid) == b"hello world\n"
    # Kubo's own default (no options): CIDv0 with UnixFS leaves
    assert ipfs.add_bytes(b"hello world\n") == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"


def test_add_file_cat_range_and_pin(ipfs: ipfshttpclient.Client, tmp_path: Path) -> None:
    data = os.urandom(3 * 262144 + 99)
    f = tmp_path / "weights.bin"
    f.write_bytes(data)
    res = ipfs.add(str(f), cid_version=1, raw_leaves=True, chunker="size-262144")
    cid = res["Hash"]
    assert res["Name"] == "weights.bin" and cid.startswith("bafybei")
    assert ipfs.cat(cid) == data
    assert ipfs.cat(cid, offset=262140, length=300) == data[262140:262440]
    assert ipfs.cat(cid, offset=len(data) - 5) == data[-5:]
    assert ipfs.pin.ls(cid, type="recursive")["Keys"][cid]["Type"] == "recursive"
    assert cid in ipfs.pin.rm(cid)["Pins"]
    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="not pinned"):
        ipfs.pin.ls(cid, type="recursive")
    assert cid in ipfs.pin.add(cid)["Pins"]
    assert cid in ipfs.pin.ls(type="recursive")["Keys"]


def test_add_directory_ls_and_get(ipfs: ipfshttpclient.Client, tmp_path: Path) -> None:
    d = tmp_path / "ckpt"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_bytes(b"a" * 10)
    (d / "sub" / "b.bin").write_bytes(os.urandom(300_000))
    res = ipfs.add(str(d), recursive=True, cid_version=1)
    names = [e["Name"] for e in res]
    assert names[-1] == "ckpt" and {"ckpt/a.txt", "ckpt/sub/b.bin", "ckpt/sub"} <= set(names)
    root = res[-1]["Hash"]
    listing = {lk["Name"]: lk for lk in ipfs.ls(root)["Objects"][0]["Links"]}
    assert listing["a.txt"]["Type"] == 2 and listing["a.txt"]["Size"] == 10
    assert listing["sub"]["Type"] == 1
    out = tmp_path / "out"
    ipfs.get(root, target=str(out))
    assert (out / root / "a.txt").read_bytes() == b"a" * 10
    assert (out / root / "sub" / "b.bin").read_bytes() == (d / "sub" / "b.bin").read_bytes()
    assert ipfs.cat(f"{root}/sub/b.bin") == (d / "sub" / "b.bin").read_bytes()


def test_wrap_and_only_hash(ipfs: ipfshttpclient.Client, tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_bytes(b"only hash me")
    res = ipfs.add(str(f), cid_version=1, only_hash=True, wrap_with_directory=True)
    assert [e["Name"] for e in res] == ["x.txt", ""]
    with pytest.raises(ipfshttpclient.exceptions.ErrorResponse):
        ipfs.block.stat(res[0]["Hash"])  # only-hash stores nothing


def test_block_put_get_stat(ipfs: ipfshttpclient.Client, tmp_path: Path) -> None:
    res = ipfs.block.put(io.BytesIO(b"a raw block"), opts={"cid-codec": "raw"})
    assert res["Key"].startswith("bafkrei") and res["Size"] == 11
    assert ipfs.block.get(res["Key"]) == b"a raw block"
    assert ipfs.block.stat(res["Key"])["Size"] == 11


def test_get_tar_of_file_is_named_by_cid(served: SubprocessHandle, tmp_path: Path) -> None:
    import requests

    cid = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
    resp = requests.post(f"{served.url}/api/v0/get", params={"arg": cid}, timeout=10)
    assert resp.status_code == 200
    tar_path = tmp_path / "x.tar"
    tar_path.write_bytes(resp.content)
    with tarfile.open(tar_path) as tar:
        member = tar.getmember(cid)
        assert tar.extractfile(member).read() == b"hello world\n"  # type: ignore[union-attr]
