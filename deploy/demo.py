"""`veritrain demo`: the whole story on an embedded devnet, in one process, in a few minutes.

1. A devnet (anvil + IPFS store) starts in a fresh directory; the contracts are deployed.
2. A requester publishes a KD spec (MiniLM teacher, gensim's Lee news corpus) and posts two tasks.
3. Two node daemons take one task each; one of them (DEMO FEATURE: :class:`DemoCheat`) moves one
   weight by one ulp just before one step. An auditor replays every segment, finds the first
   wrong leaf and disputes it; the referee game settles it (no jury): the node's bot and the
   auditor's bot bisect the step down to one scalar operation, which the contract recomputes
   with Float32; the demo prints where the fault was found (op, element, scalar step, the node's
   bits against binary32's). The cheater is slashed and jailed and its task reopens; the honest
   node finishes its task, is paid, and takes the reopened one.
4. A consumer pulls the honest node's final student (verified) and compares its sentence
   embeddings with the teacher's on held-out sentences.
5. Tables (balances, disputes, gas) and a PNG of the loss curves with commits and the cheat.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from veritrain.errors import DeployError, leaf

E18 = 10**18


@leaf
class DemoTimeoutError(DeployError):
    """The demo's story did not finish in time."""

    #: What the story was still waiting for.
    waiting_for: str


@dataclass(frozen=True)
class DemoConfig:
    """The scenario's knobs (time in blocks; amounts in VERI base units)."""

    #: Student: "minilm-2l" (teacher-wide, layers 0 and 5 of the teacher as its start) or "tiny"
    #: (the tiny preset: 64 wide, random init; fast, for tests).
    student: str = "minilm-2l"
    #: Steps per task (a multiple of segment_steps) and per segment.
    total_steps: int = 16
    segment_steps: int = 8
    #: Absolute step after whose update the cheating node moves one weight.
    cheat_step: int = 11
    reward: int = 1_000 * E18
    node_stake: int = 500 * E18
    #: Stake each node deposits (enough for two tasks' nodeStake).
    node_deposit: int = 2_000 * E18
    #: Stake the challenger deposits so its audits are attested on chain (minAuditorStake).
    auditor_deposit: int = 100 * E18
    challenge_window: int = 60
    segment_deadline: int = 2_000
    #: The honest node takes the reopened task over and finishes it.
    takeover: bool = True
    #: Write encrypted keystores for the dev accounts (slow scrypt; the test skips them).
    keystores: bool = True
    #: Blocks mined when a round of the actors did no work (the devnet also mines one per second).
    fast_forward_blocks: int = 6
    timeout_s: float = 1_500.0
    seed: int = 0


def _reexec_under_default_profile() -> None:
    """Training needs the determinism profile's environment from process start (before torch)."""
    from prover.presets import DEFAULT_PROFILE
    from prover.profile import reexec_if_needed

    want = SimpleNamespace(profile=SimpleNamespace(name=DEFAULT_PROFILE, threads=1))
    reexec_if_needed(want)  # type: ignore[arg-type]


def _log_to_file(path: Path) -> Any:
    """The actors' structured logs go to a file; the console tells the story."""
    import logging

    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for noisy in ("urllib3", "web3", "filelock", "httpx", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler


def run_demo(out: Path | None = None, keep: bool = False, config: DemoConfig | None = None,
             console: Any = None) -> dict[str, Any]:
    """Run the story; returns the summary (also written to OUT/summary.json)."""
    _reexec_under_default_profile()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")  # first-run manifest build
    from rich.console import Console

    from deploy.devnet import Devnet

    cfg = config or DemoConfig()
    con = console or Console(highlight=False, width=None if os.isatty(1) else 110)
    out = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="veritrain-demo-"))
    out.mkdir(parents=True, exist_ok=True)
    handler = _log_to_file(out / "actors.log")
    net = Devnet(out / "devnet")
    t0 = time.monotonic()
    try:
        summary = _story(net, out, cfg, con, t0)
    finally:
        if keep:
            con.print(f"\n[bold]--keep:[/] the devnet is still running in {net.dir}; "
                      f"`veritrain devnet status --dir {net.dir}`, `veritrain devnet "
                      f"down --dir {net.dir}`")
            _keep_explorer(net, con)
        else:
            net.down(log=lambda _m: None)
            freed = _drop_bulk(out)
            if freed:
                con.print(f"[dim]removed {freed / 2**30:.1f} GiB of "
                          "intermediate checkpoints and IPFS blocks (pass --keep to keep "
                          "them and the devnet)[/]")
        import logging

        logging.getLogger().removeHandler(handler)
        handler.close()
    return summary


