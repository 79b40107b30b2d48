"""Functions that select, join and rearrange: embedding, pad, cat, split, argmax, topk, dropout."""

from __future__ import annotations

import math

import numpy as np

from ..dialect import dtypes as dt
from .core import as_tensor, cast, constant, reduce, reshape, result_dtype, scalar_dim
from .elementwise import sqrt, where
from .tensor import Tensor
from .tracer import Traced, fail


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

    With max_norm, each row looked up whose norm_type-norm exceeds max_norm comes out
    scaled by max_norm / (norm + 1e-7), the row torch's embedding_renorm_ writes into the
    weight before the lookup (aten/src/ATen/native/Embedding.cpp); here nothing is
    mutated, only the result is.  norm_type: any p (p-norm), inf or -inf (max or min of
    |x|), 0 (the count of nonzeros), as torch.norm.

    input: any shape, an integer dtype; result: input.shape + (embedding_dim,), the weight's
    dtype.  Out-of-range indices are clamped (ptir.take), not an error; padding_idx,
    scale_grad_by_freq and sparse only matter for training.  TypeRuleError for non-integer
    indices, a weight not 2-D, or max_norm with a weight that is not float."""
    idx, w = as_tensor(input, op="embedding"), as_tensor(weight, op="embedding")
    if not idx.dtype.is_int:
        fail("embedding", f"indices dtype {idx.dtype} is not an integer type")
    if w.ndim != 2:
        fail("embedding", f"weight must be 2-D (num_embeddings, embedding_dim), got shape {w.shape}")
    if max_norm is not None and not w.dtype.is_float:
        fail("embedding", f"max_norm needs a float weight, not {w.dtype}")
    if idx.dtype not in dt.INDEX:
        idx = cast(idx, dt.i32)
    rows = w.tracer.op("take", w, idx, axis=0)
    if max_norm is None:
        return rows
    norm = _norm(rows, float(norm_type))
    scale = where(norm > max_norm, max_norm / (norm + 1e-7), 1.0)
    return rows * scale


def _norm(x: Tensor, p: float) -> Tensor:
    """torch.norm(x, p) over the last dim, kept as size 1."""
    a = abs(x)
    if p == math.inf:
        return reduce(a, "max", -1, keepdims=True, op="embedding")
    if p == -math.inf:
        return reduce(a, "min", -1, keepdims=True, op="embedding")
    if p == 0:
        return reduce(cast(x != 0, x.dtype), "sum", -1, keepdims=True, op="embedding")
    if p == 1:
        return reduce(a, "sum", -1, keepdims=True, op="embedding")
    if p == 2:
        return sqrt(reduce(x * x, "sum", -1, keepdims=True, op="embedding"))
    return reduce(a ** p, "sum", -1, keepdims=True, op="embedding") ** (1.0 / p)


def dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Identity: PTIR programs are for inference (training=True with p > 0 is an error).

    input: any shape and dtype, returned as it is.  TypeRuleError for p outside [0, 1] or
    training=True with p > 0."""
    if not 0.0 <= p <= 1.0:
        fail("dropout", f"probability p must be between 0 and 1, got {p}")
    if training and p > 0:
        fail("dropout", "training mode is not supported (inference only: pass training=False)")
    return as_tensor(input, op="dropout")


PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_source(mode: str, n: int, lo: int, hi: int) -> np.ndarray:
    """For each output position along a dim of size n padded by (lo, hi), the input
    position it copies: reflect mirrors about the edge elements (-1 -> 1), replicate
    repeats them (-1 -> 0), circular wraps (-1 -> n - 1); negative pads crop (circular
    wraps around what the crop leaves, as torch's _pad_circular does)."""
    j = np.arange(-lo, n + hi)
    if mode == "reflect":
        return np.where(j < 0, -j, np.where(j >= n, 2 * (n - 1) - j, j))
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    first, kept = max(-lo, 0), n + min(lo, 0) + min(hi, 0)
    return first + np.arange(-max(lo, 0), kept + max(hi, 0)) % kept


