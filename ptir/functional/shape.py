"""Functions that select, join and rearrange: embedding, pad, cat, split, argmax, topk, dropout."""

from __future__ import annotations

from ..dialect import dtypes as dt
from .core import as_tensor, cast, reshape, result_dtype
from .tensor import Tensor
from .tracer import fail


def _dim(dim: int, rank: int, op: str) -> int:
    """`dim` as an index, counted from the end when negative: narrow and split need it to
    build their `slice`, which has no axis attribute for the registry to check."""
    if not -rank <= dim < rank:
        fail(op, f"argument 'dim': axis {dim} is out of range for rank {rank}")
    return dim % rank


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False) -> Tensor:
    """Rows of `weight` (num_embeddings, embedding_dim) at the integer `input` indices (a `take`),
    as torch.nn.functional.embedding at inference.

    input: any shape, an integer dtype; result: input.shape + (embedding_dim,), the weight's
    dtype.  Out-of-range indices are clamped (ptir.take), not an error; padding_idx only
    matters for training.  TypeRuleError for non-integer indices, a weight not 2-D, or max_norm."""
    idx, w = as_tensor(input, op="embedding"), as_tensor(weight, op="embedding")
    if max_norm is not None:
        fail("embedding", "max_norm is not supported (it renormalises the weights in place)")
    if not idx.dtype.is_int:
        fail("embedding", f"indices dtype {idx.dtype} is not an integer type")
    if w.ndim != 2:
        fail("embedding", f"weight must be 2-D (num_embeddings, embedding_dim), got shape {w.shape}")
    if idx.dtype not in dt.INDEX:
        idx = cast(idx, dt.i32)
    return w.tracer.op("take", w, idx, axis=0)


def dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Identity: PTIR programs are for inference (training=True with p > 0 is an error).

    input: any shape and dtype, returned as it is.  TypeRuleError for p outside [0, 1] or
    training=True with p > 0."""
    if not 0.0 <= p <= 1.0:
        fail("dropout", f"probability p must be between 0 and 1, got {p}")
    if training and p > 0:
        fail("dropout", "training mode is not supported (inference only: pass training=False)")
    return as_tensor(input, op="dropout")


def pad(input, pad, mode: str = "constant", value=None) -> Tensor:
    """torch's pad list: (last dim low, last dim high, next-to-last low, ...); negative pads crop.

    input: any shape and dtype, kept; value (default 0) fills the padding.  TypeRuleError
    for a mode other than "constant", an odd or too long pad list, or a crop below size 0."""
    x = as_tensor(input, op="pad")
    if mode != "constant":
        fail("pad", f'only mode "constant" is supported, not {mode!r}')
    pad = list(pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        fail("pad", f"pad must hold pairs for at most {x.ndim} dims, got {len(pad)} entries")
    low, high = [0] * x.ndim, [0] * x.ndim
    for i in range(len(pad) // 2):
        low[x.ndim - 1 - i], high[x.ndim - 1 - i] = pad[2 * i], pad[2 * i + 1]
    for d, (lo, hi, n) in enumerate(zip(low, high, x.shape, strict=True)):
        if n + lo + hi < 0:
            fail("pad", f"padding ({lo}, {hi}) crops dim {d} of size {n} below zero")
    return x.tracer.op("pad", x, low=low, high=high, value=float(value or 0))


def cat(tensors, dim: int = 0) -> Tensor:
    """torch.cat: join along `dim`; dtypes promote, the other dims must match.

    tensors: a non-empty list of same-rank tensors (or arrays); the result's `dim` is the sum
    of theirs.  TypeRuleError for an empty list, and from ptir.concat's rule for differing
    ranks or other dims, or `dim` out of range."""
    ts = [as_tensor(t, op="cat") for t in tensors]
    if not ts:
        fail("cat", "expects a non-empty list of tensors")
    d = result_dtype(ts)
    ts = [cast(t, d) for t in ts]
    # ranks, the dims outside `dim`, and `dim` itself: ptir.concat's rule (checked for one tensor too)
    if len(ts) == 1:
        ts[0].tracer.infer("concat", *ts, axis=dim, caller="cat")
        return ts[0]
    return ts[0].tracer.op("concat", *ts, axis=dim, caller="cat")


concat = cat


def narrow(input, dim: int, start: int, length: int) -> Tensor:
    """torch.narrow: `length` elements from `start` along `dim` (one `slice`).

    input: any shape and dtype, kept.  TypeRuleError if `dim` is out of range or the span
    does not lie inside it."""
    x = as_tensor(input, op="narrow")
    axis = _dim(dim, x.ndim, "narrow")
    if not 0 <= start <= start + length <= x.shape[axis]:
        fail("narrow", f"start {start} and length {length} exceed dim {axis} of size {x.shape[axis]}")
    if length == x.shape[axis]:
        return x
    lo, hi = [0] * x.ndim, list(x.shape)
    lo[axis], hi[axis] = start, start + length
    return x.tracer.op("slice", x, start=lo, limit=hi)


def split(tensor, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """torch.split: chunks of one size (the last may be smaller) or of the listed sizes.

    Returns a tuple of `narrow`s of the input along `dim`.  TypeRuleError for a size <= 0,
    sections that do not add up to the dim's size, or `dim` out of range."""
    x = as_tensor(tensor, op="split")
    axis = _dim(dim, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0:
            fail("split", f"split size must be positive, got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n or any(s < 0 for s in sizes):
            fail("split", f"sections {sizes} do not add up to dim {axis} of size {n}")
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    return tuple(narrow(x, axis, s, k) for s, k in zip(starts, sizes, strict=True))


def argmax(input, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the first maximum (i64, as torch); dim=None searches the flattened tensor.

    input: rank >= 1, any number dtype; a NaN counts as the maximum.  TypeRuleError for a
    rank-0 input, or from ptir.argmax's rule for `dim` out of range or an empty dim."""
    x = as_tensor(input, op="argmax")
    if x.ndim == 0:
        fail("argmax", "input must have rank >= 1")
    if dim is None:
        y = argmax(reshape(x, (-1,)), 0)
        return reshape(y, (1,) * x.ndim) if keepdim else y
    _, (t,) = x.tracer.infer("argmax", x, axis=dim, keepdims=keepdim, caller="argmax")   # the rule's i32 result
    return x.tracer.op("argmax", x, axis=dim, keepdims=keepdim, out=t.with_dtype(dt.i64), caller="argmax")


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> tuple[Tensor, Tensor]:
    """(values, indices) of the k largest (or smallest) along `dim`, sorted; indices i64 as in torch.

    input: rank >= 1, a number dtype; values keep it, both have size k along `dim`; ties
    take the smaller index.  TypeRuleError from ptir.top_k's rule for `dim` out of range
    or k outside [0, size]."""
    x = as_tensor(input, op="topk")
    # the rank, `dim` and the range of k: ptir.top_k's rule
    values, indices = x.tracer.op("top_k", x, k=k, axis=dim, largest=largest, caller="topk")
    return values, cast(indices, dt.i64)
