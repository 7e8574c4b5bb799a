"""The bots play the referee's input bindings on the real stack (anvil, the real deployment with
a market wired to OneStepAdjudicator, the embedded store over HTTP, real tiny-preset training
and tracing; docs/referee.md "Input bindings"): a node that trains a step on another dataset
sample loses at the embedding lookup (a GATHER whose ids are the batch row, opened against the
dataset's sampleRoot); a node whose state after a step keeps the old step counter and data
cursor loses by ``disputeState``; an honest node beats a griefer at an embedding lookup and at
an EMBED_BWD position. Every party's books are checked to the wei."""

from __future__ import annotations

from typing import Any

import pytest

from challenger.journal import DisputeStatus
from explorer.fold import MoveKind
from ledger.protocol import Outcome
from ledger.referee import GamePhase, Referee
from prover.trace.kinds import MapLevel, OpKind, RefKind
from prover.train import NO_HOOKS, BaseStepHooks, StepHooks
from tests.support.actors import E18
from tests.support.cast import Book
from tests.support.referee import (
    GameDriver,
    SteppedNode,
    audit_first_segment,
    cached_view,
    check_node_lost_books,
    explorer_game,
    refereed_task,
)

REQUESTER, NODE, CHALLENGER = 0, 1, 2
REWARD, NODE_STAKE = 100 * E18, 1000 * E18
FAULT_STEP = 3


# ---- faults ---------------------------------------------------------------------------------
class _OtherSample(BaseStepHooks):
    """Row 0 of the batch replaced by another dataset sample (the inner hooks see the result)."""

    def __init__(self, inner: StepHooks, row: Any) -> None:
        self.inner, self.row = inner, row

    def on_batch(self, step: int, input_ids: Any) -> Any:
        swapped = input_ids.clone()
        swapped[0] = self.row
        got = self.inner.on_batch(step, swapped)
        return swapped if got is None else got

    def on_before_update(self, step: int, student: Any, optimizer: Any) -> None:
        self.inner.on_before_update(step, student, optimizer)

    def on_after_update(self, step: int, student: Any, optimizer: Any) -> None:
        self.inner.on_after_update(step, student, optimizer)


def other_sample(trainer: Any) -> None:
    """The tracer's mutation: the trainer's next step reads, as batch row 0, the dataset sample
    after the one the keccak-v2 schedule gives it (only that step)."""
    from prover import schedule

    t = trainer.step_no + 1
    ids = trainer.manifest.input_ids
    sample = schedule.batch_indices(trainer.spec, trainer.task_id, t)[0]
    row = ids[(sample + 1) % len(ids)]
    real = trainer.forward_backward

    def once(hooks: StepHooks = NO_HOOKS) -> float:
        del trainer.forward_backward  # back to the honest method for the next steps
        return float(real(_OtherSample(hooks, row)))

    trainer.forward_backward = once


def stale_scalar(trainer: Any) -> None:
    """Applied to the state after the step: the step counter (and so the data cursor) is not
    advanced in the state the node hashes; its next step puts it right (only this leaf is
    wrong, and only in its scalar leaf)."""
    trainer.step_no -= 1
    real = trainer.step

    def once(hooks: StepHooks = NO_HOOKS) -> Any:
        del trainer.step
        trainer.step_no += 1
        return real(hooks)

    trainer.step = once


# ---- set-up ---------------------------------------------------------------------------------
def _audited(world: Any, **fault: Any) -> tuple[SteppedNode, Any, Book, int, int]:
    """A staked node faulty at FAULT_STEP commits segment 0 of a refereed task; the auditor
    audits it and opens its dispute. (node, auditor, book, task, dispute id)."""
    node = SteppedNode(world.protocol(NODE), world.client, world.tmp / "node", world.cache,
                       fault_step=FAULT_STEP, **fault)
    auditor, book, task, row = audit_first_segment(world, node, REWARD, NODE_STAKE)
    assert row["step"] == FAULT_STEP, row["reason"]
    return node, auditor, book, task, int(row["dispute_id"])


def _settled_against_node(world: Any, node: SteppedNode, auditor: Any, book: Book, task: int,
                          did: int) -> None:
    """The node lost, is jailed; the auditor records the win and pulls the payout; books."""
    p = world.protocol(REQUESTER)
    referee = Referee(p)
    assert referee.outcome(did) == Outcome.NODE_WRONG
    assert p.is_jailed(node.protocol.me)
    auditor.run_once()
    (row,) = auditor.journal.rows("SELECT * FROM disputes")
    assert row["status"] == DisputeStatus.WON
    check_node_lost_books(p, book, task, REWARD)


