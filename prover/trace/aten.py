"""The ATen tap of a recording: a ``TorchDispatchMode`` that turns the step's remaining ATen
ops (elementwise IEEE arithmetic, copies, embedding lookups and their backward) into ops or
index maps. Kernel calls are taken by ``prover.trace.taps`` and hidden from this tap."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from prover.trace.commit import TraceError
from prover.trace.graph import Slot
from prover.trace.kinds import OpKind, RefKind

if TYPE_CHECKING:
    from prover.trace.record import Recorder

_BINARY = {"add": OpKind.ADD, "sub": OpKind.SUB, "mul": OpKind.MUL, "div": OpKind.DIV}
_COPIES = {"clone", "_to_copy", "contiguous", "lift_fresh_copy"}
#: ATen ops that create values from nothing traced (fills) or move no float values.
_IGNORED = {"ones_like", "zeros_like", "empty_like", "full", "zeros", "ones", "empty",
            "scalar_tensor", "new_zeros", "new_ones", "new_empty", "new_full", "arange",
            "empty_strided", "new_empty_strided", "_local_scalar_dense", "detach", "set_",
            "is_same_size", "equal", "_has_compatible_shallow_copy_type"}


def _is_f32(x: Any) -> bool:
    return isinstance(x, torch.Tensor) and x.dtype == torch.float32


class AtenTap(TorchDispatchMode):
    """Active while a step is recorded; see the module doc."""

    def __init__(self, rec: Recorder) -> None:
        super().__init__()
        self.rec = rec

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        super().__exit__(et, ev, tb)

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        rec = self.rec
        name = func.overloadpacket.__name__
        pre: Slot | None = None
        if rec.depth == 0 and name.endswith("_") and _is_f32(args[0]):
            rec.freeze(args[0])
        if rec.depth == 0 and name.endswith("_") and _is_f32(args[0]) and name != "copy_":
            with rec.quiet():
                pre = rec.slot(args[0]) if rec.lookup(args[0]) is not None else \
                    _const_or_none(rec, args[0])
        out = func(*args, **kwargs)
        if rec.depth == 0:
            with rec.quiet():
                self._record(func, name, args, kwargs, out, pre)
        return out

    def _record(self, func: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                out: Any, pre: Slot | None) -> None:
        rec = self.rec
        base = name.rstrip("_")
        if name == "ge" and isinstance(args[1], (int, float)):
            rec.bools[out.untyped_storage().data_ptr()] = (args[0], float(args[1]))
            return
        if name == "embedding":
            rec.gather(out, args[0], args[1])
            return
        if not _is_f32(out) or name in _IGNORED:
            if name in ("fill_", "zero_") and rec.lookup(args[0]) is not None:
                raise TraceError(f"aten.{name} overwrote a traced tensor")
            return
        tensors = [a for a in args if isinstance(a, torch.Tensor)]
        if name == "stack":
            tensors = list(args[0])
        if not any(rec.lookup(t) is not None for t in tensors if _is_f32(t)) and pre is None:
            return  # values made from constants only: checked as constants where used
        if out.untyped_storage().data_ptr() in {t.untyped_storage().data_ptr()
                                                for t in tensors} and not name.endswith("_"):
            return  # a view: its consumers read it through their index maps
        label = f"aten.{name}"
        if name in _COPIES:
            rec.alias(out, args[0])
        elif name == "copy_":
            rec.alias(out, args[1])
        elif base in _BINARY or name == "rsub":
            alpha = kwargs.get("alpha", 1)
            if alpha != 1 or kwargs.get("rounding_mode") is not None:
                raise TraceError(f"{label} with alpha or a rounding mode is not traced")
            a, b = (args[1], args[0]) if name == "rsub" else (args[0], args[1])
            kind = OpKind.SUB if name == "rsub" else _BINARY[base]
            self._elementwise(kind, out, [a, b], pre if a is args[0] else None, label)
        elif name == "neg":
            self._elementwise(OpKind.NEG, out, [args[0]], None, label)
        elif name == "rsqrt":
            self._elementwise(OpKind.RSQRT, out, [args[0]], None, label)
        elif name == "clamp_min":
            self._elementwise(OpKind.MAX, out, [args[0], args[1]], None, label)
        elif name == "pow" and args[1] == 3:
            self._elementwise(OpKind.CUBE, out, [args[0]], None, label)
        elif name == "where":
            cond = rec.bools.get(args[0].untyped_storage().data_ptr())
            if cond is None:
                raise TraceError("aten.where on a condition other than x >= bound")
            self._elementwise(OpKind.CLAMP_MIN_BWD, out, [cond[0], cond[1], args[1]], None,
                              label, zero=args[2])
        elif name == "sum" and len(args) >= 2:
            self._sum(out, args[0], list(args[1]), label)
        elif name == "constant_pad_nd":
            pads = list(args[1])
            if args[0].dim() != 1 or pads[0] != 0 or (len(args) > 2 and args[2] != 0):
                raise TraceError(f"{label} other than zeros after a 1-D tensor is not traced")
            rec.add_op(OpKind.PAD, out, [rec.slot(args[0])], (args[0].shape[0],), label)
        elif name == "stack" and all(t.dim() == 0 for t in args[0]):
            rec.add_op(OpKind.STACK, out, [rec.slot(t) for t in args[0]], (), label)
        elif name == "embedding_dense_backward":
            self._embed_bwd(out, args, label)
        else:  # fine while nothing the step keeps reads it (the pooler's tanh)
            rec.poison[out.untyped_storage().data_ptr()] = str(func)
            rec.keep(out)  # its memory must not be reused while the step is recorded

    def _elementwise(self, kind: OpKind, out: torch.Tensor, xs: list[Any], pre: Slot | None,
                     label: str, zero: Any = None) -> None:
        """An elementwise op; a dense non-contiguous output is taken in its memory order."""
        rec = self.rec
        if zero is not None and not (isinstance(zero, torch.Tensor) and float(zero) == 0.0):
            raise TraceError(f"{label}: the else-branch is not zero")
        perm = sorted(range(out.dim()), key=lambda d: -out.stride()[d])
        slots = []
        for i, x in enumerate(xs):
            if i == 0 and pre is not None:
                slots.append(pre)
                continue
            if isinstance(x, torch.Tensor):  # a 0-dim operand becomes a stride-0 view
                x = x.expand(out.shape).permute(perm)
            slots.append(rec.slot(x))
        if pre is not None and pre.ref.kind is not RefKind.CONST and pre.levels:
            raise TraceError(f"{label}: an in-place op on a view is not traced")
        rec.add_op(kind, out.permute(perm).contiguous(), slots, (), label)
        rec.register(out, rec.graph_ref_last())

    def _sum(self, out: torch.Tensor, x: torch.Tensor, dims: list[int], label: str) -> None:
        """ATen's sum over dims shorter than 16 elements adds them in ascending order."""
        dims = [d % x.dim() for d in dims]
        n = 1
        for d in dims:
            n *= x.shape[d]
        if n >= 16:
            raise TraceError(f"{label} over {n} elements (ATen's cascade order) is not traced")
        keep = [d for d in range(x.dim()) if d not in dims]
        xv = x.permute(*keep, *dims).reshape(-1, n) if x.is_contiguous() else None
        if xv is None or xv.untyped_storage().data_ptr() != x.untyped_storage().data_ptr():
            raise TraceError(f"{label} over a layout that is not a view")
        rec = self.rec
        rec.add_op(OpKind.SUM, out.contiguous(), [rec.slot(xv)], (xv.shape[0], n), label)
        rec.register(out, rec.graph_ref_last())

    def _embed_bwd(self, out: torch.Tensor, args: tuple[Any, ...], label: str) -> None:
        grad, ids, num_weights, padding_idx = args[0], args[1], args[2], args[3]
        rec = self.rec
        h = grad.shape[-1]
        n = ids.numel()
        entry = rec.lookup(ids)
        if entry is not None and entry.ref.kind is RefKind.BATCH:
            sid = rec.slot(ids.reshape(-1))
        else:
            flat = ids.reshape(-1)
            if not bool((flat == torch.arange(n)).all()) and not bool((flat == 0).all()):
                raise TraceError(f"{label}: ids that are neither the batch, zeros nor a range")
            sid = rec.batch_side(flat)
        sg = rec.slot(grad.reshape(n, h))
        rec.add_op(OpKind.EMBED_BWD, out, [sid, sg], (int(num_weights), h, n, int(padding_idx)),
                   label)


def _const_or_none(rec: Recorder, t: torch.Tensor) -> Slot | None:
    try:
        return rec.slot(t)
    except TraceError:
        return None
