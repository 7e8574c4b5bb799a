"""Explorer speed: page render time over a big index, and indexer ingest from anvil.

1. Render: an index filled with ``--tasks`` tasks of ``--segments`` segments each (default 1,000 x
   64 = 64,000 segments; losses for every step, a dispute on every 50th task), built by folding
   synthetic events through the indexer's own ``explorer.fold.apply``. Every page and API route
   is requested ``--renders`` times over HTTP from the real app under uvicorn; the time is taken
   inside the app (a middleware around the route: server side, no client or socket). Target:
   p95 <= 200 ms for every route.
2. Ingest: a fresh anvil with the real contracts; ``--ingest-tasks`` tasks created, claimed and
   committed segment by segment (``--ingest-segments`` each) with unsigned dev-account
   transactions (queued with automine off, then mined into full blocks); then a fresh
   ``Indexer.sync()`` from the deploy block is timed: eth_getLogs, decoding, the fold into SQLite
   and the commit. IPFS metadata is not part of it. Target: >= 2,000 events/s.

    .venv/bin/python bench/explorer_bench.py [--tasks 1000] [--segments 64] [--renders 20]
                                             [--ingest-tasks 100] [--ingest-segments 16]

The load average is printed with the results; figures taken above a load of 1 are labelled as
measured under load and are not quiet-machine figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

E18 = 10**18
SEG_STEPS = 8


def _addr(i: int) -> str:
    from web3 import Web3

    return Web3.to_checksum_address(f"0x{i:040x}")


def _h(*parts: int) -> str:
    return "0x" + "".join(f"{p:016x}" for p in parts).ljust(64, "0")[:64]


def fill(db_path: Path, tasks: int, segments: int, seed: int = 0) -> dict[str, Any]:
    """A synthetic but rule-abiding history folded into a new index; returns what it holds."""
    from explorer import db
    from explorer.fold import Ev, apply

    rng = random.Random(seed)
    conn = db.connect(db_path)
    db.bind_to_chain(conn, db_path, 31337, _addr(3))
    db.set_meta(conn, "addresses", json.dumps({"taskMarket": _addr(3), "chainId": 31337}))
    block, n_events, disputes = 1, 0, 0
    nodes = [_addr(1000 + i) for i in range(40)]
    rows: list[tuple[Any, ...]] = []

    def ev(name: str, **args: Any) -> None:
        nonlocal n_events
        e = Ev(block, n_events, _h(block, n_events), "bench", name, args)
        rows.append((e.block, e.log_index, e.tx, e.contract, e.name, json.dumps(args)))
        apply(conn, e)
        n_events += 1

    with conn:
        for node in nodes:
            ev("StakeDeposited", account=node, amount=10**6 * E18)
        for t in range(1, tasks + 1):
            node = nodes[t % len(nodes)]
            ev(
                "TaskCreated",
                taskId=t,
                requester=_addr(7),
                specCid=f"bafyspec{t}",
                specHash=_h(t),
                reward=1000 * E18,
                params={
                    "totalSteps": segments * SEG_STEPS,
                    "segmentSteps": SEG_STEPS,
                    "challengeWindow": 60,
                    "segmentDeadline": 2000,
                    "nodeStake": 500 * E18,
                },
            )
            ev("StakeLocked", account=node, by=_addr(3), amount=500 * E18)
            ev(
                "TaskClaimed",
                taskId=t,
                node=node,
                stake=500 * E18,
                nextSegment=0,
                dueBlock=block + 2000,
            )
            loss = 4.0
            for k in range(segments):
                block += 1
                cid = f"bafyleaves{t}-{k}"
                ev(
                    "SegmentCommitted",
                    taskId=t,
                    k=k,
                    traceRoot=_h(t, k, 1),
                    endStateHash=_h(t, k, 2),
                    checkpointCid=f"bafyckpt{t}-{k}",
                    leavesCid=cid,
                    node=node,
                )
                steps = range(k * SEG_STEPS + 1, (k + 1) * SEG_STEPS + 1)
                losses = []
                for s in steps:
                    loss *= 0.995 + 0.004 * rng.random()
                    losses.append((cid, s, loss))
                conn.execute("INSERT INTO leaves VALUES (?, 'ok', NULL)", (cid,))
                conn.executemany("INSERT INTO losses VALUES (?, ?, ?)", losses)
            if t % 50 == 0:
                disputes += 1
                ev("SegmentDisputeCount", taskId=t, k=3, openDisputes=1)
                ev(
                    "DisputeOpened",
                    disputeId=disputes,
                    taskId=t,
                    k=3,
                    step=3 * SEG_STEPS + 2,
                    nodeLeaf=_h(t, 9),
                    challenger=_addr(9),
                    node=node,
                    bond=100 * E18,
                )
                ev(
                    "JuryDrawn",
                    disputeId=disputes,
                    round=1,
                    jurors=[_addr(20), _addr(21), _addr(22)],
                    commitDeadline=block + 10,
                    revealDeadline=block + 20,
                )
                for j in (20, 21, 22):
                    ev("VoteRevealed", disputeId=disputes, juror=_addr(j), leaf=_h(t, 10))
                ev("SegmentDisputeCount", taskId=t, k=3, openDisputes=0)
                ev(
                    "DisputeResolved",
                    disputeId=disputes,
                    outcome=1,
                    majorityLeaf=_h(t, 9),
                    slashed=0,
                )
            block += 1
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows)
        db.set_meta(conn, "indexed_block", block + 100)
    conn.close()
    return {
        "tasks": tasks,
        "segments": tasks * segments,
        "events": n_events,
        "disputes": disputes,
        "losses": tasks * segments * SEG_STEPS,
        "nodes": nodes,
    }


def render(db_path: Path, info: dict[str, Any], renders: int) -> dict[str, dict[str, float]]:
    """p50/p95/max server-side milliseconds per route."""
    import requests
    import uvicorn
    from fastapi import Request

    from explorer.app import create_app
    from explorer.queries import Access

    app = create_app(db_path, Access("http://127.0.0.1:8545", "http://127.0.0.1:5001", None))
    times: dict[str, list[float]] = {}

    @app.middleware("http")
    async def timed(request: Request, call_next: Any) -> Any:
        t0 = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        key = getattr(route, "path", request.url.path)
        times.setdefault(key, []).append((time.perf_counter() - t0) * 1000)
        return response

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    rng = random.Random(1)
    n, node, pages = info["tasks"], info["nodes"][0], max(1, -(-info["tasks"] // 50))
    routes = [
        lambda: "/",
        lambda: f"/tasks?page={rng.randint(1, pages)}",
        lambda: "/tasks?status=claimed",
        lambda: f"/tasks/{rng.randint(1, n)}",
        lambda: "/nodes",
        lambda: f"/nodes/{node}",
        lambda: "/disputes",
        lambda: f"/disputes/{rng.randint(1, max(1, info['disputes']))}",
        lambda: "/api/overview",
        lambda: f"/api/tasks?page={rng.randint(1, pages)}",
        lambda: f"/api/tasks/{rng.randint(1, n)}",
        lambda: "/api/nodes",
        lambda: "/api/disputes",
    ]
    with requests.Session() as s:
        for make in routes:
            for _ in range(renders):
                r = s.get(base + make(), timeout=60)
                r.raise_for_status()
    server.should_exit = True
    thread.join(timeout=10)
    out = {}
    for key, ms in times.items():
        ms.sort()
        out[key] = {
            "n": len(ms),
            "p50": statistics.median(ms),
            "p95": ms[max(0, int(0.95 * len(ms)) - 1)],
            "max": ms[-1],
        }
    return out


def _send_all(url: str, txs: list[dict[str, Any]], batch: int = 200) -> None:
    import requests

    for i in range(0, len(txs), batch):
        body = [
            {"jsonrpc": "2.0", "id": j, "method": "eth_sendTransaction", "params": [tx]}
            for j, tx in enumerate(txs[i : i + batch])
        ]
        for reply in requests.post(url, json=body, timeout=300).json():
            if "error" in reply:
                raise RuntimeError(f"ingest set-up transaction failed: {reply['error']}")


def ingest(tasks: int, segments: int) -> dict[str, float]:
    """Events on a fresh anvil, then a timed full sync of a fresh index."""
    from deploy.anvil import start_anvil
    from deploy.deployer import deploy_all
    from explorer.indexer import Indexer
    from ledger.chain import Chain

    node = start_anvil()
    try:
        chain = Chain(node.url, node.accounts[0])
        addresses = deploy_all(chain)
        token = chain.contract("VeriToken", addresses.token)
        market = chain.contract("TaskMarket", addresses.taskMarket)
        stake = chain.contract("StakeManager", addresses.stakeManager)
        requester, worker = node.accounts[0].address, node.accounts[1].address
        token.transact("transfer", worker, 10_000 * E18)

        nonces = {a: chain.w3.eth.get_transaction_count(a, "pending") for a in (requester, worker)}

        def tx(c: Any, sender: str, fn: str, *args: Any) -> dict[str, Any]:
            data = c.web3_contract.encode_abi(fn, args=list(args))
            nonces[sender] += 1
            return {
                "from": sender,
                "to": c.address,
                "data": data,
                "gas": hex(1_000_000),
                "nonce": hex(nonces[sender] - 1),
            }

        params = (segments * SEG_STEPS, SEG_STEPS, 10, 5_000, E18)  # within MarketParams bounds
        txs = [
            tx(token, requester, "approve", market.address, tasks * E18),
            tx(token, worker, "approve", stake.address, 10_000 * E18),
            tx(stake, worker, "deposit", 10_000 * E18),
        ]
        first = int(market.call("taskCount")) + 1
        txs += [
            tx(market, requester, "createTask", f"bafyspec{t}", b"\x11" * 32, E18, params)
            for t in range(tasks)
        ]
        txs += [tx(market, worker, "claimTask", first + t) for t in range(tasks)]
        from prover import merkle

        # one fake leaf per step; commitSegment checks the leaves rebuild the root (#14)
        leaves = {
            k: [merkle.keccak(bytes([1 + k % 200, i % 256])) for i in range(SEG_STEPS)]
            for k in range(segments)
        }
        txs += [
            tx(
                market,
                worker,
                "commitSegment",
                first + t,
                k,
                merkle.trace_root(leaves[k]),
                b"\x22" * 32,
                f"bafyckpt{t}-{k}",
                f"bafyleaves{t}-{k}",
                leaves[k],
            )
            for t in range(tasks)
            for k in range(segments)
        ]
        t0 = time.perf_counter()
        node.rpc("evm_setAutomine", False)  # queue everything, then mine the pool block by block
        _send_all(node.url, txs)
        while any(chain.w3.eth.get_transaction_count(a, "latest") < n for a, n in nonces.items()):
            node.mine(1)
        node.rpc("evm_setAutomine", True)
        setup_s = time.perf_counter() - t0
        failed = sum(
            1 for t in range(tasks) if int(market.call("segmentCount", first + t)) != segments
        )
        if failed:
            raise RuntimeError(f"ingest set-up: {failed} tasks did not get all their segments")
        with tempfile.TemporaryDirectory() as tmp:
            ix = Indexer(Chain(node.url), addresses, Path(tmp) / "index.sqlite")
            t0 = time.perf_counter()
            n = ix.sync()
            took = time.perf_counter() - t0
            ix.close()
        return {
            "events": n,
            "seconds": took,
            "events_per_s": n / took,
            "blocks": chain.block_number(),
            "setup_txs": len(txs),
            "setup_s": setup_s,
        }
    finally:
        node.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--segments", type=int, default=64)
    ap.add_argument("--renders", type=int, default=20)
    ap.add_argument("--ingest-tasks", type=int, default=100)
    ap.add_argument("--ingest-segments", type=int, default=16)
    ap.add_argument("--json", type=Path, help="Also write the results here.")
    args = ap.parse_args()
    load = os.getloadavg()
    label = f"measured under load (load avg {load[0]:.2f})" if load[0] > 1 else "quiet machine"
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs: {label}"
    )
    if load[0] > 1:
        print("WARNING: load average above 1; these are not quiet-machine figures")
    results: dict[str, Any] = {"load_before": load, "label": label}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        info = fill(Path(tmp) / "bench.sqlite", args.tasks, args.segments)
        print(
            f"filled an index: {info['tasks']:,} tasks, {info['segments']:,} segments, "
            f"{info['losses']:,} losses, {info['events']:,} events, {info['disputes']} disputes "
            f"in {time.perf_counter() - t0:.1f}s"
        )
        pages = render(Path(tmp) / "bench.sqlite", info, args.renders)
    worst = max(v["p95"] for v in pages.values())
    print(f"\nserver-side render time over {args.renders} requests per route (ms):")
    print(f"{'route':32} {'p50':>8} {'p95':>8} {'max':>8}")
    for route, v in sorted(pages.items()):
        print(f"{route:32} {v['p50']:8.1f} {v['p95']:8.1f} {v['max']:8.1f}")
    print(f"worst p95 {worst:.1f} ms (target <= 200 ms): {'PASS' if worst <= 200 else 'MISS'}")
    ing = ingest(args.ingest_tasks, args.ingest_segments)
    print(
        f"\ningest: {ing['events']:,} events over {ing['blocks']:,} blocks indexed from anvil in "
        f"{ing['seconds']:.2f}s = {ing['events_per_s']:,.0f} events/s (target >= 2,000): "
        f"{'PASS' if ing['events_per_s'] >= 2000 else 'MISS'}"
    )
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f} ({label})")
    results.update(pages=pages, worst_p95_ms=worst, ingest=ing, load_after=load_after)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
