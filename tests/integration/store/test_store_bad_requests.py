"""Bad requests get Kubo-shaped errors ({"Message", "Code", "Type": "error"}); nothing escapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from store.server import ServerHandle, serve

HELLO = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    with serve(tmp_path_factory.mktemp("repo")) as handle:
        requests.post(f"{handle.url}/api/v0/add", params={"cid-version": "1"},
                      files={"file": ("hello", b"hello world\n")}, timeout=10).raise_for_status()
        yield handle


def kubo_error(resp: requests.Response, status: int, code: int, contains: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"Message", "Code", "Type"}
    assert body["Type"] == "error" and body["Code"] == code
    assert contains in body["Message"]


def post(store: ServerHandle, cmd: str, **kw: object) -> requests.Response:
    return requests.post(f"{store.url}/api/v0/{cmd}", timeout=10, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("cmd", "params", "contains"), [
    ("cat", {}, "argument 'arg' is required"),
    ("cat", {"arg": HELLO, "offset": "-3"}, "must not be negative"),
    ("cat", {"arg": HELLO, "length": "ten"}, "not an integer"),
    ("pin/ls", {"type": "sideways"}, "invalid type"),
    ("add", {"chunker": "rabin-1-2-3"}, "unsupported chunker"),
    ("add", {"chunker": "size-0"}, "chunker size"),
    ("add", {"cid-version": "7"}, "unknown CID version"),
    ("add", {"pin": "maybe"}, "not a boolean"),
    ("add", {"trickle": "true"}, "not supported"),
])
def test_malformed_requests_are_400_code_1(store: ServerHandle, cmd: str, params: dict[str, str],
                                           contains: str) -> None:
    kubo_error(post(store, cmd, params=params, files={"file": ("x", b"x")}), 400, 1, contains)


@pytest.mark.parametrize(
    ("cmd", "params", "contains"),
    [
        ("cat", {"arg": "not-a-cid"}, "invalid CID"),
        ("block/stat", {"arg": "Qm123"}, "invalid CID"),
        (
            "pin/rm",
            {"arg": "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"},
            "not pinned",
        ),
        (
            "pin/ls",
            {"arg": "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"},
            "not pinned",
        ),
    ],
)
def test_failing_commands_are_500_code_0(store: ServerHandle, cmd: str, params: dict[str, str],
                                         contains: str) -> None:
    kubo_error(post(store, cmd, params=params), 500, 0, contains)


def test_missing_block_is_a_normal_error(store: ServerHandle) -> None:
    empty_dir = "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"
    kubo_error(post(store, "block/get", params={"arg": empty_dir}), 500, 0, "not found")


def test_unknown_command_and_wrong_method(store: ServerHandle) -> None:
    kubo_error(post(store, "swarm/connect"), 404, 1, "unknown command")
    kubo_error(requests.get(f"{store.url}/api/v0/version", timeout=10), 405, 1, "POST")


@pytest.mark.parametrize("name", ["../evil", "/etc/passwd", "a/../../b", "a//b", "./x", "..%2Fup"])
def test_add_refuses_escaping_paths(store: ServerHandle, name: str) -> None:
    body = (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + name.encode()
            + b"\"\r\nContent-Type: application/octet-stream\r\n\r\nevil\r\n--B--\r\n")
    resp = post(store, "add", params={"cid-version": "1"}, data=body,
                headers={"Content-Type": "multipart/form-data; boundary=B"})
    kubo_error(resp, 400, 1, "refusing path")


def test_malformed_multipart(store: ServerHandle) -> None:
    kubo_error(
        post(
            store,
            "add",
            data=b'--B\r\nContent-Disposition: form-data; name="file"\r\n\r\nno end',
            headers={"Content-Type": "multipart/form-data; boundary=B"},
        ),
        400,
        1,
        "ended",
    )
    kubo_error(post(store, "add", data=b"plain", headers={"Content-Type": "text/plain"}),
               400, 1, "multipart")


def test_oversized_bodies(store: ServerHandle) -> None:
    big = b"x" * (2 * 1024 * 1024 + 1)
    kubo_error(post(store, "block/put", files={"file": ("b", big)}), 400, 1, "over")
    resp = post(store, "cat", params={"arg": HELLO}, data=b"y" * (4 * 1024 * 1024))
    assert resp.status_code == 413


def test_cat_directory_and_bad_path(store: ServerHandle, tmp_path: Path) -> None:
    resp = post(store, "add", params={"cid-version": "1", "wrap-with-directory": "true"},
                files={"file": ("f", b"inside")})
    root_cid = json.loads(resp.text.strip().splitlines()[-1])["Hash"]
    kubo_error(post(store, "cat", params={"arg": root_cid}), 500, 0, "directory")
    kubo_error(post(store, "cat", params={"arg": f"{root_cid}/nope"}), 500, 0, "no link named")
    assert post(store, "cat", params={"arg": f"/ipfs/{root_cid}/f"}).content == b"inside"


def test_server_binds_loopback_by_default(store: ServerHandle) -> None:
    assert store.host == "127.0.0.1"
