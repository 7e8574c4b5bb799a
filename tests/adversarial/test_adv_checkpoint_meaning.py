"""Issue #14, class 1: a checkpoint means one thing to everybody.

``prover.checkpoint.held_state`` is the only judge of what a checkpoint directory holds; the
auditor, the jurors, a node continuing from a checkpoint and the consumer's pull all use it. Each
test plays the attack on the real stack (anvil, the real contracts, the embedded store over HTTP,
real training, the real auditor/juror bots and node daemon) and checks every party's books to the
wei (tests/support/cast.py ``Book``):

- a config.json with other semantics (activation, layer-norm epsilon) or one that is not JSON
  changes nothing anybody loads: the state is right, the node is paid, the consumer's config is
  rebuilt from the spec, and a node taking over continues from that checkpoint;
- a float64 copy of the right weights holds no state for anybody: the consumer refuses it, the
  auditor disputes it, the jury finds the node wrong, the honest takeover is paid.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.actors import DishonestNode, Fault, Requester
from tests.support.cast import Book
from tests.support.faultplay import (
    CHALLENGER,
    CHEATER,
    HONEST,
    NODE_STAKE,
    REQUESTER,
    REWARD,
    WINDOW,
    drive,
    play,
)

#: What the auditor stakes to attest its audits (deploy/params.json "audit").
MIN_AUDITOR_STAKE = 100 * 10**18


def _consumer_refuses(protocol: Any, out: Path) -> Any:
    """``play``'s after_commit: a consumer pulling the float64 checkpoint gets a clear refusal."""

    def check(client: Any, task: int) -> None:
        from consumer.errors import CheckpointMismatchError
        from consumer.pull import pull

        with pytest.raises(CheckpointMismatchError, match="float64") as exc:
            pull(protocol(REQUESTER), client, task, out, segment=0, allow_unfinalized=True,
                 allow_unaudited=True)
        assert exc.value.reason == "dtype"
        assert not out.exists() or not any(out.iterdir())

    return check


@pytest.mark.heavy
def test_float64_copy_of_the_right_weights_is_no_state_for_anyone(
    anvil: Any, protocol: Any, store_url: str, published: Any, tmp_path: Path
) -> None:
    """The consumer refuses it (it used to cast and accept), the auditor disputes the end state,
    the jury slashes the node, the honest takeover is paid; books exact (``play``)."""
    play(
        Fault.FLOAT64_CHECKPOINT,
        1,
        anvil,
        protocol,
        store_url,
        published,
        tmp_path,
        tmp_path / "cache",
        after_commit=_consumer_refuses(protocol, tmp_path / "pulled"),
    )


def _same_outputs(pulled: Path, spec: Any, task: int, trained: Path) -> None:
    """The pulled model computes exactly what the trained state computes (same inputs)."""
    import torch
    from transformers import AutoModel

    from prover import checkpoint

    got = AutoModel.from_pretrained(str(pulled), attn_implementation="eager").eval()
    ref = checkpoint.load_student(checkpoint.held_state(trained, spec, task), spec).eval()
    ids = torch.arange(3, 3 + 2 * 16).reshape(2, 16) % int(spec.student.config["vocab_size"])
    with torch.no_grad():
        assert torch.equal(
            got(input_ids=ids).last_hidden_state, ref(input_ids=ids).last_hidden_state
        )


def _spec_config(spec: Any, pulled: Path) -> dict[str, Any]:
    cfg = json.loads((pulled / "config.json").read_text())
    for key, value in spec.student.config.items():
        assert cfg[key] == value, f"pulled config.json {key}={cfg[key]!r}, the spec says {value!r}"
    return dict(cfg)


