"""What the demo shows: a narrator over contract events, balances, gas, the final tables, the
plot."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

E18 = 10**18
OUTCOMES = {0: "none", 1: "node right", 2: "NODE WRONG", 3: "void (bond back, segment reopened)"}


def veri(wei: int) -> str:
    return f"{wei / E18:,.2f}"


def short(h: Any, n: int = 10) -> str:
    s = h if isinstance(h, str) else "0x" + bytes(h).hex()
    return s[:n] + "…"


@dataclass
class Story:
    """Facts collected from events while the demo runs (for the table and the plot)."""

    commits: list[dict[str, Any]] = field(default_factory=list)
    disputes: dict[int, dict[str, Any]] = field(default_factory=dict)
    reopened: list[dict[str, Any]] = field(default_factory=list)
    rewards: list[dict[str, Any]] = field(default_factory=list)
    slashed: list[dict[str, Any]] = field(default_factory=list)


class Narrator:
    """Turns new contract events into one readable line each (names instead of addresses)."""

    EVENTS = (("market", "TaskCreated"), ("market", "TaskClaimed"), ("market", "SegmentCommitted"),
              ("referee", "DisputeOpened"), ("referee", "TracePosted"), ("referee", "Split"),
              ("referee", "Picked"), ("referee", "ShapeRevealed"), ("referee", "ChunkRevealed"),
              ("referee", "ElementNamed"), ("referee", "ProgramPosted"),
              ("referee", "StepChecked"), ("referee", "FinalStateMismatch"),
              ("referee", "MoveTimedOut"), ("referee", "DisputeResolved"),
              ("market", "NodeSlashed"), ("stake", "Jailed"), ("market", "TaskReopened"),
              ("market", "RewardClaimed"), ("referee", "PayoutClaimed"))

    def __init__(self, protocol: Any, names: dict[str, str], console: Any,
                 start_block: int) -> None:
        from ledger.watch import EventWatcher

        self.p, self.console, self.story = protocol, console, Story()
        self.names = {a.lower(): n for a, n in names.items()}
        pairs = [(getattr(protocol, c), e) for c, e in self.EVENTS]
        self.watcher = EventWatcher(protocol.chain, pairs, start_block=start_block)

    def who(self, addr: str) -> str:
        return self.names.get(str(addr).lower(), short(str(addr)))

    def poll(self) -> list[Any]:
        evs = self.watcher.poll()
        for ev in evs:
            line = self.line(ev["event"], ev["args"], int(ev["blockNumber"]))
            if line:
                self.console.print(f"[dim]block {ev['blockNumber']:>4}[/]  {line}")
        return evs

    def line(self, name: str, a: Any, block: int) -> str | None:
        s = self.story
        if name == "TaskCreated":
            p = a["params"]
            return (f"[bold]{self.who(a['requester'])}[/] posted task {a['taskId']}: reward "
                    f"{veri(a['reward'])} VERI, {p['totalSteps']} steps in segments of "
                    f"{p['segmentSteps']}, spec {short(a['specCid'], 14)}")
        if name == "TaskClaimed":
            return (f"[bold]{self.who(a['node'])}[/] claimed task {a['taskId']} from segment "
                    f"{a['nextSegment']} (locks {veri(a['stake'])} VERI of stake)")
        if name == "SegmentCommitted":
            s.commits.append({"task": int(a["taskId"]), "k": int(a["k"]),
                              "node": self.who(a["node"]),
                              "block": block})
            return (f"[bold]{self.who(a['node'])}[/] committed task "
                    f"{a['taskId']} segment {a['k']}: traceRoot {short(a['traceRoot'])} checkpoint "
                    f"{short(a['checkpointCid'], 14)}")
        if name == "DisputeOpened":
            s.disputes[int(a["disputeId"])] = {"id": int(a["disputeId"]), "task": int(a["taskId"]),
                                               "k": int(a["k"]), "step": int(a["step"]),
                                               "node": self.who(a["node"])}
            return (f"[bold red]{self.who(a['challenger'])} disputes[/] "
                    f"{self.who(a['node'])}'s leaf at step {a['step']} (task {a['taskId']} segment "
                    f"{a['k']}); bond {veri(a['bond'])} VERI; the referee game starts")
        if name == "DisputeResolved":
            d = s.disputes.get(int(a["disputeId"]), {})
            d.update(outcome=OUTCOMES.get(int(a["outcome"]), str(a["outcome"])),
                     slashed=int(a["slashed"]))
            return (f"[bold]dispute {a['disputeId']} resolved: "
                    f"{OUTCOMES.get(int(a['outcome']))}[/], {veri(a['slashed'])} VERI of the slash "
                    "to the challenger")
        game = game_line(name, a)
        if game is not None:
            return game
        if name == "NodeSlashed":
            s.slashed.append({"task": int(a["taskId"]), "node": self.who(a["node"]),
                              "amount": int(a["amount"])})
            return (f"[bold red]{self.who(a['node'])} slashed[/] {veri(a['amount'])} VERI on "
                    f"task {a['taskId']}")
        if name == "Jailed":
            return f"[bold red]{self.who(a['account'])} jailed[/] until block {a['untilBlock']}"
        if name == "TaskReopened":
            s.reopened.append({"task": int(a["taskId"]), "from": int(a["fromSegment"]),
                               "block": block})
            return (f"task {a['taskId']} [bold]reopened[/] from segment {a['fromSegment']} "
                    f"(epoch {a['epoch']})")
        if name == "RewardClaimed":
            s.rewards.append({"task": int(a["taskId"]), "node": self.who(a["node"]),
                              "reward": int(a["reward"])})
            return (f"[bold green]{self.who(a['node'])} paid[/] {veri(a['reward'])} VERI for task "
                    f"{a['taskId']} (every segment final)")
        if name == "PayoutClaimed":
            return (f"{self.who(a['account'])} collected {veri(a['amount'])} VERI from the "
                    "adjudicator")
        return None


def game_line(name: str, a: Any) -> str | None:
    """One line per move of the referee game (docs/referee.md "The game")."""
    g = f"[dim]game {a.get('disputeId', '')}:[/]"
    if name == "TracePosted":
        return (f"{g} the node commits to its trace of the step: opRoot {short(a['opRoot'])}, "
                f"{len(a['afterLeaves']) - 1} state tensors after it")
    if name == "Split":
        return f"{g} the node reveals {len(a['nodes'])} tree nodes below the one in dispute"
    if name == "Picked":
        return (f"{g} the challenger picks node {a['which']}, the first that differs from its "
                f"replay ({a['depthLeft']} levels left)")
    if name == "ShapeRevealed":
        return (f"{g} the game has narrowed to op {a['opIndex']}; the node opens its output, "
                f"shape {'x'.join(str(d) for d in a['dims'])}")
    if name == "ChunkRevealed":
        return f"{g} the node reveals chunk {a['chunkIndex']} of that output (256 floats)"
    if name == "ElementNamed":
        return (f"{g} the challenger names element {a['element']} (the node says "
                f"0x{int(a['bits']):08x}); its program has {a['steps']} scalar steps")
    if name == "ProgramPosted":
        return f"{g} the node posts every step's result of that program"
    if name == "StepChecked":
        same = int(a["computed"]) == int(a["claimed"])
        return (f"{g} [bold]the contract recomputes step {a['s']} with Float32[/]: "
                f"0x{int(a['computed']):08x}; the node said 0x{int(a['claimed']):08x}"
                f" ({'the same' if same else '[red]different[/]'})")
    if name == "FinalStateMismatch":
        return (f"{g} the state after the step holds another tensor at slot {a['slot']} than "
                "its ops computed")
    if name == "MoveTimedOut":
        return f"{g} {'the node' if a['nodeLost'] else 'the challenger'} missed its deadline"
    return None


def balances(p: Any, names: dict[str, str]) -> dict[str, tuple[int, int]]:
    """(wallet VERI, staked VERI) per named account."""
    return {n: (p.balance(a), int(p.stake_info(a).staked)) for a, n in names.items()}


def gas_by_sender(chain: Any, names: dict[str, str],
                  start: int, end: int) -> dict[str, tuple[int, int]]:
    """(transactions, gas used) per named sender in blocks start..end."""
    out: dict[str, tuple[int, int]] = {}
    low = {a.lower(): n for a, n in names.items()}
    for b in range(start, end + 1):
        block = chain.w3.eth.get_block(b, full_transactions=True)
        for tx in block["transactions"]:
            who = low.get(str(tx["from"]).lower())
            if who is None:
                continue
            used = int(chain.w3.eth.get_transaction_receipt(tx["hash"])["gasUsed"])
            n, g = out.get(who, (0, 0))
            out[who] = (n + 1, g + used)
    return out


def tables(console: Any, before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]],
           gas: dict[str, tuple[int, int]], story: Story) -> None:
    from rich.table import Table

    t = Table(title="Accounts: VERI held (wallet + stake) before and after, gas spent",
              title_justify="left")
    for col in ("account", "before", "after", "of which staked", "change", "txs", "gas used"):
        t.add_column(col, justify="left" if col == "account" else "right", no_wrap=True)
    for name in before:
        (w0, s0), (w1, s1) = before[name], after[name]
        delta = (w1 + s1) - (w0 + s0)
        color = "green" if delta > 0 else ("red" if delta < 0 else "dim")
        n, g = gas.get(name, (0, 0))
        t.add_row(name, veri(w0 + s0), veri(w1 + s1), veri(s1), f"[{color}]{delta / E18:+,.2f}[/]",
                  str(n), f"{g:,}")
    console.print(t)
    d = Table(title="Disputes (settled by the referee game)", title_justify="left")
    for col in ("id", "task", "segment", "step", "node", "where the referee found the fault",
                "outcome", "to challenger"):
        d.add_column(col, no_wrap=col != "where the referee found the fault")
    for x in story.disputes.values():
        d.add_row(str(x["id"]), str(x["task"]), str(x["k"]), str(x["step"]), x["node"],
                  x.get("where", ""), x.get("outcome", "open"), veri(x.get("slashed", 0)))
    console.print(d)


def embedding_table(console: Any, r0: Any, r1: Any, p_step: int) -> None:
    """Untrained (``r0``) vs distilled (``r1``) student embeddings on held-out sentence pairs
    (consumer.evaluate.compare), and one nearest-neighbour example."""
    from rich.table import Table

    from consumer.evaluate import PAIRS

    table = Table(title="Does the pulled student work? (6 held-out sentence pairs)",
                  title_justify="left")
    table.add_column("")
    table.add_column("untrained student", justify="right")
    table.add_column(f"distilled student (step {p_step})", justify="right")
    table.add_row("mean cosine(student, teacher) embedding", f"{r0.mean_cosine:.3f}",
                  f"{r1.mean_cosine:.3f}")
    table.add_row("paraphrase found as nearest neighbour", f"{r0.nn_correct}/{len(PAIRS)}",
                  f"{r1.nn_correct}/{len(PAIRS)}")
    table.add_row("nearest neighbour same as the teacher's", f"{r0.nn_agree}/{len(PAIRS)}",
                  f"{r1.nn_agree}/{len(PAIRS)}")
    console.print(table)
    q = 1
    console.print(f"  nearest-neighbour example: [italic]\"{PAIRS[q][0]}\"[/]\n"
                  f"    distilled student picks: \"{PAIRS[r1.nn_student[q]][1]}\"\n"
                  f"    teacher picks:           \"{PAIRS[r1.nn_teacher[q]][1]}\"")


def quality_table(console: Any, quality: dict[str, dict[str, Any]], p_step: int) -> None:
    """Teacher / untrained / distilled scores on the Lee benchmark (consumer.quality)."""
    from rich.table import Table

    t = Table(title="Quality: Lee et al. benchmark (50 held-out news documents, 1,225 human-rated "
                    "pairs; mean pooling, cosine)", title_justify="left")
    t.add_column("")
    cols = (("teacher", "teacher"), ("untrained", "untrained student"),
            ("distilled", f"distilled student (step {p_step})"))
    for _, label in cols:
        t.add_column(label, justify="right")
    rows = (("parameters", "params", "{:,}"), ("Pearson with human ratings", "pearson", "{:.3f}"),
            ("Spearman with human ratings", "spearman", "{:.3f}"),
            ("held-out KD loss", "heldout_kd_loss", "{:.4f}"),
            ("cosine to the teacher (held-out docs)", "heldout_teacher_cosine", "{:.3f}"))
    for label, key, fmt in rows:
        t.add_row(label, *(fmt.format(quality[name][key]) for name, _ in cols))
    console.print(t)


def plot(path: Path, losses: dict[tuple[str, int], dict[int, float]], story: Story,
         segment_steps: int, title: str) -> Path:
    """Loss per step of every (node, task) run, commits as ticks, the caught cheat marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"node-honest": "tab:blue", "node-cheater": "tab:orange"}
    tasks = sorted({t for _, t in losses})
    fig, axes = plt.subplots(len(tasks), 1, figsize=(9, 3.2 * len(tasks)), sharex=True,
                             squeeze=False)
    for ax, task in zip(axes[:, 0], tasks, strict=True):
        for (actor, t), pts in sorted(losses.items(), key=lambda kv: kv[0][0] != "node-cheater"):
            if t != task or not pts:
                continue
            steps = sorted(pts)
            cheater = actor == "node-cheater"
            ax.plot(steps, [pts[s] for s in steps], "--o" if cheater else "-o",
                    ms=3 if cheater else 2.5,
                    lw=2.2 if cheater else 1.4, color=colors.get(actor, "gray"), label=actor,
                    alpha=0.8 if cheater else 1.0)
        for c in story.commits:
            if c["task"] == task:
                x = (c["k"] + 1) * segment_steps
                ax.axvline(x, color=colors.get(c["node"], "gray"), ls=":", lw=0.9, alpha=0.7)
        for r in story.reopened:
            if r["task"] == task:
                ax.axvspan(0, r["from"] * segment_steps, color="tab:green", alpha=0.08,
                           label="final before the cheat (kept)")
                ax.axvspan(r["from"] * segment_steps, (max(c["k"] for c in story.commits
                                                        if c["task"] == task) + 1) * segment_steps,
                           color="tab:red", alpha=0.05, label="discarded, redone by node-honest")
        for d in story.disputes.values():
            if d["task"] != task:
                continue
            pts = losses.get((d["node"], task), {})
            y = pts.get(d["step"], min(pts.values()) if pts else 0.0)
            ax.plot([d["step"]], [y], "X", color="red", ms=13, zorder=5)
            ax.annotate(f"cheat caught at step {d['step']}\n(dispute {d['id']}: "
                        f"{d.get('outcome', 'open')})",
                        (d["step"], y), xytext=(12, 18), textcoords="offset points", color="red",
                        fontsize=8,
                        arrowprops={"arrowstyle": "-", "color": "red", "lw": 0.8})
        ax.set_ylabel("KD loss")
        ax.set_title(f"task {task}  (dotted: committed segment ends)", fontsize=9, loc="left")
        ax.legend(fontsize=8, loc="upper right")
        ax.grid(alpha=0.25)
    axes[-1, 0].set_xlabel("optimizer step")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


class AuditEcho:
    """A logging handler that tells the console about the auditor's clean replays (no event for
    those)."""

    def __init__(self, console: Any) -> None:
        import logging

        class _H(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                args = record.args if isinstance(record.args, tuple) else ()
                if (record.name != "challenger.auditor" or len(args) != 3
                        or not isinstance(args[0], dict)):
                    return
                where: dict[str, Any] = args[0]
                decision, reason = args[1], args[2]
                if decision in ("no dispute", "expired") and "task_id" in where:
                    console.print(f"[dim]{'':10}[/]  challenger replayed task "
                                  f"{where['task_id']} segment {where['k']}: {decision} ({reason})")

        self.handler = _H(level=logging.INFO)

    def __enter__(self) -> AuditEcho:
        import logging

        logging.getLogger("challenger.auditor").addHandler(self.handler)
        return self

    def __exit__(self, *exc: object) -> None:
        import logging

        logging.getLogger("challenger.auditor").removeHandler(self.handler)