def _keep_explorer(net: Any, con: Any) -> None:
    """With --keep: leave the explorer running over the devnet and say where it is."""
    try:
        url = net.start_explorer()
    except (DeployError, OSError) as exc:
        con.print(f"[yellow]the explorer did not start: {exc}[/]")
        return
    con.print(f"[bold]explorer:[/] {url} (tasks, segments, disputes, loss curves; stopped by "
              f"`veritrain devnet down --dir {net.dir}`)")


def _drop_bulk(out: Path) -> int:
    """Without --keep: delete the nodes' checkpoints, the shared cache and the store's blocks (GBs);
    the pulled student, plot, summary, logs and journals stay. Returns the bytes freed."""
    bulky = [out / "actors" / "materials-cache", out / "devnet" / "store-repo",
             *(out / "actors").glob("*/tasks")]
    freed = 0
    for d in bulky:
        if d.is_dir() and not d.is_symlink():
            freed += sum(f.stat().st_size for f in d.rglob("*")
                         if f.is_file() and not f.is_symlink())
            shutil.rmtree(d, ignore_errors=True)
    return freed


def _story(net: Any, out: Path, cfg: DemoConfig, con: Any, t0: float) -> dict[str, Any]:
    from deploy.anvil import dev_accounts
    from deploy.demo_referee import deploy_config
    from deploy.devnet import ACCOUNTS
    from ledger.chain import Chain
    from ledger.protocol import Addresses, Protocol
    from store.client import Client

    con.rule("[bold]1. An embedded devnet")
    info = net.up(deploy_config(), log=lambda m: con.print(f"  {m}"), keystores=cfg.keystores)
    keys = dev_accounts(1 + max(ACCOUNTS.values()))
    # no jurors: the referee game needs none
    accounts = {name: keys[i] for name, i in ACCOUNTS.items() if not name.startswith("juror")}
    names = {str(acct.address): name for name, acct in accounts.items()}
    addresses = Addresses.load(info.addresses_file)
    viewer = Protocol(Chain(info.rpc_url), addresses)
    requester = Protocol(Chain(info.rpc_url, accounts["requester"]), addresses)
    client = Client(info.ipfs_api)
    start_block = viewer.chain.block_number()
    from deploy.demo_report import balances

    before = balances(viewer, names)

    con.rule("[bold]2. A requester posts two distillation tasks")
    spec, task_ids, teacher_dir = _post_tasks(requester, client, cfg, con)

    con.rule("[bold]3. Nodes train and commit; a challenger audits; the referee game settles "
             "the dispute")
    story, losses, extra = _run_actors(info, addresses, accounts, names, viewer, client, cfg, con,
                                       out, task_ids, start_block)

    con.rule("[bold]4. A consumer pulls the distilled student")
    pulled = _consume(viewer, client, task_ids[0], spec, teacher_dir, out, con)

    con.rule("[bold]5. Summary")
    from deploy.demo_report import gas_by_sender, plot, quality_table, tables

    after = balances(viewer, names)
    end_block = viewer.chain.block_number()
    gas = gas_by_sender(viewer.chain, names, start_block, end_block)
    tables(con, before, after, gas, story)
    quality_table(con, pulled["quality"], p_step=pulled["provenance"]["step"])
    png = plot(out / "loss.png", losses.points, story, cfg.segment_steps,
               "veritrain demo: KD of all-MiniLM-L6-v2 into a "
               f"{spec.student.config['hidden_size']}-wide student, "
               f"{cfg.total_steps} steps per task")
    elapsed = time.monotonic() - t0
    summary = {"elapsedSeconds": round(elapsed, 1), "blocks": [start_block, end_block],
               "tasks": task_ids, "disputes": list(story.disputes.values()),
               "rewards": story.rewards,
               "slashed": story.slashed, "reopened": story.reopened, **extra, **pulled,
               "balances": {n: {"before": list(map(str, before[n])),
                                "after": list(map(str, after[n]))}
                            for n in before},
               "gas": {n: {"txs": g[0], "gasUsed": g[1]} for n, g in gas.items()},
               "plot": str(png), "config": {k: (str(v) if isinstance(v, int) and v > 2**53 else v)
                                            for k, v in asdict(cfg).items()}}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    con.print(f"\nloss curve: [bold]{png}[/]   pulled student: [bold]{pulled['studentDir']}[/]   "
              f"summary: {out / 'summary.json'}")
    con.print(f"[bold green]demo finished in {elapsed:.0f}s[/]")
    return summary


