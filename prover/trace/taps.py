"""The kernel taps of a recording: each fixed-order kernel call (``prover.kernels.ops``) and the
gradient clip become ops of their kinds (``prover.trace.kinds``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from prover.trace.commit import TraceError
from prover.trace.graph import Level, Ref, Slot
from prover.trace.kinds import MapLevel, OpKind

if TYPE_CHECKING:
    from prover.trace.record import Recorder

#: Elements per block of the repfma blocked sum (``RK_SUMBLK`` in repkern_gemm.h).
FSUM_BLOCK = 4096


class KernelTaps:
    """Context manager: wraps ``prover.kernels.ops``' kernels and the clip for a recorder."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self._saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> KernelTaps:
        from prover import kernels
        from prover.kernels import ops, training

        for name in ("gemm", "sum_rows", "sum_last", "fsum", "softmax", "softmax_backward",
                     "log_softmax", "log_softmax_backward", "layer_norm", "layer_norm_backward",
                     "gelu", "gelu_backward", "exp", "log", "adamw_"):
            self._wrap(ops, name, getattr(self, "_" + name.rstrip("_")))
        self._wrap(kernels, "clip_grad_norm_", self._clip)
        self._wrap(training, "clip_grad_norm_", self._clip)
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        for mod, name, fn in reversed(self._saved):
            setattr(mod, name, fn)

    def _wrap(self, mod: Any, name: str, tap: Callable[..., Any]) -> None:
        orig = getattr(mod, name)
        self._saved.append((mod, name, orig))
        rec = self.rec

        def untraced(*args: Any, **kwargs: Any) -> Any:
            # the kernel's own ATen calls are never recorded (the ATen tap ignores everything
            # below depth 0): skipping the Python dispatch for them spares the tap's per-call
            # cost (about 1,800 of a tiny step's 2,600 ATen calls)
            with torch._C._DisableTorchDispatch():
                return orig(*args, **kwargs)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if rec.depth:
                return orig(*args, **kwargs)
            with rec.quiet():
                return tap(untraced, *args, **kwargs)

        setattr(mod, name, wrapped)

    # ---- GEMM and sums --------------------------------------------------------------------
    def _gemm(self, orig: Any, a: torch.Tensor, b: torch.Tensor,
              bias: torch.Tensor | None = None) -> torch.Tensor:
        rec = self.rec
        slots = [rec.slot(a), rec.slot(b)] + ([rec.slot(bias)] if bias is not None else [])
        out = orig(a, b, bias)
        m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
        nb = out.numel() // max(m * n, 1)
        rec.add_op(OpKind.GEMM, out, slots, (nb, m, n, k, int(rec.fused), int(bias is not None)),
                   "gemm")
        return out

    def _sum_rows(self, orig: Any, x: torch.Tensor) -> torch.Tensor:
        slot = self.rec.slot(x.t())
        out = orig(x)
        self.rec.add_op(OpKind.SUM, out, [slot], (x.shape[1], x.shape[0]), "sum_rows")
        return out

    def _sum_last(self, orig: Any, x: torch.Tensor) -> torch.Tensor:
        slot = self.rec.slot(x)
        out = orig(x)
        n = x.shape[-1]
        self.rec.add_op(OpKind.SUM, out, [slot], (x.numel() // max(n, 1), n), "sum_last")
        return out

    def _fsum(self, orig: Any, x: torch.Tensor, square: bool = False) -> torch.Tensor:
        out = orig(x, square)
        ref = self.fsum_ops(orig, x, square, "fsum")
        top = self.rec.values[ref.index]
        if not np.array_equal(top.view(np.uint32), out.reshape(-1).numpy().view(np.uint32)):
            raise TraceError("the blocked sum's block ops do not give the kernel's sum")
        self.rec.register(out, ref)
        return out

    def fsum_ops(self, orig: Any, x: torch.Tensor, square: bool, label: str) -> Ref:
        """The ops of ``rk_fsum(x)``: one FSUM(_SQ) per level of blocks; the last op's ref."""
        rec = self.rec
        n = x.shape[-1] if x.dim() else 1
        rows = x.numel() // max(n, 1)
        kind = OpKind.FSUM_SQ if square else OpKind.FSUM
        slot = rec.slot(x)
        nblocks = -(-n // FSUM_BLOCK)
        if nblocks == 1:
            val = orig(x, square)
            return rec.add_op(kind, val.reshape(-1).numpy(), [slot],
                              (rows, n, FSUM_BLOCK, 1), label, shape=tuple(x.shape[:-1]))
        # the kernel's partial sums: each block zero-padded (adding +0 to a lane changes nothing)
        padded = torch.nn.functional.pad(x.reshape(rows, n), (0, nblocks * FSUM_BLOCK - n))
        part = orig(padded.reshape(rows * nblocks, FSUM_BLOCK), square).reshape(rows, nblocks)
        rec.add_op(kind, part, [slot], (rows, n, FSUM_BLOCK, nblocks), label + "/blocks")
        return self.fsum_ops(orig, part.reshape(*x.shape[:-1], nblocks), False, label)

    # ---- rows -------------------------------------------------------------------------------
    def _rows(self, kind: OpKind, orig: Any, *xs: torch.Tensor) -> torch.Tensor:
        slots = [self.rec.slot(x) for x in xs]
        out = orig(*xs)
        n = xs[0].shape[-1]
        self.rec.add_op(kind, out, slots, (xs[0].numel() // max(n, 1), n), kind.name.lower())
        return out

    def _softmax(self, orig: Any, x: torch.Tensor) -> torch.Tensor:
        return self._rows(OpKind.SOFTMAX, orig, x)

    def _softmax_backward(self, orig: Any, y: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
        return self._rows(OpKind.SOFTMAX_BWD, orig, y, dy)

    def _log_softmax(self, orig: Any, x: torch.Tensor) -> torch.Tensor:
        return self._rows(OpKind.LOGSOFTMAX, orig, x)

    def _log_softmax_backward(self, orig: Any, y: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
        return self._rows(OpKind.LOGSOFTMAX_BWD, orig, y, dy)

    def _layer_norm(self, orig: Any, x: torch.Tensor, w: torch.Tensor | None,
                    b: torch.Tensor | None, eps: float) -> tuple[torch.Tensor, ...]:
        rec = self.rec
        if w is None or b is None:
            raise TraceError("layer norms without weight and bias are not traced")
        sx, sw, sb = rec.slot(x), rec.slot(w), rec.slot(b)
        y, mean, rstd = orig(x, w, b, eps)
        n = x.shape[-1]
        rows = x.numel() // n
        eps_bits = int(np.float32(eps).view(np.uint32))
        rm = rec.add_op(OpKind.LN_MEAN, mean, [sx], (rows, n), "layer_norm/mean")
        rs = rec.add_op(OpKind.LN_RSTD, rstd, [sx, Slot(rm, (rows,))], (rows, n, eps_bits),
                        "layer_norm/rstd")
        rec.add_op(OpKind.LN_OUT, y, [sx, Slot(rm, (rows,)), Slot(rs, (rows,)), sw, sb],
                   (rows, n, 1), "layer_norm")
        return y, mean, rstd

    def _layer_norm_backward(self, orig: Any, x: torch.Tensor, w: torch.Tensor | None,
                             mean: torch.Tensor, rstd: torch.Tensor,
                             dy: torch.Tensor) -> tuple[Any, ...]:
        rec = self.rec
        if w is None:
            raise TraceError("layer norms without a weight are not traced")
        sx, sw, sm, sr, sd = (rec.slot(t) for t in (x, w, mean, rstd, dy))
        dx, dw, db = orig(x, w, mean, rstd, dy)
        n = x.shape[-1]
        rows = x.numel() // n
        rec.add_op(OpKind.LN_BWD_DX, dx, [sx, sw, sm, sr, sd], (rows, n, 1), "layer_norm/dx")
        rec.add_op(OpKind.LN_BWD_DW, dw, [sx, sm, sr, sd], (rows, n), "layer_norm/dw")
        rec.add_op(OpKind.LN_BWD_DB, db, [sd], (rows, n), "layer_norm/db")
        return dx, dw, db

    # ---- elementwise kernels ----------------------------------------------------------------
    def _ew(self, kind: OpKind, orig: Any, *xs: torch.Tensor) -> torch.Tensor:
        slots = [self.rec.slot(x) for x in xs]
        out = orig(*xs)
        self.rec.add_op(kind, out, slots, (), kind.name.lower())
        return out

    def _gelu(self, orig: Any, x: torch.Tensor) -> torch.Tensor:
        return self._ew(OpKind.GELU, orig, x)

    def _gelu_backward(self, orig: Any, x: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
        return self._ew(OpKind.GELU_BWD, orig, x, dy)

    def _exp(self, orig: Any, x: torch.Tensor) -> torch.Tensor:
        return self._ew(OpKind.EXP, orig, x)

    def _log(self, orig: Any, x: torch.Tensor) -> torch.Tensor:
        return self._ew(OpKind.LOG, orig, x)

    # ---- the update -------------------------------------------------------------------------
    def _adamw(self, orig: Any, p: torch.Tensor, m: torch.Tensor, v: torch.Tensor,
               g: torch.Tensor, *, decay: float, beta1: float, beta2: float, step_size: float,
               bc2_sqrt: float, eps: float) -> None:
        rec = self.rec
        slots = [rec.slot(t) for t in (p, m, v, g)]
        group = rec.group_of.get(p.untyped_storage().data_ptr(), 0)
        for name, val in ((f"decay.g{group}", decay), ("beta1", beta1), ("omb1", 1.0 - beta1),
                          ("beta2", beta2), ("omb2", 1.0 - beta2), ("stepSize", step_size),
                          ("bc2Sqrt", bc2_sqrt), ("eps", eps)):
            slots.append(rec.scalar(name, val))
        for t in (p, m, v):
            rec.freeze(t)
        orig(p, m, v, g, decay=decay, beta1=beta1, beta2=beta2, step_size=step_size,
             bc2_sqrt=bc2_sqrt, eps=eps)
        for kind, t in ((OpKind.ADAMW_M, m), (OpKind.ADAMW_V, v), (OpKind.ADAMW_P, p)):
            rec.add_op(kind, t, slots, (), kind.name.lower())

    def _clip(self, orig: Any, grads: list[torch.Tensor], clip: float) -> float:
        from prover.kernels import ops

        rec = self.rec
        pre = [rec.slot(g) for g in grads]
        if rec.fused:
            parts = [self.fsum_ops(ops.fsum, g.reshape(-1), True, "clip/squares")
                     for g in grads]
            total_t = torch.tensor([float(rec.values[r.index][0]) for r in parts],
                                   dtype=torch.float32)
            rec.add_op(OpKind.STACK, total_t, [Slot(r, ()) for r in parts], (), "clip/stack")
            total = self.fsum_ops(ops.fsum, total_t, False, "clip/total")
        else:  # repcpu: the clip's own ATen ops and ascending block sums, recorded as they run
            from prover.kernels.training import fixed_sum

            rec.depth -= 1
            try:
                total_t = fixed_sum(torch.stack([fixed_sum(g * g) for g in grads]))
            finally:
                rec.depth += 1
            entry = rec.lookup(total_t)
            if entry is None:
                raise TraceError("the clip's total comes from no op")
            total = entry.ref
        for g in grads:
            rec.freeze(g)
        norm = orig(grads, clip)
        tval = float(rec.values[total.index][0])
        if math.sqrt(tval) != norm and not (math.isnan(tval) and math.isnan(norm)):
            raise TraceError("the traced clip total does not give the kernel's norm")
        coef = np.float32(min(clip / (math.sqrt(tval) + 1e-6), 1.0))
        cref = rec.add_op(OpKind.CLIP_COEF, np.array([coef], dtype=np.float32),
                          [Slot(total, (1,))], (int(np.float64(clip).view(np.int64)),),
                          "clip/coef", shape=(1,))
        for g, s in zip(grads, pre, strict=True):
            rec.add_op(OpKind.MUL, g, [s, Slot(cref, tuple(g.shape), (_bcast(g),))], (),
                       "clip/scale")
        return norm


def _bcast(g: torch.Tensor) -> Level:
    """Every element of ``g``'s shape reads element 0 (a broadcast scalar)."""
    return Level(MapLevel.STRIDED, 0, tuple(g.shape), (0,) * g.dim())
