"""A narrow student embedding started from the teacher's: the tables on their top singular subspace.

An electra student keeps the teacher's width inside its layers but stores token, position and
type embeddings ``E`` wide (``E`` < hidden), followed by a learned ``E -> hidden`` projection.
With ``V`` an orthonormal ``[hidden, E]`` basis of the teacher word table's top right-singular
subspace, the student starts at

    word_E = W_word @ V,  pos_E = W_pos @ V,  type_E = W_type @ V   (then LayerNorm over E)
    project(x) = (x @ V.T) * sqrt(hidden / E) * gamma + beta        (teacher's LayerNorm affine)

so ``project(LN(word_E + pos_E + type_E))`` approximates the teacher's embedding output.

The basis must be the same bits on every machine (it fixes state 0, which every replay starts
from), so it is not LAPACK's SVD: it is a subspace iteration started from a BLAKE3-derived block,
with every product on the fixed-order GEMM of prover.kernels and classical Gram-Schmidt (run
twice) whose norms use the elementwise ``rsqrt``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from prover.errors import SpecValidationError

if TYPE_CHECKING:
    import torch

    from prover.spec import TaskSpec

#: Subspace-iteration rounds (each: one product with W and one with W.T, then orthonormalise).
SUBSPACE_ROUNDS = 8


def _orthonormalise(y: torch.Tensor) -> torch.Tensor:
    """Columns of ``y`` [n, k] made orthonormal in order (Gram-Schmidt twice per column)."""
    import torch

    from prover.kernels import ops

    q = torch.zeros_like(y)
    for j in range(y.shape[1]):
        v = y[:, j: j + 1].contiguous()
        for _ in range(2):  # the second pass removes what rounding left of earlier directions
            if j:
                coef = ops.gemm(q[:, :j].t(), v)
                v = v - ops.gemm(q[:, :j], coef)
        norm2 = ops.sum_last(v.t() * v.t())
        q[:, j: j + 1] = v * torch.rsqrt(norm2.clamp_min(1e-30))
    return q


def subspace_basis(table: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    """An orthonormal ``[cols, k]`` basis of the top right-singular subspace of ``table``."""
    from prover.kernels import ops
    from prover.model import uniform

    w = table.detach().float().contiguous()
    q = _orthonormalise(uniform(seed, "teacher_init.subspace", (w.shape[1], k), 1.0))
    for _ in range(SUBSPACE_ROUNDS):
        q = _orthonormalise(ops.gemm(w.t(), ops.gemm(w, q)))
    return q


def init_narrow_embeddings(spec: TaskSpec, student: Any, teacher: Any) -> None:
    """Fill an electra student's embeddings and projection from the teacher's (see module doc)."""
    import torch

    from prover.kernels import ops

    emb_t, emb_s = teacher.embeddings, student.embeddings
    hidden, narrow = int(student.config.hidden_size), int(student.config.embedding_size)
    if hidden != int(teacher.config.hidden_size):
        raise SpecValidationError(f"student.init.method 'teacher' needs student.config.hidden_size "
                                  f"== teacher's ({teacher.config.hidden_size}), got {hidden}")
    if narrow > hidden:
        raise SpecValidationError(f"student.config.embedding_size ({narrow}) must not exceed "
                                  f"hidden_size ({hidden}) for a teacher-initialised student")
    max_pos = int(student.config.max_position_embeddings)
    if max_pos > emb_t.position_embeddings.weight.shape[0]:
        raise SpecValidationError(f"student.config.max_position_embeddings ({max_pos}) exceeds "
                                  f"the teacher's ({emb_t.position_embeddings.weight.shape[0]})")
    basis = subspace_basis(emb_t.word_embeddings.weight, narrow, spec.seed)
    with torch.no_grad():
        for name in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
            src = getattr(emb_t, name).weight.detach()
            dst = getattr(emb_s, name).weight
            dst.copy_(ops.gemm(src[: dst.shape[0]].contiguous(), basis))
        emb_s.LayerNorm.weight.fill_(1.0)
        emb_s.LayerNorm.bias.zero_()
        # LN over E gives unit variance per E-dim; spread over `hidden` dims it needs this gain
        gain = torch.tensor(math.sqrt(hidden / narrow), dtype=torch.float32)
        proj = student.embeddings_project
        proj.weight.copy_(basis * gain * emb_t.LayerNorm.weight.detach()[:, None])
        proj.bias.copy_(emb_t.LayerNorm.bias.detach())
