"""Challenger cost and audit probability.

1. Verification cost: challenger CPU seconds per audited step vs node CPU seconds per trained
   step, measured side by side in one process on the same segments (alternating). The node's
   work is ``run_segment`` (train, hash every state, save the checkpoint); the challenger's is
   what ``Auditor.audit`` computes: ``replay`` against the node's leaves plus the re-hash of the
   node's end checkpoint. IPFS fetches are not counted (cached after the first audit of a task).
2. Audit probability: a node that fakes m = ceil(f * N) of a task's N segments escapes an
   auditor that audits each segment with probability p with probability (1 - p)^m, so catching
   it with probability >= 99 % needs p >= 1 - 0.01^(1/m). The table is checked by a simulation
   against the contracts: a real anvil, the real TaskMarket, a node committing N segments (m of
   them marked fake), and T independent ``Auditor`` instances whose secret coins select segments
   from the real SegmentCommitted events.

    .venv/bin/python bench/challenger_cost.py [--segments 3] [--trials 200] [--n 64]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def cost(segments: int, preset: str) -> dict[str, float]:
    from challenger.segdata import SegmentData
    from prover import profile, segment
    from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec

    spec = preset_spec(preset, seed=1)
    profile.reexec_if_needed(spec, [sys.executable, *sys.argv])
    teacher, data = default_teacher_dir(), default_dataset_dir(spec.seq_len)
    segments = min(segments, spec.num_segments())
    rehash = SegmentData.checkpoint_state_hash
    node_cpu = chal_cpu = replay_cpu = 0.0
    steps = 0
    with tempfile.TemporaryDirectory() as tmp:
        start = None
        segment.replay(spec, 1, None, 1, teacher, data)  # warm up: imports, caches
        for k in range(segments):
            t0 = time.process_time()
            run = segment.run_segment(spec, 1, k, start, teacher, data, Path(tmp) / f"s{k}")
            t1 = time.process_time()
            r = segment.replay(spec, 1, start, (k + 1) * spec.segment_steps, teacher, data,
                               expected_leaves=run.leaves)
            t2 = time.process_time()
            got = rehash(None, spec, 1, run.checkpoint_dir)  # type: ignore[arg-type]
            t3 = time.process_time()
            if not r.matches or got != run.end_state_hash:
                raise SystemExit(f"segment {k}: replay does not reproduce the node's run")
            node_cpu += t1 - t0
            replay_cpu += t2 - t1
            chal_cpu += t3 - t1
            steps += len(run.steps)
            start = run.checkpoint_dir
    return {
        "steps": steps,
        "node_s_per_step": node_cpu / steps,
        "chal_s_per_step": chal_cpu / steps,
        "replay_s_per_step": replay_cpu / steps,
        "ratio": chal_cpu / node_cpu,
    }


def needed_p(f: float, n: int, target: float = 0.99) -> tuple[int, float]:
    m = max(1, math.ceil(f * n))
    return m, 1 - (1 - target) ** (1 / m)


def simulate(n: int, trials: int, fractions: list[float]) -> list[dict[str, float]]:
    """Per f: commit N segments on a real devnet (m fake), run T auditors at p = needed_p."""
    from challenger.auditor import Auditor
    from challenger.policy import AuditPolicy
    from deploy.anvil import start_anvil
    from deploy.deployer import DeployConfig, deploy_all
    from ledger.chain import Chain
    from ledger.protocol import Protocol
    from prover import merkle

    anvil = start_anvil()
    rows = []
    try:
        req = Protocol(
            Chain(anvil.url, anvil.accounts[0]),
            deploy_all(Chain(anvil.url, anvil.accounts[0]), DeployConfig()),
        )
        node = req.as_account(Chain(anvil.url, anvil.accounts[1]))
        req.token.transact("transfer", node.me, 100_000 * 10**18)
        node.deposit(10_000 * 10**18)
        base = Path(
            os.environ.get("XDG_RUNTIME_DIR")
            or ("/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir())
        )
        for f in fractions:
            m, p = needed_p(f, n)
            task = req.create_task(
                "bafy-sim",
                b"\x01" * 32,
                10**18,
                total_steps=n,
                segment_steps=1,
                challenge_window=10**6,
                segment_deadline=10**6,
                node_stake=10**18,
            )
            node.claim_task(task)
            fakes = set(random.Random(int(f * 1000)).sample(range(n), m))
            for k in range(n):
                tag = b"fake" if k in fakes else b"real"
                root = merkle.keccak(tag + k.to_bytes(32, "big"))
                node.commit_segment(task, k, root, root, f"ckpt-{k}", f"leaves-{k}", leaves=[root])
            start = req.chain.block_number() - n - 2
            caught = 0
            with tempfile.TemporaryDirectory(dir=base) as tmp:
                policy = AuditPolicy(probability=p, fresh_probability=p)
                for t in range(trials):
                    a = Auditor(req, None, Path(tmp) / str(t), policy, start_block=start)  # type: ignore[arg-type]
                    a.ingest()
                    picked = {
                        int(r["k"])
                        for r in a.journal.rows(
                            "SELECT k FROM audits WHERE task_id = ? AND status = 'queued'", task
                        )
                    }
                    caught += bool(picked & fakes)
                    a.journal.close()
            rows.append(
                {
                    "f": f,
                    "m": m,
                    "p": p,
                    "analytic": 1 - (1 - p) ** m,
                    "simulated": caught / trials,
                    "trials": trials,
                }
            )
    finally:
        anvil.stop()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, default=3)
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--n", type=int, default=64, help="segments per task in the probability table")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--skip-cost", action="store_true")
    ap.add_argument("--skip-sim", action="store_true")
    args = ap.parse_args()
    if not args.skip_cost:
        c = cost(args.segments, args.preset)
        print(f"verification cost ({args.preset}, {c['steps']:.0f} steps, 1 thread)")
        print(f"  node        {c['node_s_per_step'] * 1000:8.1f} ms cpu / trained step")
        print(f"  challenger  {c['chal_s_per_step'] * 1000:8.1f} ms cpu / audited step "
              f"(replay {c['replay_s_per_step'] * 1000:.1f} + end-checkpoint re-hash)")
        print(f"  ratio       {c['ratio']:8.3f}x  (target <= 1.0x)")
    if args.skip_sim:
        return
    print(f"\naudit probability for >= 99% catch over a task of N={args.n} segments")
    print("  f      faked m   p needed   analytic   simulated (trials)")
    for r in simulate(args.n, args.trials, [0.01, 0.05, 0.20]):
        print(
            f"  {r['f']:4.0%}   {r['m']:7d}   {r['p']:8.3f}   {r['analytic']:8.3f}   "
            f"{r['simulated']:8.3f} ({r['trials']})"
        )


if __name__ == "__main__":
    main()
