"""The explorer in a real browser (Debian's headless Chromium driven by Playwright) over a real
devnet: the session anvil with the real contracts, the embedded IPFS store, nodes that really
train (tiny preset), a cheater caught by the auditor bot and out-voted by three juror bots.

Checked: every page loads; the task page updates live when a segment is committed; the loss
curve's canvas is drawn (its pixels); the dispute's timeline and the cheater's jail show; bad
ids and parameters get 400/404 pages; the pull command the page shows works when run as shown.
Set VERITRAIN_EXPLORER_SCREENSHOT=path.png to keep the task page's screenshot (docs/img)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from explorer.server import Explorer, ExplorerConfig
from tests.support.actors import DishonestNode, Fault, HonestNode
from tests.support.bots import JURORS

#: Pixels of the loss series' stroke (#2f5fd0) that a drawn curve has at the least.
MIN_CURVE_PIXELS = 200
CURVE_PIXELS_JS = """() => {
  const c = document.querySelector('#loss canvas');
  if (!c) return -1;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (Math.abs(d[i] - 47) < 40 && Math.abs(d[i + 1] - 95) < 40 && Math.abs(d[i + 2] - 208) < 40
        && d[i + 3] > 128) n++;
  }
  return n;
}"""


def _api(url: str) -> Any:
    r = requests.get(url, timeout=10)
    r.raise_for_status()
    return r.json()


def _wait_api(url: str, condition: Callable[[Any], bool], timeout: float = 60.0) -> Any:
    """Poll the JSON at ``url`` until ``condition`` holds for it; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        j = _api(url)
        if condition(j):
            return j
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not reach the expected state in {timeout}s: {j}")
        time.sleep(0.2)


