"""enable(model): a BertModel routed through the kernels gives the same bits for every build
and thread count, stays close to stock torch, and keeps its parameters and state_dict."""

from __future__ import annotations

import pytest
import torch

from prover.kernels import _lib, enable, is_enabled, selfcheck
from prover.kernels.patch import RepLayerNorm, RepLinear
from tests.support.kernels import RUNNABLE

#: Every test here runs once per kernel family (conftest.each_family).
pytestmark = pytest.mark.usefixtures("each_family")

transformers = pytest.importorskip("transformers")



def _tiny(seed: int = 0):
    cfg = transformers.BertConfig(vocab_size=101, hidden_size=48, num_hidden_layers=2,
                                  num_attention_heads=4, intermediate_size=96,
                                  max_position_embeddings=40, hidden_dropout_prob=0.0,
                                  attention_probs_dropout_prob=0.0, attn_implementation="eager")
    torch.manual_seed(seed)
    return transformers.BertModel(cfg)


def _step(model, ids, mask, proj):
    model.zero_grad()
    h = model(input_ids=ids, attention_mask=mask).last_hidden_state
    (h * proj).sum().backward()
    return h.detach(), {n: p.grad.clone() for n, p in model.named_parameters()
                        if p.grad is not None}


def test_enable_swaps_modules_in_place_and_keeps_the_state_dict():
    model = _tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert enable(model) is model
    enable(model)  # idempotent
    assert is_enabled(model)
    assert all(isinstance(m, RepLinear) for m in model.modules() if isinstance(m, torch.nn.Linear))
    assert any(isinstance(m, RepLayerNorm) for m in model.modules())
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_bert_step_same_bits_everywhere_and_close_to_stock(monkeypatch):
    stock, rep = _tiny(), _tiny()
    enable(rep)
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 101, (3, 19), generator=gen)
    mask = torch.ones(3, 19, dtype=torch.long)
    mask[2, 11:] = 0
    proj = torch.randn(3, 19, 48, generator=gen)
    runs = []
    torch_threads = torch.get_num_threads()
    try:
        for isa in RUNNABLE:
            for threads in (1, 2, 3):
                # torch's own threads too: embedding backward and the elementwise ops stay stock
                torch.set_num_threads(threads)
                monkeypatch.setenv(_lib.ENV_ISA, isa)
                monkeypatch.setenv(_lib.ENV_THREADS, str(threads))
                h, grads = _step(rep, ids, mask, proj)
                runs.append(selfcheck.digest([h, *grads.values()]))
    finally:
        torch.set_num_threads(torch_threads)
    assert len(set(runs)) == 1, "bits differ across builds or thread counts"
    h_ref, g_ref = _step(stock, ids, mask, proj)
    torch.testing.assert_close(h, h_ref, rtol=1e-4, atol=1e-4)
    for name, g in g_ref.items():
        if name.endswith("key.bias"):  # mathematically zero: both sides are rounding noise
            continue
        scale = g.abs().max().item()
        assert (grads[name] - g).abs().max().item() <= 1e-4 * scale + 1e-7, name
