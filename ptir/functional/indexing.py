"""numpy-style indexing of traced tensors (`Tensor.__getitem__`): basic indexing as one
`slice` and a `reshape`, negative steps as a reversing `take`, one tensor index as a `take`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..dialect import dtypes as dt
from .core import as_tensor, cast, compare, constant, reshape
from .tracer import Traced, fail

if TYPE_CHECKING:
    from .tensor import Tensor


def _expand_ellipsis(index: tuple, rank: int) -> tuple:
    if sum(i is Ellipsis for i in index) > 1:
        fail("getitem", "an index can only have a single ellipsis ('...')")
    used = sum(i is not None and i is not Ellipsis for i in index)
    if used > rank:
        fail("getitem", f"too many indices for a tensor of rank {rank}: {used}")
    # identity tests: `in` and `.index` would compare tensors with ==
    k = next((k for k, i in enumerate(index) if i is Ellipsis), None)
    if k is None:
        return index + (slice(None),) * (rank - used)
    return index[:k] + (slice(None),) * (rank - used) + index[k + 1:]


def getitem(x: Tensor, index) -> Tensor:
    """numpy basic indexing (ints, slices with any step, None, ...) and one integer tensor
    or array index (a `take` along its dim; negative entries count from the end).

    TypeRuleError (op "getitem") for an int out of range, too many indices, two ellipses,
    two tensor indices or a non-integer tensor index."""
    index = _expand_ellipsis(index if isinstance(index, tuple) else (index,), x.ndim)
    start, limit, stride, flips, shape, take = [], [], [], [], [], None
    dim = 0
    for item in index:
        if item is None:
            shape.append(1)
            continue
        n = x.shape[dim]
        if isinstance(item, int | np.integer) and not isinstance(item, bool):
            if not -n <= item < n:
                fail("getitem", f"index {item} is out of range for dim {dim} of size {n}")
            i = int(item) % n
            start, limit, stride = start + [i], limit + [i + 1], stride + [1]
        elif isinstance(item, slice):
            s, e, st = item.indices(n)
            count = len(range(s, e, st))
            if st < 0 and count:   # slice the covered range forward, then reverse it with `take`
                s, e, st = s + (count - 1) * st, s + 1, -st
                flips.append((len(shape), count))
            elif count == 0:
                s = e = 0
            start, limit, stride = start + [s], limit + [max(e, s)], stride + [st]
            shape.append(count)
        elif isinstance(item, Traced | np.ndarray):
            if take is not None:
                fail("getitem", "only one tensor index is supported")
            start, limit, stride = start + [0], limit + [n], stride + [1]
            take = (len(shape), dim, item)
            shape.append(n)
        else:
            fail("getitem", f"unsupported index {item!r}")
        dim += 1
    y = x
    if (start, limit, stride) != ([0] * x.ndim, list(x.shape), [1] * x.ndim):
        y = x.tracer.op("slice", x, start=start, limit=limit, stride=stride)
    y = reshape(y, shape, "getitem")
    for axis, count in flips:
        y = y.tracer.op("take", y, constant(np.arange(count - 1, -1, -1), dt.i32, tracer=y.tracer), axis=axis)
    if take is not None:
        axis, dim, idx = take
        idx = as_tensor(idx, tracer=y.tracer)
        if not idx.dtype.is_int:
            fail("getitem", f"a tensor index must have an integer dtype, not {idx.dtype}")
        # negative indices count from the end, as in numpy
        idx = cast(idx, dt.i32 if idx.dtype.bits <= 32 else dt.i64)
        idx = y.tracer.op("select", compare("lt", idx, 0), idx + x.shape[dim], idx)
        y = y.tracer.op("take", y, idx, axis=axis)
    return y
