"""End-to-end overhead of the node daemon over pure prover training of the same steps.

Side by side in one process on one machine: (a) ``prover.run_segment`` over every segment of a
task, back to back, with local teacher/dataset directories; (b) ``NodeDaemon.run_once`` from an
open task to its last commitment on a real anvil with an embedded store: claim, training,
uploads (pinned, to a store in its own process like a real IPFS daemon) and commits included, with
the materials cache warm (the one-time teacher and
dataset fetch is timed separately). The finality wait (blocks) is not part of either.
Rounds alternate (a) and (b); the ratio of medians is printed. Target: <= 1.10x.
Run: .venv/bin/python bench/node_overhead.py [SEGMENTS] [ROUNDS] [PRESET]
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

E18 = 10**18


def main(segments: int = 8, rounds: int = 3, preset: str = "tiny") -> None:
    from prover import profile
    from prover.presets import PRESETS, default_dataset_dir, default_teacher_dir, preset_spec

    seg = PRESETS[preset]["segmentSteps"]
    spec = preset_spec(preset, totalSteps=segments * seg)
    profile.reexec_if_needed(spec, [sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]])

    from deploy.anvil import start_anvil
    from deploy.deployer import DeployConfig, deploy_all
    from ledger.chain import Chain
    from ledger.protocol import Protocol
    from materials import Materials, publish
    from node.daemon import NodeDaemon
    from node.policy import Policy
    from prover.segment import run_segment
    from store.client import Client
    from store.server import start_subprocess

    tmp = Path(tempfile.mkdtemp(prefix="node-bench-"))
    anvil = start_anvil()
    try:
        with start_subprocess(tmp / "repo") as store:  # an IPFS daemon is its own process
            client = Client(store.multiaddr)
            teacher, dataset = default_teacher_dir(), default_dataset_dir(spec.seq_len)
            pub = publish(client, spec, teacher, dataset)
            boss = Protocol(
                Chain(anvil.url, anvil.accounts[0]),
                deploy_all(Chain(anvil.url, anvil.accounts[0]), DeployConfig()),
            )
            node = Protocol(Chain(anvil.url, anvil.accounts[2]), boss.addresses)
            boss.token.transact("transfer", node.me, 100_000 * E18)
            node.deposit(50_000 * E18)
            t0 = time.perf_counter()
            cache = Materials(client, tmp / "cache")
            cache.teacher_dir(pub.spec), cache.dataset_dir(pub.spec)
            fetch = time.perf_counter() - t0
            run_segment(
                pub.spec, 0, 0, None, teacher, dataset, tmp / "warmup"
            )  # imports, first-touch costs

            pure, daemon_t = [], []
            for r in range(rounds):
                out = tmp / f"pure-{r}"
                t0 = time.perf_counter()
                start = None
                for k in range(segments):
                    res = run_segment(pub.spec, 1000 + r, k, start, teacher, dataset, out / str(k))
                    start = res.checkpoint_dir
                pure.append(time.perf_counter() - t0)
                shutil.rmtree(out)

                task_id = boss.create_task(
                    pub.spec_cid,
                    pub.spec_hash,
                    10 * E18,
                    total_steps=spec.total_steps,
                    segment_steps=seg,
                    challenge_window=10,
                    segment_deadline=1000,
                    node_stake=1000 * E18,
                )
                work = tmp / f"node-{r}"
                (work / "cache").parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(tmp / "cache", work / "cache")  # warm materials cache
                d = NodeDaemon(node, client, work, Policy(task_ids=frozenset({task_id})))
                t0 = time.perf_counter()
                while int(node.task(task_id).nextSegment) < segments:
                    d.run_once()
                daemon_t.append(time.perf_counter() - t0)
                anvil.mine(11)  # untimed: windows pass, the daemon claims the reward and is done
                while task_id not in d.rewarded:
                    d.run_once()
                d.close()
                print(f"round {r}: pure {pure[-1]:.2f}s  daemon {daemon_t[-1]:.2f}s  "
                      f"ratio {daemon_t[-1] / pure[-1]:.3f}x", flush=True)
            mp, md = statistics.median(pure), statistics.median(daemon_t)
            steps = segments * seg
            print(
                f"\n{preset} preset, {segments} segments x {seg} steps = {steps} steps, {rounds} "
                f"rounds"
            )
            print(
                f"pure prover (run_segment back to back): median {mp:.2f}s ({steps / mp:.1f} "
                f"steps/s)"
            )
            print(
                f"node daemon (claim..last commit)      : median {md:.2f}s ({steps / md:.1f} "
                f"steps/s)"
            )
            print(f"overhead ratio daemon / pure          : {md / mp:.3f}x (target <= 1.10x)")
            print(
                f"one-time teacher+dataset fetch        : {fetch:.2f}s per task (cached by CID "
                f"afterwards)"
            )
    finally:
        anvil.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        int(args[0]) if args else 8,
        int(args[1]) if len(args) > 1 else 3,
        args[2] if len(args) > 2 else "tiny",
    )
