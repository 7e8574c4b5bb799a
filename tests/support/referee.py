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
from tests.support.actors import Fault

PARAMS = json.loads((Path(__file__).parents[2] / "deploy" / "params.json").read_text())
#: The weight the cheater moves by one ulp before its faulty step (read first by a GEMM).
WEIGHT = "encoder.layer.1.attention.self.query.weight"
#: Faults a node re-traces as it trained them (the others: the trace is honest).
_RETRACED = (Fault.SKIPPED_STEPS, Fault.PERTURBED_WEIGHT, Fault.DIFFERENT_LR,
             Fault.SWAPPED_BATCHES)


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


def ulp_up(name: str, element: int = 0) -> Callable[[Any], None]:
    """A mutation: element ``element`` of parameter ``name`` one ulp up."""

    def mutate(trainer: Any) -> None:
        import torch

        p = dict(trainer.student.named_parameters())[name]
        with torch.no_grad():
            flat = p.view(-1)
            flat[element] = torch.nextafter(flat[element], torch.tensor(float("inf")))

    return mutate


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
    #: Applied to the segment's end state only, after its leaves are hashed: the committed
    #: endStateHash and checkpoint are of that state while every leaf stays honest (an
    #: end-state dispute, on the segment's last step).
    end_after: Callable[[Any], None] | None = None
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
        end = hashes[-1]
        if self.end_after is not None:
            self.end_after(tr)
            end = tr.state_hash()
        out = self.workdir / f"task{task_id}" / f"seg{k}"
        ckpt = checkpoint.save(out / "checkpoint", spec, task_id, tr.student, tr.optimizer,
                               tr.step_no, tr.rng, tr.cursor, end)
        leaves = merkle.leaves_for(task_id, k * S, hashes)
        lf = merkle.write_leaves_file(out / "leaves.json", task_id, k,
                                      list(range(k * S + 1, (k + 1) * S + 1)), hashes, losses)
        self.protocol.commit_segment(task_id, k, merkle.trace_root(leaves), end,
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
            after = self.mutate_after if ours else None
            if self.end_after is not None and g.step % spec.segment_steps == 0:
                after = self.end_after  # its committed end state (end-state disputes)
            return cached_retrace(self.workdir / "referee" / str(did), spec, g.taskId, g.step,
                                  start, teacher, data, mutate=self.mutate if ours else None,
                                  mutate_after=after)

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


@dataclass
class Withholding:
    """A node bot that answers every move but those of ``phase`` (a node that cannot, or will
    not, reveal what that move opens: e.g. ``GamePhase.CHUNK``, a chunk of its state)."""

    bot: Any
    phase: Any

    def play(self, dispute_id: int) -> Any:
        from ledger.movelog import Played

        if self.bot.referee.game(dispute_id).phase == self.phase:
            return Played.WAITING
        return self.bot.play(dispute_id)


def fault_bot(node: Any, referee: Referee | None = None) -> Any:
    """The referee bot of a :class:`tests.support.actors.HonestNode` (or ``DishonestNode``): it
    re-traces a disputed step from its own checkpoint of the segment before, with its fault as
    it trained it (the fault's hooks; a state after the update changed as the fault changes it),
    and proves leaf t-1 from the leaves it committed. A fault the node cannot re-trace (a
    made-up leaf or end state: no state hashes to it) leaves it nothing to post."""
    from ledger.movelog import MoveLog
    from node.referee import NodeReferee
    from prover import merkle
    from prover.trace.retrace import cached_retrace
    from tests.support.actors import _FaultHooks

    ref = referee or Referee(node.protocol)

    def view_for(did: int, g: Any) -> Any:
        spec = node.spec(g.taskId)
        S, m = spec.segment_steps, node.materials
        k = (g.step - 1) // S
        start = node.seg_dir(g.taskId, k - 1) / "checkpoint" if k else None
        at = k * S + node.step
        kw: dict[str, Any] = {}
        if k == node.segment and g.step == at and node.fault in _RETRACED:
            fh = _FaultHooks(node.fault, at, spec, g.taskId, m.dataset_dir(spec))
            if node.fault in (Fault.DIFFERENT_LR, Fault.SWAPPED_BATCHES):
                kw["hooks"] = fh
            if node.fault is Fault.SKIPPED_STEPS:  # the state before, saved outside the trace
                kw["mutate"] = lambda tr: fh.on_before_update(at, tr.student, tr.optimizer)
            kw["mutate_after"] = lambda tr: fh.on_after_update(at, tr.student, tr.optimizer)
        return cached_retrace(node.workdir / "referee" / str(did), spec, g.taskId, g.step,
                              start, m.teacher_dir(spec), m.dataset_dir(spec), **kw)

    def anchor_for(g: Any) -> tuple[bytes, list[bytes]]:
        if g.step == 1:
            return ref.step_graph(g.taskId).initialState, []
        S = node.spec(g.taskId).segment_steps
        (c,) = [c for c in node.committed if c.task_id == g.taskId and c.k == (g.step - 2) // S]
        i = (g.step - 2) % S
        return c.result.state_hashes[i], merkle.proof(c.result.leaves, i)

    return NodeReferee(ref, MoveLog(node.workdir / "referee" / "moves.sqlite"), view_for,
                       anchor_for)


def griefer(protocol: Protocol, workdir: Path, view: Callable[[int, Any], Any],
            target_op: int) -> Any:
    """A griefing challenger's bot: it plays every move towards ``target_op`` (element 0,
    program step 0) whatever the node revealed, with valid openings from its own trace."""
    from challenger.referee import ChallengerReferee, op_arg
    from ledger.movelog import MoveLog
    from ledger.referee import GamePhase, OpeningArg
    from prover.trace.game import proof, round_width, tree

    class Griefer(ChallengerReferee):
        def _move(self, did: int, g: Any, v: Any, trail: Any) -> Any:
            r = self.referee
            if g.phase == GamePhase.OP_PICK:
                w = round_width(g.depthLeft)
                which = (target_op >> (g.depthLeft - w)) & ((1 << w) - 1)
                return "pick", f"op node {which}", lambda: r.pick(did, trail.split, which)
            if g.phase == GamePhase.ELEMENT:  # lane 0, though it agrees with ours
                op = v.ops[g.opIndex]
                gp = proof(tree([o.leaf() for o in v.ops]), g.opIndex)
                return "nameElement", "lane 0", \
                    lambda: r.name_element(did, 0, trail.chunk, op_arg(op), gp)
            if g.phase == GamePhase.STEP:
                op = v.ops[g.opIndex]
                opens = [OpeningArg(o.root, o.dims, tuple(o.commit_proof), o.chunk,
                                    tuple(o.chunk_proof))
                         for o in v.openings(g.opIndex, g.element, 0, trail.known)]
                return "checkStep", "step 0", \
                    lambda: r.check_step(did, 0, op_arg(op), trail.results, opens)
            return super()._move(did, g, v, trail)

    return Griefer(Referee(protocol), MoveLog(workdir / "moves.sqlite"), view)


@dataclass
class Moves:
    """One bot's moves in one game, as a daemon loop makes them (``run_once`` per block)."""

    bot: Any
    dispute_id: int

    def run_once(self) -> None:
        self.bot.play(self.dispute_id)


def graph_of(spec: Any, task_id: int) -> Any:
    """The StepGraph posted with task ``task_id`` by :func:`graph_for_next_task` (cached)."""
    return _ROOTS[(spec.spec_hash().hex(), task_id)]


def audit_first_segment(world: Any, node: Any, reward: int = 100 * 10**18,
                        node_stake: int = 1000 * 10**18) -> tuple[Any, Any, int, Any]:
    """A staked ``node`` (account 1) commits segment 0 of a refereed task and the auditor
    (account 2, probability 1) audits it once, opening its dispute: (auditor, book, task, the
    auditor's one dispute row). The book (requester, node, auditor) is snapped after the stake."""
    from challenger.auditor import Auditor
    from challenger.policy import AuditPolicy
    from tests.support.cast import Book

    auditor = Auditor(world.protocol(2), world.client, world.tmp / "auditor",
                      AuditPolicy(probability=1.0), cache_dir=world.cache)
    p = world.protocol(0)
    book = Book(p, {"requester": p.me, "node": node.protocol.me, "auditor": auditor.protocol.me})
    node.protocol.deposit(node_stake)
    book.snap()
    task = refereed_task(world, reward, node_stake)
    node.protocol.claim_task(task)
    node.commit(task, 0)
    auditor.run_once()
    (row,) = auditor.journal.rows("SELECT * FROM disputes")
    return auditor, book, task, row


class GameDriver:
    """Drives one bot's moves in one game, as the daemons' loops do (``world.drive`` runs it)."""

    def __init__(self, bot: Any, dispute_id: int) -> None:
        self.bot, self.did = bot, dispute_id

    def run_once(self) -> None:
        self.bot.play(self.did)


def refereed_task(world: Any, reward: int = 100 * 10**18, node_stake: int = 1000 * 10**18,
                  window: int = 200, requester: Protocol | None = None) -> int:
    """A task of the world's published v2 spec, posted by ``requester`` (account 0) with its
    step graph (``createTaskWithGraph``): the referee is its adjudicator."""
    from materials import Materials
    from tests.support.actors import Requester

    requester = requester or world.protocol(0)
    spec = world.published.spec
    m = Materials(world.client, world.cache)
    graph = graph_for_next_task(requester, spec, m.teacher_dir(spec), m.dataset_dir(spec))
    task = Requester(requester, world.client).post(world.published, reward=reward,
                                                  challenge_window=window,
                                                  node_stake=node_stake, graph=graph.as_struct())
    if not requester.is_refereed(task):
        raise AssertionError(f"task {task} was not created with the referee as adjudicator")
    return task


@dataclass
class Riding:
    """A bot's iteration as the daemons' loops run it (``challenger.loop.run_until``): a
    transient error (the RPC or the store away, a lost transaction) ends the iteration and is
    counted; the next iteration starts over from the chain and the journals."""

    bot: Any
    failures: int = 0

    def run_once(self) -> None:
        from challenger.loop import TRANSIENT

        try:
            self.bot.run_once()
        except TRANSIENT:
            self.failures += 1


def explorer_game(world: Any, dispute_id: int) -> Any:
    """The explorer's page data of referee game ``dispute_id``, indexed from the world's chain
    (the real indexer: it decodes which call emitted each event)."""
    from explorer import queries
    from explorer.fold import Court
    from explorer.indexer import Indexer
    from ledger.chain import Chain

    p = world.protocol(0)
    ix = Indexer(Chain(world.anvil.url), p.addresses, world.tmp / f"index-{dispute_id}.sqlite")
    try:
        while ix.sync():
            pass
        return queries.dispute(ix.conn, dispute_id, Court.REFEREE)
    finally:
        ix.close()


def check_node_lost_books(p: Protocol, book: Any, task: int, reward: int,
                          challenger: str = "auditor") -> None:
    """The books of a referee game the node lost, since ``book``'s snap (the task posted after
    it): the node slashed, the requester's share to the requester, the rest (with the bond
    back) to the challenger once pulled, nothing left in the referee."""
    slash = p.dispute_slash(task)
    share = slash * int(p.market_params().requesterShareBps) // 10_000
    book.check(requester={"wallet": -reward + share}, node={"staked": -slash},
               **{challenger: {"wallet": slash - share}})
    assert Referee(p).total_held() == 0


def cached_view(d: Path) -> Any:
    """The auditor's trace cache of a game (``load_view``): written in the background, so a game
    settled in the op rounds can end before the cache is complete (load_view is None until
    then); waits for it, up to 120 s."""
    import time

    from prover.trace.game import load_view

    deadline = time.monotonic() + 120
    while (view := load_view(d)) is None:
        assert time.monotonic() < deadline, f"the trace cache {d} was never completed"
        time.sleep(0.5)
    return view