def demo_spec(cfg: DemoConfig) -> Any:
    """The KD spec both tasks use (teacher all-MiniLM-L6-v2, gensim's Lee corpus, 32-token
    samples)."""
    from prover.presets import PRESETS, preset_spec

    over: dict[str, Any] = {"totalSteps": cfg.total_steps, "segmentSteps": cfg.segment_steps}
    if cfg.student == "minilm-2l":
        # As wide as the teacher and started from two of its six layers: the distilled student
        # keeps a third of the depth. Same width, so the spec's projection is the identity.
        student = {**PRESETS["tiny"]["student"], "hidden_size": 384, "num_attention_heads": 12,
                   "intermediate_size": 1536}
        over["student"] = {"config": student, "init": {"method": "teacher", "layers": [0, 5]}}
    elif cfg.student != "tiny":
        raise DeployError(f"unknown demo student {cfg.student!r}", hint="use 'minilm-2l' or 'tiny'")
    return preset_spec("tiny", seed=cfg.seed, **over)


def _post_tasks(requester: Any, client: Any,
                cfg: DemoConfig, con: Any) -> tuple[Any, list[int], Path]:
    from materials import publish
    from prover.presets import default_dataset_dir, default_teacher_dir

    teacher_dir = default_teacher_dir()
    with con.status("building the dataset manifest and the spec"):
        spec = demo_spec(cfg)
        dataset_dir = default_dataset_dir(spec.seq_len)
    s = spec.student.config
    init = spec.student.init
    start = (f"teacher layers {init.layers}" if init.method == "teacher" else "random init")
    con.print(f"  spec: student BERT {s['num_hidden_layers']} layers x "
              f"{s['hidden_size']} wide ({start}), loss {spec.loss.type}, batch {spec.batch_size} "
              f"x {spec.seq_len} tokens, {spec.total_steps} steps in segments of "
              f"{spec.segment_steps}, profile {spec.profile.name}")
    with con.status("publishing teacher (all-MiniLM-L6-v2, 87 MB) and dataset to IPFS"):
        pub = publish(client, spec, teacher_dir, dataset_dir)
    con.print(f"  on IPFS: teacher {pub.teacher_cid[:16]}…  dataset {pub.dataset_cid[:16]}…  "
              f"spec {pub.spec_cid[:16]}… (keccak {pub.spec_hash.hex()[:12]}… goes on-chain)")
    from deploy.demo_referee import create_task

    with con.status("recording the step graph of each task (two traced steps)"):
        ids = [create_task(requester, pub, cfg, teacher_dir, dataset_dir) for _ in range(2)]
    con.print(f"  tasks {ids} are created with their step graph: the referee "
              "(OneStepAdjudicator) settles their disputes, no jury")
    return pub.spec, ids, teacher_dir


def _run_actors(info: Any, addresses: Any, accounts: dict[str, Any], names: dict[str, str],
                viewer: Any, client: Any, cfg: DemoConfig, con: Any, out: Path, task_ids: list[int],
                start_block: int) -> tuple[Any, Any, dict[str, Any]]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from deploy.demo_actors import LossLog, build_cast
    from deploy.demo_referee import settled, show_verdict
    from deploy.demo_report import Narrator
    from ledger.chain import Chain
    from ledger.protocol import Protocol, TaskStatus

    for name in ("node-honest", "node-cheater"):
        Protocol(Chain(info.rpc_url, accounts[name]), addresses).deposit(cfg.node_deposit)
    Protocol(Chain(info.rpc_url, accounts["challenger"]), addresses).deposit(cfg.auditor_deposit)
    narrator = Narrator(viewer, names, con, start_block)
    narrator.poll()
    losses = LossLog()
    extra: dict[str, Any] = {}
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TimeElapsedColumn(), console=con, transient=True)
    cast = build_cast(info.rpc_url, addresses, accounts, info.ipfs_api, out / "actors", progress,
                      losses,
                      honest_tasks=None if cfg.takeover else frozenset(task_ids[:1]),
                      cheat_step=cfg.cheat_step)
    deadline = time.monotonic() + cfg.timeout_s
    refused_shown = False
    from deploy.demo_report import AuditEcho

    try:
        with progress, AuditEcho(con):
            while True:
                r0 = time.monotonic()
                for _name, step in cast.steps:
                    step()
                    narrator.poll()
                if "verdict" not in extra and settled(narrator.story):
                    extra["verdict"] = show_verdict(viewer, narrator.story, out, con)
                if not refused_shown and narrator.story.reopened:
                    refused_shown = True
                    extra["refusedPull"] = _show_refused_pull(viewer, client,
                                                              narrator.story, out, con)
                waiting = _waiting_for(viewer, cast, narrator.story, task_ids, cfg)
                if not waiting:
                    break
                if time.monotonic() > deadline:
                    raise DemoTimeoutError("the demo did not finish in "
                                           f"{cfg.timeout_s:.0f}s; still waiting for {waiting}",
                                           waiting_for=waiting,
                                           hint="the machine may be overloaded; see the "
                                           "logs under OUT/actors")
                # nobody trained or replayed: let the devnet's clock run faster
                if time.monotonic() - r0 < 2.0:
                    viewer.chain.w3.provider.make_request("anvil_mine",
                                                          [hex(cfg.fast_forward_blocks)])
    finally:
        cast.close()
    extra["cheatFired"] = cast.cheat.fired
    t2 = viewer.task(task_ids[1])
    extra["task2Status"] = TaskStatus(int(t2.status)).name
    return narrator.story, losses, extra