def test_explorer_pages_live_updates_curve_and_pull(
    world: Any, deployed_addresses: Any, store_handle: Any, browser: Any, tmp_path: Path
) -> None:
    jurors = [world.juror(i) for i in JURORS]
    addresses = tmp_path / "addresses.json"
    deployed_addresses.save(addresses)
    good = world.post_task(challenge_window=12)
    contested = world.post_task(challenge_window=12)
    honest = HonestNode(world.protocol(6), world.client, tmp_path / "honest", cache_dir=world.cache)
    honest.claim(good)
    honest.commit(good, 0)
    cfg = ExplorerConfig(
        rpc_url=world.anvil.url,
        ipfs_api=store_handle.url,
        addresses_file=addresses,
        db_path=tmp_path / "index.sqlite",
        port=0,
        poll_s=0.2,
        live_ms=300,
    )
    with Explorer(cfg) as ex:
        assert ex.url.startswith("http://127.0.0.1:")
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))

        # Live: the page is open when segment 1 is committed; its cell turns without a reload.
        assert page.goto(f"{ex.url}/tasks/{good}").status == 200
        assert "pending" in page.get_attribute('#segbar [data-k="1"]', "class")
        honest.commit(good, 1)
        page.wait_for_selector(
            '#segbar [data-k="1"].committed, #segbar [data-k="1"].final', timeout=30_000
        )

        # A staked auditor audits the good task within its window and attests: the pull below
        # refuses a checkpoint nobody independent audited (#14 class 4).
        auditor = world.auditor()
        registry = auditor.protocol.chain.contract(
            "AuditRegistry", auditor.protocol.addresses.auditRegistry
        )
        auditor.protocol.deposit(int(registry.call("minAuditorStake")))
        for _ in range(4):  # one audit per pass
            auditor.run_once()
            attested = [r for r in auditor.journal.decisions("audit")
                        if r["task_id"] == good and r["decision"] == "attested"]
            if len(attested) == 2:
                break
        assert len(attested) == 2, attested

        # A cheater commits a wrong leaf at step 3; the auditor disputes, the jury convicts.
        cheater = world.node(DishonestNode, fault=Fault.WRONG_LEAF_AT_STEP, step=3)
        cheater.claim(contested)
        cheater.commit(contested, 0)
        auditor.run_once()
        world.drive([auditor, *jurors], lambda: auditor.status()["disputes"]["won"] == 1)
        (dispute,) = [int(r["dispute_id"]) for r in auditor.journal.rows("SELECT * FROM disputes")]
        _wait_api(
            f"{ex.url}/api/tasks/{contested}", lambda j: j["status"] == "open" and j["epoch"] == 1
        )
        assert page.goto(f"{ex.url}/tasks/{contested}").status == 200
        assert "reopened" in page.get_attribute('#segbar [data-k="0"]', "class")
        assert page.locator(f'a[href="/disputes/jury/{dispute}"]').count() >= 1

        # The honest node takes the reopened task over and finishes it; windows pass.
        honest.claim(contested)
        for k in (0, 1):
            honest.commit(contested, k)
        world.anvil.mine(14)
        _wait_api(f"{ex.url}/api/tasks/{good}", lambda j: j["final"] == 2)
        curve = _wait_api(
            f"{ex.url}/api/tasks/{contested}",
            lambda j: (
                j["final"] == 2
                and len(j["lossCurve"]["steps"]) == 16
                and len(j["lossCurve"]["replacedSteps"]) == 8
            ),
        )["lossCurve"]
        # the cheater faked a leaf, not its training: its rolled-back losses are the honest ones
        assert curve["replacedLosses"] == curve["losses"][:8]

        # The contested task's page: curve drawn (current, rolled back, dispute marker), final.
        assert page.goto(f"{ex.url}/tasks/{contested}").status == 200
        page.wait_for_selector("#loss canvas", timeout=15_000)
        page.wait_for_function(f"({CURVE_PIXELS_JS})() > {MIN_CURVE_PIXELS}", timeout=15_000)
        assert page.locator("#segbar .seg.final").count() == 2
        detail = _api(f"{ex.url}/api/tasks/{contested}")
        assert detail["lossCurve"]["disputeSteps"] == [3]
        assert detail["spec"]["hashOk"] is True
        shot = tmp_path / "task.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000
        if os.environ.get("VERITRAIN_EXPLORER_SCREENSHOT"):
            shutil.copy(shot, os.environ["VERITRAIN_EXPLORER_SCREENSHOT"])

        # Every page loads and shows what it is about.
        cheat = cheater.protocol.me
        pages = {
            "/": "Latest events",
            "/tasks": f"#{contested}",
            "/nodes": cheat,
            f"/nodes/{cheat}": "jailed until",
            "/disputes": "node_wrong",
            f"/disputes/{dispute}": "vote-revealed",
            f"/tasks/{good}": "veritrain pull",
        }
        for path, text in pages.items():
            response = page.goto(ex.url + path)
            assert response.status == 200, path
            assert text in page.content(), path
        page.goto(f"{ex.url}/disputes")
        assert page.locator(f'a[href="/nodes/{cheat}"]').count() == 1
        timeline = page.goto(f"{ex.url}/disputes/{dispute}") and page.inner_text("#timeline")
        for kind in ("opened", "jury-drawn", "vote-committed", "resolved", "node-slashed"):
            assert kind in timeline
        assert timeline.count("vote-revealed") == 3
        assert "step 3" in page.inner_text("#fault")
        page.goto(f"{ex.url}/nodes/{cheat}")
        assert page.locator("td .bad").count() == 1  # jailed now
        schema = _api(f"{ex.url}/api/openapi.json")
        assert {"/api/tasks/{task_id}", "/api/disputes/{dispute_id}", "/api/nodes",
                "/api/disputes/{court}/{dispute_id}"} <= set(schema["paths"])
        assert errors == []

        # Bad ids and parameters: a 404/400 page, never a traceback.
        bad = {
            f"/tasks/{10**6}": 404,
            "/tasks/abc": 400,
            "/tasks?status=bogus": 400,
            "/tasks?page=0": 400,
            f"/tasks?page={10**6}": 404,
            "/nodes/0xnothex": 400,
            f"/nodes/0x{'ab' * 20}": 404,
            "/disputes/-1": 400,
            f"/disputes/{10**30}": 400,
            "/disputes/bogus/1": 400,
            "/nothing-here": 404,
        }
        for path, code in bad.items():
            response = page.goto(ex.url + path)
            assert response.status == code, path
            assert page.inner_text("h1") == str(code) and "Traceback" not in page.content(), path
        r = requests.get(f"{ex.url}/api/tasks/abc", timeout=10)
        assert r.status_code == 400 and "task_id" in r.json()["error"]

        # The pull command the good task's page shows works as shown.
        page.goto(f"{ex.url}/tasks/{good}")
        command = page.inner_text("#checkpoints pre.pull")
        assert command.startswith(f"veritrain pull --task {good} --segment 1 ")
        argv = shlex.split(command)
        argv[0] = str(Path(sys.executable).with_name("veritrain"))
        out = subprocess.run(
            argv,
            cwd=tmp_path,
            env={**os.environ, "VERITRAIN_HOME": str(tmp_path / "home")},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert out.returncode == 0, out.stderr
        pulled = tmp_path / f"task{good}-segment1"
        assert (pulled / "config.json").is_file() and "final" in out.stdout
        page.close()
