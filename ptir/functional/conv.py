"""Convolution and pooling over 2-D images, NCHW like torch or NHWC (`layout="nhwc"`)."""

from __future__ import annotations

import math

import numpy as np

from ..dialect import dtypes as dt
from .core import as_tensor, cast, constant, mean, reshape, transpose
from .elementwise import maximum, where
from .tensor import Tensor
from .tracer import fail

LAYOUTS = ("nchw", "nhwc")


def _pair(v, name: str, op: str) -> tuple[int, int]:
    """An int or a sequence of one or two ints as a pair (torch repeats a single value)."""
    t = (v, v) if isinstance(v, int) else tuple(v) if isinstance(v, tuple | list) else None
    if t is not None and len(t) == 1:
        t = t * 2
    if t is None or len(t) != 2 or not all(isinstance(i, int) for i in t):
        fail(op, f"{name} must be an int or a tuple of one or two ints, got {v!r}")
    return t


def _image(input, layout: str, op: str, ints: bool = False) -> tuple[Tensor, bool]:
    """The input as a batched 4-D image, and whether it came unbatched (3-D); a float
    dtype (or an integer one, with `ints`)."""
    if layout not in LAYOUTS:
        fail(op, f'layout must be "nchw" or "nhwc", not {layout!r}')
    x = as_tensor(input, op=op)
    if x.ndim not in (3, 4):
        fail(op, f"input must be 4-D ({layout.upper()}) or 3-D unbatched, got shape {x.shape}")
    if not (x.dtype.is_float or ints and x.dtype.is_int):
        fail(op, f"input dtype {x.dtype} is not a float{' or integer' if ints else ''} type")
    return (reshape(x, (1,) + x.shape), True) if x.ndim == 3 else (x, False)


def _unbatch(y: Tensor, unbatched: bool) -> Tensor:
    return reshape(y, y.shape[1:]) if unbatched else y


def _hw(x: Tensor, layout: str) -> tuple[int, int]:
    return x.shape[2:] if layout == "nchw" else x.shape[1:3]


def _spatial_axes(layout: str) -> tuple[int, int]:
    return (2, 3) if layout == "nchw" else (1, 2)


def _crop(x: Tensor, layout: str, pairs) -> tuple[Tensor, list[tuple[int, int]]]:
    """x without the trailing rows and columns no window reads (a negative high padding),
    and the padding left to apply.  Windows that stop short of the padded input's end made
    IREE 3.13 fail to compile a reduce_window or convolution ("'linalg.generic' op
    inferred input/output operand #1 has shape's dimension #0 to be 5, but found 3"), so
    every window op here is given an input its last window ends exactly at."""
    if all(hi >= 0 for _, hi in pairs):
        return x, list(pairs)
    limit = list(x.shape)
    for axis, (_, hi) in zip(_spatial_axes(layout), pairs, strict=True):
        limit[axis] += min(hi, 0)
    x = x.tracer.op("slice", x, start=[0] * x.ndim, limit=limit)
    return x, [(lo, max(hi, 0)) for lo, hi in pairs]


def _exact_high(size: int, lo: int, hi: int, extent: int, stride: int) -> int:
    """The high padding at which the last window of `extent` ends exactly at the padded
    input's end (negative: that many trailing elements are never read)."""
    if size + lo + hi < extent:
        return hi                # too small: the op's rule says so
    out = (size + lo + hi - extent) // stride + 1
    return (out - 1) * stride + extent - size - lo