def _waiting_for(viewer: Any, cast: Any, story: Any, task_ids: list[int], cfg: DemoConfig) -> str:
    """What the story still needs ('' when it is complete)."""
    from ledger.protocol import TaskStatus

    if int(viewer.task(task_ids[0]).status) != TaskStatus.COMPLETED:
        return f"task {task_ids[0]} to complete"
    if not story.disputes or any("outcome" not in d for d in story.disputes.values()):
        return "the dispute to resolve"
    if cfg.takeover and int(viewer.task(task_ids[1]).status) != TaskStatus.COMPLETED:
        return f"task {task_ids[1]} to be taken over and completed"
    if not cfg.takeover and not story.reopened:
        return f"task {task_ids[1]} to reopen"
    for name in ("challenger", "node-honest"):
        if int(viewer.referee.call("owed", cast.actors[name].protocol.me)) > 0:
            return f"{name} to collect its payout"
    return ""


def _show_refused_pull(viewer: Any, client: Any, story: Any, out: Path, con: Any) -> str:
    """Right after the reopen: a consumer asks for the slashed segment and is refused."""
    from consumer.pull import pull
    from veritrain.errors import ConsumerError

    d = next(iter(story.disputes.values()))
    try:
        pull(viewer, client, d["task"], out / "refused-pull", segment=d["k"],
             allow_unfinalized=True)
    except ConsumerError as exc:
        con.print(f"  [bold]consumer[/] asks for task {d['task']} segment {d['k']}: "
                  f"[red]refused[/] — {exc}")
        return str(exc)
    return "not refused"  # pragma: no cover - would be a protocol bug, shown in the summary


def _consume(viewer: Any, client: Any, task_id: int, spec: Any, teacher_dir: Path, out: Path,
             con: Any) -> dict[str, Any]:
    from consumer.evaluate import compare
    from consumer.pull import PROJECTION_FILE, TOKENIZER_FILES, pull
    from deploy.demo_report import embedding_table
    from prover.model import build_student, load_teacher

    student = out / "student"
    res = pull(viewer, client, task_id, student, log=lambda m: con.print(f"  {m}"))
    p = res.provenance
    con.print(f"  provenance: task {p['taskId']} segment {p['segment']} (step {p['step']}), "
              f"tx {p['txHash'][:14]}…, node {p['node'][:10]}…")
    with con.status("comparing student and teacher sentence embeddings on held-out sentences"):
        initial = out / "initial-student"
        build_student(spec, load_teacher(teacher_dir)).save_pretrained(str(initial))
        for name in (*TOKENIZER_FILES, PROJECTION_FILE):
            if (student / name).is_file():
                shutil.copy2(student / name, initial / name)
        r0 = compare(initial, teacher_dir)
        r1 = compare(student, teacher_dir)
    with con.status("scoring teacher, untrained and distilled student on the Lee benchmark"):
        from consumer.quality import evaluate, load

        bench = load(teacher_dir)
        quality = {name: evaluate(d, teacher_dir, bench).to_doc() for name, d in
                   (("teacher", teacher_dir), ("untrained", initial), ("distilled", student))}
    embedding_table(con, r0, r1, int(p["step"]))
    return {"studentDir": str(student), "provenance": p, "quality": quality,
            "embedding": {"initialMeanCosine": r0.mean_cosine,
                          "distilledMeanCosine": r1.mean_cosine,
                          "initialNnCorrect": r0.nn_correct, "distilledNnCorrect": r1.nn_correct,
                          "teacherNnCorrect": sum(1 for i, j in enumerate(r1.nn_teacher)
                                                  if i == j)}}
