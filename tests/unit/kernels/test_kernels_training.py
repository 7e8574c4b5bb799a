"""repcpu-2's training ops (log, log-softmax, losses, clipping, AdamW): the same bits for every
SIMD build and thread count (1, 2, 3), and close to torch's own result."""

from __future__ import annotations

import math

import pytest
import torch

from prover.kernels import functions, ops, training
from tests.support.kernels import across

#: Every test here runs once per kernel family (conftest.each_family).
pytestmark = pytest.mark.usefixtures("each_family")


def test_log_is_close_to_torch_and_handles_special_values(force):
    x = torch.cat([torch.logspace(-44, 38, 20011), torch.rand(4097) * 3,
                   torch.tensor([1.0, 2.0, 0.5, 1e-45, 1.17549435e-38])])
    runs = across(force, lambda: [ops.log(x)])
    assert all(r == runs[0] for r in runs)
    got, ref = ops.log(x).double(), torch.log(x.double())
    rel = ((got - ref).abs() / ref.abs().clamp_min(1e-30))
    assert float(rel.max()) < 4e-7 or float((got - ref).abs().max()) < 2e-7
    assert ops.log(torch.tensor([1.0])).item() == 0.0
    special = ops.log(torch.tensor([0.0, -1.0, math.inf, math.nan]))
    assert special[0].item() == -math.inf and math.isnan(special[1].item())
    assert special[2].item() == math.inf and math.isnan(special[3].item())


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (5, 1), (3, 513), (2, 4, 64)])
def test_log_softmax_forward_backward_same_bits_everywhere_and_close_to_torch(force, shape):
    gen = torch.Generator().manual_seed(sum(shape))
    x0 = torch.randn(*shape, generator=gen) * 4
    dy = torch.randn(*shape, generator=gen)

    def run():
        x = x0.clone().requires_grad_(True)
        y = functions.log_softmax(x)
        y.backward(dy)
        return [y, x.grad]

    runs = across(force, run)
    assert all(r == runs[0] for r in runs), "bits differ across builds or thread counts"
    x = x0.clone().requires_grad_(True)
    ref = torch.log_softmax(x, -1)
    ref.backward(dy)
    for g, r in zip(run(), [ref, x.grad], strict=True):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["mse_hidden", "mse_embedding", "kl_logits"])
def test_kd_loss_same_bits_everywhere_and_close_to_stock(force, kind):
    from types import SimpleNamespace

    from prover import model

    gen = torch.Generator().manual_seed(7)
    h_s0, h_t = torch.randn(2, 9, 24, generator=gen), torch.randn(2, 9, 32, generator=gen)
    fixed = {"proj": torch.randn(24, 32, generator=gen) / 5,
             "head": torch.randn(32, 40, generator=gen) / 6}
    spec = SimpleNamespace(loss=SimpleNamespace(type=kind, alpha=0.5, temperature=2.0),
                           profile=SimpleNamespace(name="stock-avx2-1"))

    def run():
        h_s = h_s0.clone().requires_grad_(True)
        loss = training.kd_loss(spec, h_s, h_t, fixed)
        loss.backward()
        return [loss, h_s.grad]

    runs = across(force, run)
    assert all(r == runs[0] for r in runs)
    h_s = h_s0.clone().requires_grad_(True)
    ref = model.kd_loss(spec, h_s, h_t, fixed)  # the stock path
    ref.backward()
    for g, r in zip(run(), [ref, h_s.grad], strict=True):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-6)


def test_clip_grad_norm_matches_torch(force):
    gen = torch.Generator().manual_seed(3)
    grads0 = [torch.randn(s, generator=gen) for s in ((33, 17), (5,), (1, 1), (4000,))]

    def run(clip: float):
        grads = [g.clone() for g in grads0]
        norm = training.clip_grad_norm_(grads, clip)
        return [torch.tensor([norm], dtype=torch.float64), *grads]

    runs = across(force, lambda: run(1.0))
    assert all(r == runs[0] for r in runs)
    ref_norm = torch.linalg.vector_norm(torch.cat([g.double().reshape(-1) for g in grads0]))
    got = run(1.0)
    assert got[0].item() == pytest.approx(float(ref_norm), rel=1e-6)
    expect = [g * (1.0 / (float(ref_norm) + 1e-6)) for g in grads0]
    for g, r in zip(got[1:], expect, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-7)
    assert all(torch.equal(g, r) for g, r in zip(run(1e9)[1:], grads0, strict=True))  # no-op


def test_powi_is_exact_where_exact_and_close_to_pow():
    assert training._powi(0.5, 10) == 2.0 ** -10
    assert training._powi(0.999, 0) == 1.0
    assert training._powi(0.999, 12345) == pytest.approx(0.999 ** 12345, rel=1e-12)


def _params(seed: int) -> list[torch.nn.Parameter]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in ((17, 9), (9,), (5000,))]


def test_adamw_step_same_bits_everywhere_and_close_to_torch(force):
    gen = torch.Generator().manual_seed(11)
    grads = [[torch.randn(p.shape, generator=gen) for p in _params(1)] for _ in range(3)]
    hp = {"lr": 1e-2, "betas": (0.9, 0.98), "eps": 1e-8}

    def train(step_fn, fused: bool | None = None):
        ps = _params(1)
        opt = torch.optim.AdamW([{"params": ps[:1], "weight_decay": 0.1},
                                 {"params": ps[1:], "weight_decay": 0.0}], fused=fused, **hp)
        for gs in grads:
            for p, g in zip(ps, gs, strict=True):
                p.grad = g.clone()
            ps[1].grad = None if gs is grads[1] else ps[1].grad  # a parameter without a grad
            step_fn(opt)
        return ps, opt

    def run():
        ps, opt = train(training.adamw_step)
        return [*ps, *(t for st in opt.state.values() for t in st.values())]

    runs = across(force, run)
    assert all(r == runs[0] for r in runs)
    got_ps, got = train(training.adamw_step)
    ref_ps, ref = train(lambda o: o.step(), fused=True)
    for g, r in zip(got_ps, ref_ps, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-6)
    # torch's own state layout: same keys, dtypes, shapes and step counts, so checkpoints load
    for pg, pr in zip(got_ps, ref_ps, strict=True):
        sg, sr = got.state[pg], ref.state[pr]
        assert sorted(sg) == sorted(sr)
        for key in sg:
            assert sg[key].dtype == sr[key].dtype and sg[key].shape == sr[key].shape
        assert sg["step"].item() == sr["step"].item()
        torch.testing.assert_close(sg["exp_avg_sq"], sr["exp_avg_sq"], rtol=1e-5, atol=1e-7)
    ref.load_state_dict(got.state_dict())  # and torch accepts it


@pytest.mark.parametrize("n", [1, 1023, 1024, 1025, 786_433])
def test_fixed_sum_same_bits_everywhere_and_accurate(force, n):
    gen = torch.Generator().manual_seed(n)
    x0 = torch.rand(n, generator=gen) + 0.5  # positive terms: a plain float32 running sum drifts

    def run():
        x = x0.clone().requires_grad_(True)
        s = training.fixed_sum(x)
        s.backward()
        return [s, x.grad]

    runs = across(force, run)
    assert all(r == runs[0] for r in runs)
    s, grad = run()
    exact = float(x0.double().sum())
    assert abs(float(s.detach()) - exact) / exact < 2e-6
    assert torch.equal(grad, torch.ones(n))
