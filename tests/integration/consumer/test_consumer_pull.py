"""Verified pulls against a real anvil, the real contracts, the embedded store and real training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

E18 = 10**18


@pytest.fixture
def world(protocol, anvil, deployed_addresses, tmp_path):  # type: ignore[no-untyped-def]
    """A published tiny spec (2 segments of 8 steps) on a running store, and a staked node."""
    from materials import publish
    from prover.presets import default_dataset_dir, default_teacher_dir, preset_spec
    from store.client import Client
    from store.server import serve

    with serve(tmp_path / "repo") as store, Client(store.url) as client:
        spec = preset_spec("tiny", totalSteps=16)
        teacher, data = default_teacher_dir(), default_dataset_dir(spec.seq_len)
        pub = publish(client, spec, teacher, data)
        requester, node = protocol(1), protocol(2)
        node.deposit(1_000 * E18)
        yield {"client": client, "pub": pub, "requester": requester, "node": node,
               "teacher": teacher, "data": data, "anvil": anvil, "tmp": tmp_path,
               "store_url": store.url, "addresses": deployed_addresses}


def _task(w: dict, window: int = 5) -> int:  # type: ignore[type-arg]
    tid = w["requester"].create_task(w["pub"].spec_cid, w["pub"].spec_hash, 100 * E18,
                                     total_steps=16,
                                     segment_steps=8, challenge_window=window, segment_deadline=500,
                                     node_stake=100 * E18)
    w["node"].claim_task(tid)
    return tid


def _commit(w: dict, tid: int, k: int, start: Path | None,
            end_hash: bytes | None = None) -> Path:  # type: ignore[type-arg]
    from prover.segment import run_segment

    r = run_segment(w["pub"].spec, tid, k, start, w["teacher"], w["data"], w["tmp"] / f"t{tid}s{k}")
    ck, lv = w["client"].put_dir(r.checkpoint_dir), w["client"].put_file(r.leaves_file)
    w["node"].commit_segment(tid, k, r.trace_root, end_hash or r.end_state_hash, ck, lv,
                             leaves=r.leaves)
    return r.checkpoint_dir


def test_pull_refuses_unfinal_then_writes_a_loadable_verified_model(world) -> None:  # type: ignore[no-untyped-def]
    from transformers import AutoModel, AutoTokenizer

    from consumer.errors import NothingToPullError, SegmentNotFinalError
    from consumer.pull import pull

    w, client, node = world, world["client"], world["node"]
    tid = _task(w)
    c0 = _commit(w, tid, 0, None)
    out = w["tmp"] / "student"
    with pytest.raises(NothingToPullError, match="no final segment"):
        pull(node, client, tid, out)
    with pytest.raises(SegmentNotFinalError, match="challenge window is open until block"):
        pull(node, client, tid, out, segment=0)
    assert not out.exists()

    res = pull(node, client, tid, out, allow_unfinalized=True, allow_unaudited=True)
    assert (res.segment, res.final) == (0, False)
    _commit(w, tid, 1, c0)
    w["anvil"].mine(6)
    out2 = w["tmp"] / "student2"
    res = pull(node, client, tid, out2, allow_unaudited=True)
    assert (res.segment, res.final) == (1, True)
    prov = json.loads((out2 / "provenance.json").read_text())
    seg = node.segment(tid, 1)
    assert prov["endStateHash"] == "0x" + bytes(seg.endStateHash).hex()
    assert prov["specHash"] == "0x" + w["pub"].spec_hash.hex()
    assert prov["taskId"] == tid and prov["step"] == 16 and prov["chainId"] == 31337
    assert prov["txHash"].startswith("0x") and len(prov["txHash"]) == 66
    # the same through the CLI, with settings from flags
    from veritrain.cli.main import main

    w["addresses"].save(w["tmp"] / "addresses.json")
    common = ["--rpc", w["anvil"].url, "--ipfs", w["store_url"], "--addresses",
              str(w["tmp"] / "addresses.json")]
    assert main(["pull", "--task", str(tid), "--segment", "0", "--out", str(w["tmp"] / "cli"),
                 "--no-eval", "--allow-unaudited", *common]) == 0
    assert json.loads((w["tmp"] / "cli" / "provenance.json").read_text())["segment"] == 0
    assert main(["pull", "--task", "999", "--out", str(w["tmp"] / "cli2"), *common]) == 2
    assert not (w["tmp"] / "cli2").exists()
    model = AutoModel.from_pretrained(str(out2))
    tok = AutoTokenizer.from_pretrained(str(out2))
    enc = tok(["a verified student"], return_tensors="pt")
    assert model(**enc).last_hidden_state.shape[-1] == 64


def test_pull_rejects_a_checkpoint_that_is_not_the_committed_state(world) -> None:  # type: ignore[no-untyped-def]
    from consumer.errors import CheckpointMismatchError, OutputExistsError
    from consumer.pull import pull

    w = world
    tid = _task(w, window=1)
    _commit(w, tid, 0, None, end_hash=b"\x11" * 32)  # the upload is honest, the commitment is not
    w["anvil"].mine(3)
    out = w["tmp"] / "bad"
    with pytest.raises(CheckpointMismatchError,
                       match=r"holds state .* the chain.s endStateHash is"):
        pull(w["node"], w["client"], tid, out, allow_unaudited=True)
    assert not out.exists()
    assert not [p for p in w["tmp"].iterdir() if p.name.startswith(".bad")]  # no staging left
    out.mkdir()
    (out / "x").write_text("keep me")
    with pytest.raises(OutputExistsError):
        pull(w["node"], w["client"], tid, out, allow_unaudited=True)
    assert (out / "x").read_text() == "keep me"


def test_pull_writes_a_sentence_transformer_with_a_model_card_and_eval_scores(world) -> None:  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer

    from consumer.pull import pull
    from consumer.quality import embed, load

    w = world
    tid = _task(w, window=1)
    _commit(w, tid, 1, _commit(w, tid, 0, None))
    w["anvil"].mine(3)
    out = w["tmp"] / "ready"
    res = pull(w["node"], w["client"], tid, out, evaluate=True, allow_unaudited=True)
    # the tiny student is 64 wide: its projection to the teacher's 384 is a Dense module
    assert json.loads((out / "2_Dense" / "config.json").read_text())["out_features"] == 384
    sentences = ["The striker scored twice in the final minutes.", "Rain flooded the towns."]
    ours = embed(load(out), sentences)
    st = SentenceTransformer(str(out), device="cpu")
    theirs = st.encode(sentences, convert_to_tensor=True)
    assert ours.shape == theirs.shape == (2, 384)
    assert float((ours - theirs).abs().max()) < 1e-4
    scores = json.loads((out / "quality.json").read_text())
    assert [s["model"] for s in scores] == ["teacher", "this student"]
    assert abs(scores[0]["pearson"] - 0.654) < 0.002 and scores[0]["heldout_kd_loss"] < 1e-6
    assert scores[1]["heldout_kd_loss"] > 0.0 and -1 < scores[1]["pearson"] < scores[0]["pearson"]
    card = (out / "README.md").read_text()
    p = res.provenance
    for text in (f"task {tid}, step 16", p["checkpointCid"], p["specCid"], p["teacherCid"],
                 p["txHash"], f"| {scores[1]['pearson']:.3f} |", "SentenceTransformer("):
        assert text in card
