"""Every kernel, forward and backward: the same bits for every SIMD build and thread count
(1, 2, 3), and close to torch's own result."""

from __future__ import annotations

import pytest
import torch

from prover.kernels import _lib, functions, ops
from tests.support.kernels import RUNNABLE, across, bits

#: Every test here runs once per kernel family (conftest.each_family).
pytestmark = pytest.mark.usefixtures("each_family")

GEMM_SHAPES = [(1, 1, 1), (1, 384, 7), (1, 9, 1536), (7, 1, 5), (5, 3, 1), (13, 17, 19),
               (97, 257, 61), (130, 300, 67), (49, 520, 33)]


@pytest.mark.parametrize("m,k,n", GEMM_SHAPES)
def test_linear_forward_backward_same_bits_everywhere_and_close_to_torch(force, m, k, n):
    gen = torch.Generator().manual_seed(m * 1000 + k * 10 + n)
    x0, w0, b0, dy = (torch.randn(*s, generator=gen) for s in ((m, k), (n, k), (n,), (m, n)))

    def run():
        x, w, b = (t.clone().requires_grad_(True) for t in (x0, w0, b0))
        y = functions.linear(x, w, b)
        y.backward(dy)
        return [y, x.grad, w.grad, b.grad]

    runs = across(force, run)
    assert all(r == runs[0] for r in runs), "bits differ across builds or thread counts"
    x, w, b = (t.clone().requires_grad_(True) for t in (x0, w0, b0))
    ref = torch.nn.functional.linear(x, w, b)
    ref.backward(dy)
    got = run()
    for g, r in zip(got, [ref, x.grad, w.grad, b.grad], strict=True):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-4 * max(1.0, k ** 0.5))


def test_gemm_accumulates_in_ascending_k_with_separate_roundings():
    # 1 + 2^-24 + 2^-24 in ascending order rounds each step back to 1.0 (ties to even);
    # an FMA or a reordered sum would keep 2^-23. The fixed order gives exactly 1.0.
    a = torch.tensor([[1.0, 2.0 ** -24, 2.0 ** -24]])
    b = torch.ones(3, 1)
    assert ops.gemm(a, b).item() == 1.0
    a = torch.tensor([[2.0 ** -24, 2.0 ** -24, 1.0]])
    assert ops.gemm(a, b).item() == 1.0 + 2.0 ** -23


def test_gemm_reads_any_strides_and_matches_contiguous():
    gen = torch.Generator().manual_seed(3)
    a = torch.randn(40, 30, generator=gen)
    b = torch.randn(50, 30, generator=gen)
    assert bits(ops.gemm(a, b.t())) == bits(ops.gemm(a, b.t().contiguous()))
    assert bits(ops.gemm(a.t().contiguous().t(), b.t())) == bits(ops.gemm(a, b.t()))


def test_batched_matmul_attention_shapes_same_bits_everywhere(force):
    gen = torch.Generator().manual_seed(5)
    q0, k0, v0 = (torch.randn(2, 3, 17, 8, generator=gen) for _ in range(3))
    mask = torch.zeros(2, 1, 1, 17)
    mask[1, ..., 11:] = torch.finfo(torch.float32).min
    dy = torch.randn(2, 3, 17, 8, generator=gen)

    def run(mm=functions.matmul, sm=functions.softmax):
        q, k, v = (t.clone().requires_grad_(True) for t in (q0, k0, v0))
        o = mm(sm(mm(q, k.transpose(-1, -2)) * 0.35 + mask), v)
        o.backward(dy)
        return [o, q.grad, k.grad, v.grad]

    runs = across(force, run)
    assert all(r == runs[0] for r in runs)
    ref = run(torch.matmul, lambda s: s.softmax(-1))
    for g, r in zip(run(), ref, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("rows,n", [(1, 1), (1, 384), (7, 5), (33, 129)])
def test_softmax_layernorm_gelu_same_bits_everywhere_and_close_to_torch(force, rows, n):
    gen = torch.Generator().manual_seed(rows * 7 + n)
    x0 = torch.randn(rows, n, generator=gen) * 4
    w0, b0 = torch.randn(n, generator=gen), torch.randn(n, generator=gen)
    dy = torch.randn(rows, n, generator=gen)

    def run(sm=functions.softmax, ln=functions.layer_norm, ge=functions.gelu):
        x, w, b = (t.clone().requires_grad_(True) for t in (x0, w0, b0))
        ys = [sm(x), ln(x, w, b, 1e-5), ge(x)]
        sum((y * dy).sum() for y in ys).backward()
        return [*ys, x.grad, w.grad, b.grad]

    runs = across(force, run)
    assert all(r == runs[0] for r in runs)
    ref = run(lambda x: x.softmax(-1),
              lambda x, w, b, e: torch.nn.functional.layer_norm(x, (n,), w, b, e),
              torch.nn.functional.gelu)
    for g, r in zip(run(), ref, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-5)


def test_exp_and_erf_are_accurate_over_their_range():
    x = torch.linspace(-87.0, 88.0, 20001)
    torch.testing.assert_close(ops.exp(x), torch.exp(x.double()).float(), rtol=3e-7, atol=0.0)
    assert ops.exp(torch.tensor([-1e30, -100.0])).tolist() == [0.0, 0.0]
    z = torch.linspace(-6.0, 6.0, 20001)
    assert (ops.erf(z).double() - torch.erf(z.double())).abs().max().item() < 3e-7


def test_sum_last_is_ascending_and_has_a_gradient():
    x = torch.tensor([[2.0 ** -24, 2.0 ** -24, 1.0], [1.0, 2.0 ** -24, 2.0 ** -24]],
                     requires_grad=True)
    s = functions.sum_last(x)
    assert s.tolist() == [1.0 + 2.0 ** -23, 1.0]
    s.sum().backward()
    assert x.grad.tolist() == [[1.0] * 3] * 2


def test_every_runnable_build_is_selectable(force):
    for isa in RUNNABLE:
        force(isa, 1)
        assert _lib.active_isa() == isa
