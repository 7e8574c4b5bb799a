"""The referee game on the real stack: the real deployment (a market wired to the jury and to
``OneStepAdjudicator``), a task created with its step graph, a node that trains a segment with
a mutation at one step (the tracer's ``mutate`` hook), and the node bot that answers from its
own (re-traced) steps."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.protocol import Addresses, Protocol
from ledger.referee import Referee

PARAMS = json.loads((Path(__file__).parents[2] / "deploy" / "params.json").read_text())
#: The weight the cheater moves by one ulp before its faulty step (read first by a GEMM).
WEIGHT = "encoder.layer.1.attention.self.query.weight"


def deploy_referee(chain: Any) -> Addresses:
    """The real deployment (``deploy.deployer.deploy_all``: token, stakes, market, jury, the
    referee's three contracts, both wired, the AuditRegistry) with the deployment's default:
    tasks whose spec can be refereed are created with their step graph."""
    from deploy.deployer import DeployConfig, deploy_all

    return deploy_all(chain, DeployConfig(step_graph_by_default=True))


_ROOTS: dict[tuple[str, int], Any] = {}


def graph_for_next_task(requester: Protocol, spec: Any, teacher: Path, data: Path) -> Any:
    """The StepGraph (``prover.trace.roots.TaskRoots``) of the task the requester posts next
    (the initial state binds the task id), cached per spec and id: posted with the task
    (``createTaskWithGraph``), it makes the referee the task's adjudicator."""
    from prover.trace.roots import task_roots

    task_id = requester.task_count() + 1
    key = (spec.spec_hash().hex(), task_id)
    if key not in _ROOTS:
        _ROOTS[key] = task_roots(spec, task_id, teacher, data)
    return _ROOTS[key]


def one_ulp(trainer: Any) -> None:
    """The tracer's mutation: WEIGHT[0, 3] one ulp up (a GEMM reads it first)."""
    import torch

    p = dict(trainer.student.named_parameters())[WEIGHT]
    with torch.no_grad():
        flat = p.view(-1)
        flat[3] = torch.nextafter(flat[3], torch.tensor(float("inf")))


@dataclass
class Segment:
    """What the node committed for one segment."""

    k: int
    state_hashes: list[bytes]
    leaves: list[bytes]
    checkpoint: Path


@dataclass
class SteppedNode:
    """A node that trains each segment step by step, with ``mutate`` applied before step
    ``fault_step`` (None: honest), commits it, and answers referee games with
    :class:`node.referee.NodeReferee` from its re-traced steps (the same mutation included)."""

    protocol: Protocol
    client: Any
    workdir: Path
    cache: Path
    fault_step: int | None = None
    mutate: Callable[[Any], None] | None = None
    #: Applied to the state after step ``fault_step``, before it is hashed.
    mutate_after: Callable[[Any], None] | None = None
    segments: dict[tuple[int, int], Segment] = field(default_factory=dict)

    def inputs(self, task_id: int) -> tuple[Any, Path, Path]:
        from materials import Materials

        m = Materials(self.client, self.cache)
        (ev,) = self.protocol.market.events("TaskCreated",
                                            from_block=self.protocol.addresses.deployBlock,
                                            taskId=task_id)[-1:]
        spec = m.spec(ev["args"]["specCid"], bytes(self.protocol.task(task_id).specHash))
        return spec, m.teacher_dir(spec), m.dataset_dir(spec)

    def claim(self, task_id: int) -> None:
        stake = int(self.protocol.task(task_id).params.nodeStake)
        self.protocol.deposit(stake)
        self.protocol.claim_task(task_id)

    def commit(self, task_id: int, k: int) -> Segment:
        from prover import checkpoint, merkle
        from prover.train import Trainer

        spec, teacher, data = self.inputs(task_id)
        S = spec.segment_steps
        prev = self.segments[(task_id, k - 1)].checkpoint if k else None
        tr = Trainer(spec, task_id, teacher, data, start_checkpoint=prev)
        hashes, losses = [], []
        while tr.step_no < (k + 1) * S:
            if self.mutate is not None and tr.step_no + 1 == self.fault_step:
                self.mutate(tr)
            loss, _ = tr.step()
            if self.mutate_after is not None and tr.step_no == self.fault_step:
                self.mutate_after(tr)
            hashes.append(tr.state_hash())
            losses.append(float(loss))
        out = self.workdir / f"task{task_id}" / f"seg{k}"
        ckpt = checkpoint.save(out / "checkpoint", spec, task_id, tr.student, tr.optimizer,
                               tr.step_no, tr.rng, tr.cursor, hashes[-1])
        leaves = merkle.leaves_for(task_id, k * S, hashes)
        lf = merkle.write_leaves_file(out / "leaves.json", task_id, k,
                                      list(range(k * S + 1, (k + 1) * S + 1)), hashes, losses)
        self.protocol.commit_segment(task_id, k, merkle.trace_root(leaves), hashes[-1],
                                     self.client.put_dir(ckpt), self.client.put_file(lf),
                                     leaves=leaves)
        seg = Segment(k, hashes, leaves, ckpt)
        self.segments[(task_id, k)] = seg
        return seg

    def anchor(self, task_id: int, t: int, initial: bytes) -> tuple[bytes, list[bytes]]:
        """Our state hash of step t-1 and its proof in the trace that holds it."""
        from prover import merkle

        if t == 1:
            return initial, []
        S = len(next(iter(self.segments.values())).leaves)
        seg = self.segments[(task_id, (t - 2) // S)]
        i = (t - 2) % S
        return seg.state_hashes[i], merkle.proof(seg.leaves, i)

    def bot(self, referee: Referee | None = None, silent_after: int | None = None) -> Any:
        """The node's referee bot (``silent_after``: it stops answering after that many
        moves, a node that goes silent mid-game)."""
        from ledger.movelog import MoveLog
        from node.referee import NodeReferee
        from prover.trace.retrace import cached_retrace

        ref = referee or Referee(self.protocol)

        def view_for(did: int, g: Any) -> Any:
            spec, teacher, data = self.inputs(g.taskId)
            k = (g.step - 1) // spec.segment_steps
            start = self.segments[(g.taskId, k - 1)].checkpoint if k else None
            ours = g.step == self.fault_step
            return cached_retrace(self.workdir / "referee" / str(did), spec, g.taskId, g.step,
                                  start, teacher, data, mutate=self.mutate if ours else None,
                                  mutate_after=self.mutate_after if ours else None)

        def anchor_for(g: Any) -> tuple[bytes, list[bytes]]:
            return self.anchor(g.taskId, g.step, ref.step_graph(g.taskId).initialState)

        bot = NodeReferee(ref, MoveLog(self.workdir / "moves.sqlite"), view_for, anchor_for)
        return bot if silent_after is None else _Silent(bot, silent_after)


@dataclass
class _Silent:
    """A node bot that answers ``moves`` moves and then nothing."""

    bot: Any
    moves: int

    def play(self, dispute_id: int) -> Any:
        from ledger.movelog import Played

        if len(self.bot.answers) >= self.moves:
            return Played.WAITING
        return self.bot.play(dispute_id)


def griefer(protocol: Protocol, workdir: Path, view: Callable[[int, Any], Any],
            target_op: int) -> Any:
    """A griefing challenger's bot: it plays every move towards ``target_op`` (element 0,
    program step 0) whatever the node revealed, with valid openings from its own trace."""
    from challenger.referee import ChallengerReferee, op_arg
    from ledger.movelog import MoveLog
    from ledger.referee import GamePhase, OpeningArg
    from prover.trace.game import round_width

    class Griefer(ChallengerReferee):
        def _move(self, did: int, g: Any, v: Any, trail: Any) -> Any:
            r = self.referee
            if g.phase == GamePhase.OP_PICK:
                w = round_width(g.depthLeft)
                which = (target_op >> (g.depthLeft - w)) & ((1 << w) - 1)
                return "pick", f"op node {which}", lambda: r.pick(did, trail.split, which)
            if g.phase == GamePhase.STEP:
                op = v.ops[g.opIndex]
                opens = [OpeningArg(o.root, o.dims, tuple(o.commit_proof), o.chunk,
                                    tuple(o.chunk_proof))
                         for o in v.openings(g.opIndex, g.element, 0, trail.known)]
                return "checkStep", "step 0", \
                    lambda: r.check_step(did, 0, op_arg(op), trail.results, opens)
            return super()._move(did, g, v, trail)

    return Griefer(Referee(protocol), MoveLog(workdir / "moves.sqlite"), view)