def test_changed_config_json_semantics_reach_nobody(
    anvil: Any,
    protocol: Any,
    store_url: str,
    published: Any,
    tmp_path: Path,
) -> None:
    """A node publishes the right state with a config.json saying relu and layer_norm_eps 0.5:
    the state is right (audited ok, no dispute, paid), and the consumer's model is built from the
    spec, computing what was trained (it used to copy the node's config.json)."""
    from challenger.auditor import Auditor
    from challenger.policy import AuditPolicy
    from consumer.pull import pull
    from store.client import Client

    cache, spec = tmp_path / "cache", published.spec
    with Client(store_url) as client:
        auditor = Auditor(
            protocol(CHALLENGER),
            client,
            tmp_path / "auditor",
            AuditPolicy(probability=1.0),
            cache_dir=cache,
        )
        node = DishonestNode(
            protocol(CHEATER),
            client,
            tmp_path / "node",
            fault=Fault.CONFIG_SEMANTICS,
            segment=1,
            cache_dir=cache,
        )
        node.protocol.deposit(NODE_STAKE)
        auditor.protocol.deposit(MIN_AUDITOR_STAKE)  # so its audits are attested (pull counts them)
        p = protocol(0)
        book = Book(
            p,
            {
                "requester": protocol(REQUESTER).me,
                "node": node.protocol.me,
                "challenger": auditor.protocol.me,
            },
        )
        book.snap()
        task = Requester(protocol(REQUESTER), client).post(
            published, reward=REWARD, challenge_window=WINDOW, node_stake=NODE_STAKE
        )
        node.claim(task)
        committed = [node.commit(task, k) for k in range(spec.num_segments())]
        uploaded = client.get_dir(committed[-1].checkpoint_cid, tmp_path / "uploaded")
        assert (
            json.loads((uploaded / "config.json").read_text())["hidden_act"] == "relu"
        )  # the attack is live
        drive(
            anvil, [auditor], lambda: all(p.is_final(task, k) for k in range(spec.num_segments()))
        )
        ok = auditor.journal.one("SELECT COUNT(*) AS n FROM audits WHERE status = 'ok'")["n"]
        assert ok == spec.num_segments() and p.dispute_count() == 0
        node.protocol.claim_reward(task)
        result = pull(protocol(REQUESTER), client, task, tmp_path / "pulled")
        cfg = _spec_config(spec, result.out_dir)
        assert cfg["hidden_act"] != "relu" and cfg["layer_norm_eps"] != 0.5
        _same_outputs(result.out_dir, spec, task, committed[-1].result.checkpoint_dir)
        book.check(requester={"wallet": -REWARD}, node={"wallet": REWARD})


@pytest.mark.heavy
def test_unloadable_config_json_does_not_poison_the_final_prefix(
    anvil: Any,
    protocol: Any,
    store_url: str,
    published: Any,
    tmp_path: Path,
) -> None:
    """A node commits segment 0 with a config.json that is not JSON, then stalls. Segment 0 is
    audited ok and final; after the stall timeout the real node daemon of another operator
    continues from that checkpoint (fetched from IPFS), finishes and is paid; the consumer pulls
    a loadable model. The staller pays the stall slash; books exact."""
    from challenger.auditor import Auditor
    from challenger.policy import AuditPolicy
    from consumer.pull import pull
    from node.daemon import NodeDaemon
    from store.client import Client

    cache, spec = tmp_path / "cache", published.spec
    with Client(store_url) as client:
        auditor = Auditor(
            protocol(CHALLENGER),
            client,
            tmp_path / "auditor",
            AuditPolicy(probability=1.0),
            cache_dir=cache,
        )
        staller = DishonestNode(
            protocol(CHEATER),
            client,
            tmp_path / "staller",
            fault=Fault.CONFIG_UNLOADABLE,
            cache_dir=cache,
        )
        staller.protocol.deposit(NODE_STAKE)
        second = protocol(HONEST)
        second.deposit(NODE_STAKE)
        auditor.protocol.deposit(MIN_AUDITOR_STAKE)  # so its audits are attested (pull counts them)
        p = protocol(0)
        book = Book(
            p,
            {
                "requester": protocol(REQUESTER).me,
                "staller": staller.protocol.me,
                "second": second.me,
                "challenger": auditor.protocol.me,
                "treasury": p.me,
            },
        )
        book.snap()
        task = Requester(protocol(REQUESTER), client).post(
            published,
            reward=REWARD,
            challenge_window=WINDOW,
            segment_deadline=40,
            node_stake=NODE_STAKE,
        )
        staller.claim(task)
        staller.commit(task, 0)
        drive(anvil, [auditor], lambda: p.is_final(task, 0))
        assert auditor.journal.one("SELECT COUNT(*) AS n FROM audits WHERE status = 'ok'")["n"] == 1
        anvil.mine(max(0, int(p.task(task).segmentDueBlock) - p.chain.block_number() + 1))
        protocol(REQUESTER).timeout_stall(task)
        assert int(p.task(task).nextSegment) == 1  # reopened after the final segment 0
        daemon = NodeDaemon(second, client, tmp_path / "second")
        try:
            drive(anvil, [daemon, auditor], lambda: daemon.rewarded == [task], max_blocks=300)
            # it continued from segment 0's checkpoint (not retrained)
            assert [s.k for s in daemon.journal.segments(task)] == [1]
        finally:
            daemon.close()
        assert p.dispute_count() == 0
        result = pull(protocol(REQUESTER), client, task, tmp_path / "pulled")
        _spec_config(spec, result.out_dir)
        stall = NODE_STAKE * int(p.market_params().stallSlashBps) // 10_000
        book.check(
            requester={"wallet": -REWARD},
            treasury={"wallet": stall},  # never the requester (#14)
            staller={"staked": -stall},
            second={"wallet": REWARD},
        )
