"""The demo's referee (docs/referee.md "What the demo shows"): the deployment and task creation
that make the referee settle the demo's disputes, and the verdict the demo prints once its
dispute is settled (the report of ``veritrain referee show``, from public data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from veritrain.errors import DeployError


def deploy_config() -> Any:
    """The devnet's contracts: the deployer's defaults (both adjudicators), a referee that jails a
    losing node long enough for the story (the honest node takes its task over)."""
    from deploy.deployer import DeployConfig, RefereeConfig

    return DeployConfig(referee=RefereeConfig(jail_blocks=5_000))


def create_task(requester: Any, pub: Any, cfg: Any, teacher_dir: Path, dataset_dir: Path) -> int:
    """One task created with its step graph (``createTaskWithGraph``), so the referee settles
    its disputes. The roots bind the task id (its initial state), so they are recorded for the
    next id; the demo's requester is the only one posting."""
    from prover.trace.roots import task_roots

    expected = requester.task_count() + 1
    roots = task_roots(pub.spec, expected, teacher_dir, dataset_dir)
    task_id = int(requester.create_task(pub.spec_cid, pub.spec_hash, cfg.reward,
                                        total_steps=cfg.total_steps,
                                        segment_steps=cfg.segment_steps,
                                        challenge_window=cfg.challenge_window,
                                        segment_deadline=cfg.segment_deadline,
                                        node_stake=cfg.node_stake, graph=roots.as_struct()))
    if task_id != expected:
        raise DeployError(f"task {task_id} was created, its roots were recorded for {expected}",
                          hint="another requester posted meanwhile: run the demo again")
    return task_id


def settled(story: Any) -> bool:
    """Whether every dispute of the story is resolved (and there is one)."""
    return bool(story.disputes) and all("outcome" in d for d in story.disputes.values())


def show_verdict(viewer: Any, story: Any, out: Path, con: Any) -> dict[str, Any]:
    """Where the referee found the fault, from public data (``veritrain referee show``): the
    adjudicator's events and the deciding calldata, named with the auditor's step graph."""
    from challenger.referee_cli import game_report, load_graph
    from prover.trace.verdict import text

    d = next(iter(story.disputes.values()))
    cache = out / "actors" / "challenger" / "referee" / str(d["id"])
    graph = load_graph(cache) if (cache / "graph.json").is_file() else None
    doc = game_report(viewer, d["id"], graph, viewer.referee.address)
    con.print(f"  [bold]where the referee found the fault[/] (`veritrain referee show "
              f"{d['id']}`):")
    for line in text(doc).splitlines():
        con.print(f"    {line}", markup=False)
    chk = doc.get("check")
    if chk is not None:
        d["where"] = (f"op {doc['op']['index']} {doc['op']['kind']}, element "
                      f"{doc['element']['index']}, step {chk['s']} {chk['opcode']}: node "
                      f"{chk['claimed']} vs binary32 {chk['computed']}"
                      + (f" ({chk['ulps']} ulp)" if chk["ulps"] is not None else ""))
    else:
        d["where"] = doc["decidedBy"]
    return doc