def _reads_batch_row(op: Any) -> bool:
    """A GATHER level of the op's map takes its ids from Batch(0) (the embedding lookup)."""
    return any(lv.kind is MapLevel.GATHER
               and op.slots[lv.ids_slot].ref.kind is RefKind.BATCH
               and op.slots[lv.ids_slot].ref.index == 0
               for s in op.slots for lv in s.levels)


# ---- games ----------------------------------------------------------------------------------
def test_other_sample_loses_at_the_embedding_lookup(world: Any) -> None:
    """The node trains step 3 with batch row 0 taken from another dataset sample; the auditor
    bisects to the embedding lookup and checks it with the row opened against sampleRoot."""
    node, auditor, book, task, did = _audited(world, mutate=other_sample)
    referee = Referee(world.protocol(REQUESTER))
    world.drive([GameDriver(node.bot(), did), auditor],
                lambda: referee.game(did).phase == GamePhase.RESOLVED, max_blocks=60)
    (checked,) = referee.events(did, ["StepChecked"])
    assert checked.args["computed"] != checked.args["claimed"]
    (named,) = referee.events(did, ["ElementNamed"])
    view = cached_view(world.tmp / "auditor" / "referee" / str(did))
    assert view is not None
    op = view.ops[int(named.args["opIndex"])]
    assert _reads_batch_row(op), op
    # the element named lies in row 0 of the batch (the swapped one)
    seq = world.published.spec.seq_len
    first = op.shape[-1] if len(op.shape) > 1 else 1
    assert int(named.args["element"]) // first < seq, (op.shape, named.args["element"])
    _settled_against_node(world, node, auditor, book, task, did)


@pytest.mark.heavy
def test_stale_scalar_leaf_loses_by_dispute_state(world: Any) -> None:
    """Every op and every tensor of the node's state after step 3 is right, but its scalar leaf
    holds step 2 and step 2's cursor: the auditor calls disputeState in the first op round."""
    node, auditor, book, task, did = _audited(world, mutate_after=stale_scalar)
    referee = Referee(world.protocol(REQUESTER))
    world.drive([GameDriver(node.bot(), did), auditor],
                lambda: referee.game(did).phase == GamePhase.RESOLVED, max_blocks=30)
    (mismatch,) = referee.events(did, ["FinalStateMismatch"])
    n_state = int(referee.step_graph(task).nState)
    assert int(mismatch.args["slot"]) == n_state  # the scalar leaf
    assert int(mismatch.args["opIndex"]) == 2**256 - 1  # not an op's output: disputeState
    assert len(referee.events(did, ["Split"])) == 1 and not referee.events(did, ["Picked"])
    # the explorer decodes disputeState's claim (1: the scalar leaf) from the transaction
    page = explorer_game(world, did)
    assert [m.kind for m in page.moves].count(MoveKind.STATE_MISMATCH) == 1
    assert page.fault is not None
    assert page.fault.stateWhat == "not the scalar leaf advanced by one step"
    _settled_against_node(world, node, auditor, book, task, did)


def _griefer_at(world: Any, view: Any, op_index: int, element: int, position: bool) -> Any:
    """A griefing challenger that plays every move towards ``element`` of op ``op_index`` and
    checks its step 0 (``position``: an EMBED_BWD element's first listed position instead),
    with valid openings from its own (honest) trace."""
    from challenger.referee import ChallengerReferee, op_arg
    from ledger.movelog import MoveLog
    from ledger.referee import OpeningArg
    from prover.trace.game import round_width
    from prover.trace.openings import embed_posted

    def towards(target: int, depth_left: int) -> int:
        w = round_width(depth_left)
        return (target >> (depth_left - w)) & ((1 << w) - 1)

    class Griefer(ChallengerReferee):
        def _move(self, did: int, g: Any, v: Any, trail: Any) -> Any:
            r = self.referee
            if g.phase == GamePhase.OP_PICK:
                which = towards(op_index, g.depthLeft)
                return "pick", f"op node {which}", lambda: r.pick(did, trail.split, which)
            if g.phase == GamePhase.CHUNK_PICK:
                which = towards(element >> 8, g.depthLeft)
                return "pick", f"chunk node {which}", lambda: r.pick(did, trail.split, which)
            op = v.ops[g.opIndex]
            if g.phase == GamePhase.ELEMENT:
                from prover.trace.game import proof, tree

                gp = proof(tree([o.leaf() for o in v.ops]), g.opIndex)
                return "nameElement", f"lane {element & 255}", lambda: r.name_element(
                    did, element & 255, trail.chunk, op_arg(op), gp)
            if g.phase == GamePhase.STEP:
                n, listed = embed_posted(op, g.element, trail.results) if position else (0, [])
                s = n + listed[0] if position and listed else 0
                opens = [OpeningArg(o.root, o.dims, tuple(o.commit_proof), o.chunk,
                                    tuple(o.chunk_proof))
                         for o in v.openings(g.opIndex, g.element, s, trail.known,
                                             trail.results)]
                return "checkStep", f"step {s}", \
                    lambda: r.check_step(did, s, op_arg(op), trail.results, opens)
            return super()._move(did, g, v, trail)

    return Griefer(Referee(world.protocol(CHALLENGER)), MoveLog(world.tmp / "griefer.sqlite"),
                   lambda d, gv: view)


