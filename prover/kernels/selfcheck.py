"""A small fixed workload over every kernel (forward and backward) and a digest of its bits.

``python -m prover.kernels.selfcheck [--bert] [--family repfma]`` prints
``{"isa": ..., "threads": ..., "kernels": ..., "bert": ...}``.
The digest must be the same on every x86 CPU, SIMD build and thread count; the cross-CPU test
runs this under ``qemu-x86_64 -cpu MODEL`` and compares it with the native one. Inputs come from
``torch.rand`` with a seeded generator (uniform integers scaled: exact on every CPU), never from
``normal_``, whose vectorized code is the vendor's.
"""

from __future__ import annotations

import argparse
import hashlib
import json

import torch

from prover.kernels import _lib, functions, ops
from prover.kernels.family import Family

SHAPES = [(1, 1, 1), (1, 7, 33), (5, 3, 1), (13, 17, 19), (70, 129, 45), (64, 96, 200)]


def _u(gen: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return (torch.rand(*shape, generator=gen) * 2.0 - 1.0) * scale


def _leaf(gen: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return _u(gen, *shape, scale=scale).requires_grad_(True)


def _g(t: torch.Tensor) -> torch.Tensor:
    """The gradient of a leaf that took part in a backward pass."""
    return t.grad if t.grad is not None else torch.empty(0)


def kernel_tensors(seed: int = 0) -> list[torch.Tensor]:
    """Outputs and gradients of every kernel on a fixed set of shapes."""
    gen = torch.Generator().manual_seed(seed)
    out: list[torch.Tensor] = []
    for m, k, n in SHAPES:
        x, w, b = _leaf(gen, m, k), _leaf(gen, n, k), _leaf(gen, n)
        y = functions.linear(x, w, b)
        y.backward(_u(gen, m, n))
        out += [y.detach(), _g(x), _g(w), _g(b)]
    q, kk, v = (_leaf(gen, 2, 3, 11, 8) for _ in range(3))
    s = functions.softmax(functions.matmul(q, kk.transpose(-1, -2)) * 0.3)
    o = functions.matmul(s, v)
    o.backward(_u(gen, 2, 3, 11, 8))
    out += [o.detach(), _g(q), _g(kk), _g(v)]
    x, w, b = _leaf(gen, 9, 37, scale=3.0), _leaf(gen, 37), _leaf(gen, 37)
    y = functions.layer_norm(x, w, b, 1e-12)
    y.backward(_u(gen, 9, 37))
    out += [y.detach(), _g(x), _g(w), _g(b)]
    x = _leaf(gen, 3001, scale=6.0)
    y = functions.gelu(x)
    y.backward(_u(gen, 3001))
    out += [y.detach(), _g(x), ops.exp(_u(gen, 999, scale=90.0)), ops.erf(_u(gen, 999, scale=5.0))]
    if _lib.family() is Family.REPFMA:
        big = _u(gen, 3, 9000, scale=3.0)
        out += [ops.fsum(big), ops.fsum(big, square=True)]
    return out


def bert_tensors(seed: int = 0) -> list[torch.Tensor]:
    """Output and all parameter gradients of a tiny BertModel routed through the kernels."""
    from transformers import BertConfig, BertModel

    from prover.kernels import enable

    gen = torch.Generator().manual_seed(seed)
    cfg = BertConfig(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=32, hidden_dropout_prob=0.0,
                     attention_probs_dropout_prob=0.0,
                     attn_implementation="eager")  # type: ignore[call-arg]
    model = BertModel(cfg, add_pooling_layer=False)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(_u(gen, *p.shape, scale=0.2))
    enable(model)
    ids = torch.randint(0, 97, (3, 13), generator=gen)
    mask = torch.ones(3, 13, dtype=torch.long)
    mask[1, 9:] = 0
    h = model(input_ids=ids, attention_mask=mask).last_hidden_state
    h.backward(_u(gen, *h.shape))
    return [h.detach()] + [p.grad for p in model.parameters() if p.grad is not None]


def digest(tensors: list[torch.Tensor]) -> str:
    """sha256 over the raw bytes of the tensors, in order."""
    hasher = hashlib.sha256()
    for t in tensors:
        hasher.update(t.detach().contiguous().numpy().tobytes())
    return hasher.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bert", action="store_true", help="also a tiny BertModel step")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--family", type=Family, default=Family.REPCPU, choices=list(Family),
                        help="kernel family (default repkern)")
    args = parser.parse_args(argv)
    _lib.use_family(args.family)
    tensors = kernel_tensors(args.seed)
    result = {"isa": _lib.active_isa(), "threads": _lib.threads(), "kernels": digest(tensors)}
    if args.bert:
        result["bert"] = digest(bert_tensors(args.seed))
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