def _conv_padding(padding, kernel, dilation, stride, op: str) -> list[tuple[int, int]]:
    if padding == "valid":
        return [(0, 0), (0, 0)]
    if padding == "same":
        if stride != (1, 1):
            fail(op, 'padding="same" needs stride 1, as in torch')
        # torch puts the odd element of the total padding at the end
        totals = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
        return [(t // 2, t - t // 2) for t in totals]
    if isinstance(padding, str):
        fail(op, f'padding must be an int, a pair, "same" or "valid", not {padding!r}')
    return [(p, p) for p in _pair(padding, "padding", op)]


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1,
           layout: str = "nchw") -> Tensor:
    """torch's conv2d. NCHW input takes OIHW weights; NHWC input takes HWIO weights (the
    channels-last form the conv op reads directly).

    input: (N, C_in, H, W) or unbatched (C_in, H, W), a float dtype, kept (f16 and bf16
    summed in f32, as torch does); weight: (C_out, C_in / groups, kH, kW) as OIHW; bias:
    (C_out,).  Output size per spatial dim: (size + pads - dilation (k - 1) - 1) // stride
    + 1.  TypeRuleError from ptir.conv's rule for channels
    not matching groups or a kernel larger than the padded input; from conv2d itself for
    the layout, rank, dtype, bias shape, or padding="same" with a stride."""
    x, unbatched = _image(input, layout, "conv2d")
    w = as_tensor(weight, op="conv2d")
    if w.ndim != 4:
        fail("conv2d", f"weight must be 4-D ({'OIHW' if layout == 'nchw' else 'HWIO'}), got shape {w.shape}")
    if w.dtype != x.dtype:
        fail("conv2d", f"input dtype {x.dtype} does not match weight dtype {w.dtype}")
    o, kernel = (w.shape[0], w.shape[2:]) if layout == "nchw" else (w.shape[3], w.shape[:2])
    stride, dilation = _pair(stride, "stride", "conv2d"), _pair(dilation, "dilation", "conv2d")
    pads = _conv_padding(padding, kernel, dilation, stride, "conv2d")
    pads = [(lo, _exact_high(n, lo, hi, d * (k - 1) + 1, s)) for n, (lo, hi), k, d, s
            in zip(_hw(x, layout), pads, kernel, dilation, stride, strict=True)]
    x, pads = _crop(x, layout, pads)
    dtype = x.dtype
    if dtype in (dt.f16, dt.bf16):   # summed in f32 and rounded once, as torch does (IREE summed in f16)
        x, w = cast(x, dt.f32), cast(w, dt.f32)
    # channels, groups and the kernel's extent against the padded input: ptir.conv's rule
    y = x.tracer.op("conv", x, w, layout=layout, strides=stride, padding=pads, dilation=dilation, groups=groups,
                    caller="conv2d")
    if bias is not None:
        b = as_tensor(bias, op="conv2d")
        if b.shape != (o,):
            fail("conv2d", f"bias shape {b.shape} does not match out_channels {o}")
        y = y + cast(reshape(b, (o, 1, 1)) if layout == "nchw" else b, y.dtype)
    return _unbatch(cast(y, dtype), unbatched)


def _window(layout: str, hw) -> list:
    """A per-dim list for reduce_window from the two spatial entries (1 for batch and channels)."""
    return [1, 1, *hw] if layout == "nchw" else [1, *hw, 1]


def _padding_pairs(layout: str, pairs) -> list:
    return [(0, 0), (0, 0), *pairs] if layout == "nchw" else [(0, 0), *pairs, (0, 0)]


def _pool_geometry(x, layout, kernel_size, stride, padding, dilation, ceil_mode, op):
    """Window, strides, dilation, symmetric padding, output size and per-dim (low, high)
    padding of a pooling, torch's output size rule: (size + 2 pad - dilation (k - 1) - 1)
    / stride + 1, rounded down (up with `ceil_mode`, the last window starting inside the
    input or the left padding).  The high padding makes the last window end exactly at
    the padded input's end; negative, it drops trailing elements no window reads."""
    kernel = _pair(kernel_size, "kernel_size", op)
    empty = stride is None or isinstance(stride, tuple | list) and not stride   # torch: stride=() is kernel_size
    stride = kernel if empty else _pair(stride, "stride", op)
    pad, dil = _pair(padding, "padding", op), _pair(dilation, "dilation", op)
    outs, pairs = [], []
    for size, k, s, p, d in zip(_hw(x, layout), kernel, stride, pad, dil, strict=True):
        if k < 1 or s < 1 or d < 1 or p < 0:
            fail(op, f"kernel_size {kernel}, stride {stride} and dilation {dil} must be positive, padding {pad} "
                     "not negative")
        if p > k // 2:
            fail(op, f"padding {p} should be at most half of the kernel size {k}")
        extent = d * (k - 1) + 1
        if size + 2 * p < extent:
            what = f"kernel size {k}" if d == 1 else f"dilated kernel extent {extent}"
            fail(op, f"{what} is larger than the padded input {size + 2 * p}")
        out = (size + 2 * p - extent) // s + 1
        if ceil_mode:
            out = -(-(size + 2 * p - extent) // s) + 1
            out -= (out - 1) * s >= size + p   # the last window must start inside the input or left padding
        outs.append(out)
        pairs.append((p, (out - 1) * s + extent - size - p))
    return kernel, stride, dil, pad, tuple(outs), pairs


def _reduce_window(x: Tensor, kind: str, layout: str, kernel, stride, pairs) -> Tensor:
    x, pairs = _crop(x, layout, pairs)
    return x.tracer.op("reduce_window", x, kind=kind, window=_window(layout, kernel), strides=_window(layout, stride),
                       padding=_padding_pairs(layout, pairs))


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False, layout: str = "nchw"):
    """torch's max_pool2d; padding takes -inf, as in torch.  Without dilation or indices it
    is one reduce_window max; otherwise the maximum over the kernel's offsets, each a
    strided `slice` of the input padded with -inf (`_max_pool_offsets`).

    input: (N, C, H, W) or (C, H, W) (NHWC with layout="nhwc"), a float or integer dtype
    (the padding then takes the dtype's minimum), kept; kernel_size, stride (default, or
    an empty tuple: kernel_size), padding, dilation: an int or a tuple of one or two ints.
    With return_indices, also the i64 index of each maximum in its flattened (H, W)
    plane, as torch gives: the first maximum in row-major window order, a NaN taken over
    any number (the last NaN).  Returns the pooled tensor, or (pooled, indices).
    TypeRuleError for padding over half the kernel, a (dilated) kernel larger than the
    padded input, or sizes that are not positive."""
    x, unbatched = _image(input, layout, "max_pool2d", ints=True)
    kernel, stride, dil, _, outs, pairs = _pool_geometry(x, layout, kernel_size, stride, padding, dilation,
                                                         ceil_mode, "max_pool2d")
    if dil == (1, 1) and not return_indices:
        return _unbatch(_reduce_window(x, "max", layout, kernel, stride, pairs), unbatched)
    y, idx = _max_pool_offsets(x, layout, kernel, stride, dil, outs, pairs, return_indices)
    return (_unbatch(y, unbatched), _unbatch(idx, unbatched)) if return_indices else _unbatch(y, unbatched)


def _max_pool_offsets(x: Tensor, layout: str, kernel, stride, dil, outs, pairs, indices: bool):
    """Max pooling as the maximum over the kernel's kh * kw offsets: offset (i, j) reads
    the padded input at (oh * sh + i * dh, ow * sw + j * dw), one strided slice.  With
    `indices`, torch's CPU kernel's scan (aten/src/ATen/native/cpu/MaxPoolKernel.cpp): the
    index starts at the window's first element inside the input, the value at -inf, and
    each offset in row-major order replaces both when its value is greater or NaN; the
    padding's -inf never does.  Returns (values, i64 indices or None)."""
    axes, w = _spatial_axes(layout), _hw(x, layout)[1]
    floor = -math.inf if x.dtype.is_float else int(np.iinfo(x.dtype.np_dtype).min)
    full = _padding_pairs(layout, pairs)
    xp = x.tracer.op("pad", x, low=[lo for lo, _ in full], high=[hi for _, hi in full], value=float(floor))
    rows = np.arange(outs[0]) * stride[0] - pairs[0][0]      # where each window starts, in input coordinates
    cols = np.arange(outs[1]) * stride[1] - pairs[1][0]
    best = idx = None
    if indices:
        first = [r + -(r // d) * d * (r < 0) for r, d in ((rows, dil[0]), (cols, dil[1]))]   # torch's start
        idx = _plane_constant(first[0][:, None] * w + first[1][None, :], layout, x)
        best = constant(floor, x.dtype, _window(layout, (1, 1)), x.tracer)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            start, limit, step = [0] * x.ndim, list(xp.shape), [1] * x.ndim
            for a, off, n, s in zip(axes, (i * dil[0], j * dil[1]), outs, stride, strict=True):
                start[a], limit[a], step[a] = off, off + (n - 1) * s + 1, s
            v = x.tracer.op("slice", xp, start=start, limit=limit, stride=step)
            if not indices:
                best = v if best is None else maximum(best, v)
                continue
            at = (rows + i * dil[0])[:, None] * w + (cols + j * dil[1])[None, :]
            take = (v > best) | (v != v) if x.dtype.is_float else v > best
            best, idx = where(take, v, best), where(take, _plane_constant(at, layout, x), idx)
    return best, idx


def _plane_constant(a: np.ndarray, layout: str, x: Tensor) -> Tensor:
    """An i64 (OH, OW) table as a constant shaped to broadcast against x's layout."""
    return constant(a.reshape(_window(layout, a.shape)), dt.i64, tracer=x.tracer)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override=None, layout: str = "nchw") -> Tensor:
    """torch's avg_pool2d: reduce_window sum divided by the window size, or by the count of
    the elements each window covers (`count_include_pad=False`, or the clipped windows of
    `ceil_mode`), counted by the same reduce_window over ones.

    Shapes and dtypes as `max_pool2d` (no dilation, no indices); divisor_override, when
    given, divides instead.  TypeRuleError as `max_pool2d`, and for divisor_override 0."""
    x, unbatched = _image(input, layout, "avg_pool2d")
    if divisor_override is not None and divisor_override == 0:
        fail("avg_pool2d", "divisor_override must not be 0")
    kernel, stride, _, pad, _, pairs = _pool_geometry(x, layout, kernel_size, stride, padding, 1, ceil_mode,
                                                      "avg_pool2d")
    total = _reduce_window(x, "sum", layout, kernel, stride, pairs)
    if divisor_override is not None:
        y = total / divisor_override
    elif count_include_pad and not ceil_mode:
        y = total / math.prod(kernel)
    else:
        # count over ones spanning the input (plus the symmetric padding, if it counts)
        inner = [p if count_include_pad else 0 for p in pad]
        ones = constant(1, x.dtype, _window(layout, [n + 2 * p for n, p in zip(_hw(x, layout), inner, strict=True)]),
                        x.tracer)
        count_pairs = [(lo - p, hi - p) for (lo, hi), p in zip(pairs, inner, strict=True)]
        y = total / _reduce_window(ones, "sum", layout, kernel, stride, count_pairs)
    return _unbatch(y, unbatched)


def _adaptive_windows(n: int, o: int) -> tuple[np.ndarray, np.ndarray]:
    """torch's adaptive pooling windows of output i over an input of n: [floor(i n / o),
    ceil((i + 1) n / o)) (aten/src/ATen/native/AdaptivePooling.h start_index/end_index)."""
    i = np.arange(o)
    return i * n // o, -(-(i + 1) * n // o)


def adaptive_avg_pool2d(input, output_size, layout: str = "nchw") -> Tensor:
    """torch's adaptive_avg_pool2d: output element (i, j) is the mean of the input over
    rows [floor(i H / OH), ceil((i + 1) H / OH)) and the columns alike.  (1, 1) is a mean
    over the spatial dims; sizes that divide the input are one avg_pool2d; others, whose
    windows differ in size and overlap, are a product with a 0/1 window matrix per
    spatial dim, divided by the window sizes.

    input: (N, C, H, W) or (C, H, W), a float dtype, kept; output_size: an int, or a
    tuple of two ints or None (None keeps the input size).  TypeRuleError for an output
    size that is not positive."""
    x, unbatched = _image(input, layout, "adaptive_avg_pool2d")
    hw = _hw(x, layout)
    sizes = (output_size,) * 2 if isinstance(output_size, int | None) else tuple(output_size)
    if len(sizes) == 1:
        sizes *= 2
    if len(sizes) != 2 or not all(o is None or isinstance(o, int) for o in sizes):
        fail("adaptive_avg_pool2d", f"output_size must be an int or a tuple of two ints or None, got {output_size!r}")
    out = tuple(n if o is None else o for n, o in zip(hw, sizes, strict=True))
    if any(o <= 0 for o in out):
        fail("adaptive_avg_pool2d", f"output_size {out} must be positive")
    if out == (1, 1):
        return _unbatch(mean(x, list(_spatial_axes(layout)), keepdims=True), unbatched)
    if all(n % o == 0 for n, o in zip(hw, out, strict=True)):
        kernel = tuple(n // o for n, o in zip(hw, out, strict=True))
        return _unbatch(avg_pool2d(x, kernel, kernel, layout=layout), unbatched)
    y, counts = x, np.ones((1, 1))
    for axis, n, o in zip(_spatial_axes(layout), hw, out, strict=True):
        if n == o:
            continue
        lo, hi = _adaptive_windows(n, o)
        cols = np.arange(n)
        m = ((cols >= lo[:, None]) & (cols < hi[:, None])).astype(x.dtype.np_dtype)   # (o, n)
        y = _contract(y, constant(m, tracer=x.tracer), axis)
        counts = counts * ((hi - lo)[:, None] if axis == _spatial_axes(layout)[0] else (hi - lo)[None, :])
    y = y / constant(counts.reshape(_window(layout, counts.shape)), x.dtype, tracer=x.tracer)
    return _unbatch(y, unbatched)


def _contract(x: Tensor, m: Tensor, axis: int) -> Tensor:
    """x with dim `axis` (size n) replaced by m's rows: sum_k m[i, k] x[..., k, ...]."""
    y = x.tracer.op("dot_general", x, m, contract_lhs=[axis], contract_rhs=[1])   # the new dim comes last
    perm = list(range(x.ndim - 1))
    perm.insert(axis, x.ndim - 1)
    return transpose(y, perm)