@pytest.mark.heavy
@pytest.mark.parametrize("kind", [OpKind.EMBED_BWD, None], ids=["embed_bwd", "gather"])
def test_griefer_loses_at_a_binding_to_the_honest_node(world: Any, kind: OpKind | None) -> None:
    """An honest node's leaf 3 is disputed by a griefer that plays to an element of the
    embedding lookup (GATHER of the batch row: step 0 with the row's opening) or of an
    EMBED_BWD op with terms (the first position the node listed); the node bot answers every
    move (EMBED_BWD: its results then its positions) and wins the griefer's bond."""
    from challenger.referee import state_arg
    from ledger.errors import revert_error
    from materials import Materials
    from prover import merkle
    from prover.trace import commit
    from prover.trace.openings import ScalarClaim, embed_terms
    from prover.trace.retrace import retrace

    p, g = world.protocol(REQUESTER), world.protocol(CHALLENGER)
    node = SteppedNode(world.protocol(NODE), world.client, world.tmp / "node", world.cache)
    book = Book(p, {"requester": p.me, "node": node.protocol.me, "griefer": g.me})
    node.protocol.deposit(NODE_STAKE)
    book.snap()
    task = refereed_task(world, REWARD, NODE_STAKE)
    node.protocol.claim_task(task)
    seg = node.commit(task, 0)
    referee = Referee(g)
    bond = referee.challenge_bond()
    did = referee.open_dispute(task, 0, FAULT_STEP, seg.leaves[FAULT_STEP - 1],
                               merkle.proof(seg.leaves, FAULT_STEP - 1))
    spec = world.published.spec
    m = Materials(world.client, world.cache)
    view = retrace(spec, task, FAULT_STEP, None, m.teacher_dir(spec), m.dataset_dir(spec))
    if kind is OpKind.EMBED_BWD:
        op = next(o for o in view.ops if o.kind is OpKind.EMBED_BWD
                  and any(s.ref.kind is RefKind.BATCH and s.ref.index == 0
                          for s in o.slots[:1]))
        # column 0 of the row of the batch's first token that is not the padding row
        h, pad = op.kattrs[1], op.kattrs[3]
        v = next(int(view.tensors.read(op, 0, q)) for q in range(op.kattrs[2])
                 if int(view.tensors.read(op, 0, q)) != pad)
        element = v * h
        assert embed_terms(op, element, view.tensors)
    else:
        op = next(o for o in view.ops if _reads_batch_row(o))
        element = 0
    bad = _griefer_at(world, view, op.index, element, kind is OpKind.EMBED_BWD)
    bots = [GameDriver(node.bot(), did), GameDriver(bad, did)]
    # the node alone up to the griefer's first pick
    world.drive(bots[:1], lambda: referee.game(did).phase == GamePhase.OP_PICK, max_blocks=10)
    # the honest state after refutes a scalar claim: every proof checks out, the leaf agrees
    n = len(view.before_leaves) - 1
    assert view.before_scalar is not None
    honest = ScalarClaim(*view.before_scalar, commit.chunk_proof(view.before_leaves, n),
                         view.after_leaves[n], commit.chunk_proof(view.after_leaves, n))
    with pytest.raises(revert_error("StateOutAgrees")):
        referee.dispute_state(did, state_arg(honest))
    world.drive(bots, lambda: referee.game(did).phase == GamePhase.RESOLVED, max_blocks=60)
    assert referee.outcome(did) == Outcome.NODE_RIGHT
    (named,) = referee.events(did, ["ElementNamed"])
    assert (int(named.args["opIndex"]), int(named.args["element"])) == (op.index, element)
    (checked,) = referee.events(did, ["StepChecked"])
    assert checked.args["computed"] == checked.args["claimed"]
    if kind is OpKind.EMBED_BWD:
        assert int(checked.args["opcode"]) == 0 and int(checked.args["claimed"]) == 1
    assert not p.is_jailed(node.protocol.me)
    Referee(node.protocol).claim_payout()
    book.check(requester={"wallet": -REWARD}, node={"wallet": bond}, griefer={"wallet": -bond})
    assert referee.total_held() == 0