def pad(input, pad, mode: str = "constant", value=None) -> Tensor:
    """torch's pad list: (last dim low, last dim high, next-to-last low, ...); negative pads crop.

    mode "constant" fills with `value` (default 0, one `ptir.pad`); "reflect",
    "replicate" and "circular" copy input elements, as torch.nn.functional.pad's modes
    (x = [a, b, c] padded (2, 2): reflect [c, b, a, b, c, b, a], replicate
    [a, a, a, b, c, c, c], circular [b, c, a, b, c, a, b]), one `take` of the source
    positions per padded dim.  input: any shape and dtype, kept.  TypeRuleError for
    another mode, an odd or too long pad list, a crop below size 0, a reflect pad not
    smaller than the dim, a circular pad larger than it, or a replicate pad of an empty dim."""
    x = as_tensor(input, op="pad")
    if mode not in PAD_MODES:
        fail("pad", f"mode must be one of {', '.join(PAD_MODES)}, not {mode!r}")
    pad = list(pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        fail("pad", f"pad must hold pairs for at most {x.ndim} dims, got {len(pad)} entries")
    low, high = [0] * x.ndim, [0] * x.ndim
    for i in range(len(pad) // 2):
        low[x.ndim - 1 - i], high[x.ndim - 1 - i] = pad[2 * i], pad[2 * i + 1]
    for d, (lo, hi, n) in enumerate(zip(low, high, x.shape, strict=True)):
        if n + lo + hi < 0:
            fail("pad", f"padding ({lo}, {hi}) crops dim {d} of size {n} below zero")
        if mode == "reflect" and max(lo, hi) >= n and (lo or hi):
            fail("pad", f"reflect padding ({lo}, {hi}) must be smaller than dim {d} of size {n}")
        kept = n + min(lo, 0) + min(hi, 0)
        if mode == "circular" and max(lo, hi) > kept and (lo or hi):
            fail("pad", f"circular padding ({lo}, {hi}) must be at most the size {kept} dim {d} keeps")
        if mode == "replicate" and n == 0 and max(lo, hi) > 0:
            fail("pad", f"replicate padding ({lo}, {hi}) of dim {d} needs a non-empty dim")
    if mode == "constant":
        return x.tracer.op("pad", x, low=low, high=high, value=float(value or 0))
    for d, (lo, hi, n) in enumerate(zip(low, high, x.shape, strict=True)):
        if lo or hi:
            x = x.tracer.op("take", x, constant(_pad_source(mode, n, lo, hi), dt.i32, tracer=x.tracer), axis=d)
    return x


def cat(tensors, dim: int = 0) -> Tensor:
    """torch.cat: join along `dim`; dtypes promote, the other dims must match.

    tensors: a non-empty list of same-rank tensors (or arrays); the result's `dim` is the sum
    of theirs.  Tensors of shape (0,) are left out, whatever the others' rank, as torch's
    legacy rule has it (they still take part in the dtype); if all are, the result is the
    empty (0,).  TypeRuleError for an empty list, and from ptir.concat's rule for differing
    ranks or other dims, or `dim` out of range."""
    ts = [as_tensor(t, op="cat") for t in tensors]
    if not ts:
        fail("cat", "expects a non-empty list of tensors")
    d = result_dtype(ts)
    ts = [cast(t, d) for t in ts]
    kept = [t for t in ts if t.shape != (0,)] or ts[:1]
    # ranks, the dims outside `dim`, and `dim` itself: ptir.concat's rule (checked for one tensor too)
    if len(kept) == 1:
        kept[0].tracer.infer("concat", *kept, axis=dim, caller="cat")
        return kept[0]
    return kept[0].tracer.op("concat", *kept, axis=dim, caller="cat")


concat = cat


def narrow(input, dim: int, start, length: int) -> Tensor:
    """torch.narrow: `length` elements from `start` along `dim` (one `slice`).

    input: any shape and dtype, kept.  start: an int (negative counts from the end) or,
    as torch also takes, a rank-0 integer tensor, read at run time (one `dynamic_slice`):
    a start outside the dim is then clamped so that the span fits, where torch raises.
    TypeRuleError if `dim` is out of range or the span does not lie inside it."""
    x = as_tensor(input, op="narrow")
    axis = _dim(dim, x.ndim, "narrow")
    n = x.shape[axis]
    if isinstance(start, Traced | np.ndarray | np.generic):
        return _narrow_at(x, axis, as_tensor(start, tracer=x.tracer, op="narrow"), length)
    if -n <= start < 0:
        start += n
    if not 0 <= start <= start + length <= n:
        fail("narrow", f"start {start} and length {length} exceed dim {axis} of size {n}")
    if length == n:
        return x
    lo, hi = [0] * x.ndim, list(x.shape)
    lo[axis], hi[axis] = start, start + length
    return x.tracer.op("slice", x, start=lo, limit=hi)


def _narrow_at(x: Tensor, axis: int, start: Tensor, length: int) -> Tensor:
    """narrow at a start known only at run time: a dynamic_slice (negative starts count
    from the end, as in torch)."""
    n = x.shape[axis]
    if not start.dtype.is_int or start.ndim != 0:
        fail("narrow", f"start must be an int or a rank-0 integer tensor, got {start.type}")
    if not 0 <= length <= n:
        fail("narrow", f"length {length} exceeds dim {axis} of size {n}")
    start = cast(start, dt.i64 if start.dtype.bits > 32 else dt.i32)
    start = where(start < 0, start + n, start)
    zero = constant(0, start.dtype, (1,), x.tracer)
    starts = cat([zero] * axis + [reshape(start, (1,))] + [zero] * (x.ndim - 1 - axis))
    shape = list(x.shape)
    shape[axis] = length
    return x.tracer.op("dynamic_slice", x, starts, out=x.type.with_shape(shape), caller="narrow")


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

    input: any rank, any number dtype; a NaN counts as the maximum.  A rank-0 input (dim
    None, 0 or -1) gives 0 of rank 0.  TypeRuleError from ptir.argmax's rule for `dim`
    out of range or an empty dim."""
    x = as_tensor(input, op="argmax")
    if x.ndim == 0:
        x, dim, _ = scalar_dim(x, 0 if dim is None else dim, "argmax")
        return reshape(argmax(x, dim), ())
    if dim is None:
        y = argmax(reshape(x, (-1,)), 0)
        return reshape(y, (1,) * x.ndim) if keepdim else y
    _, (t,) = x.tracer.infer("argmax", x, axis=dim, keepdims=keepdim, caller="argmax")   # the rule's i32 result
    return x.tracer.op("argmax", x, axis=dim, keepdims=keepdim, out=t.with_dtype(dt.i64), caller="argmax")


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> tuple[Tensor, Tensor]:
    """(values, indices) of the k largest (or smallest) along `dim`, sorted; indices i64 as in torch.

    input: a number dtype; values keep it, both have size k along `dim`; ties take the
    smaller index.  A rank-0 input (dim 0 or -1, k 0 or 1) gives itself and index 0, as
    torch does.  TypeRuleError from ptir.top_k's rule for `dim` out of range or k outside
    [0, size]."""
    x = as_tensor(input, op="topk")
    if x.ndim == 0:
        x, dim, _ = scalar_dim(x, dim, "topk")
        if k not in (0, 1):
            fail("topk", f"k = {k} is out of range for a rank-0 input (0 or 1)")
        values, indices = topk(x, 1, dim, largest)
        return reshape(values, ()), reshape(indices, ())
    # the rank, `dim` and the range of k: ptir.top_k's rule
    values, indices = x.tracer.op("top_k", x, k=k, axis=dim, largest=largest, caller="topk")
    return values, cast(indices, dt.i64)
