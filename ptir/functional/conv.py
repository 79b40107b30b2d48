"""Convolution and pooling over 2-D images, NCHW like torch or NHWC (`layout="nhwc"`)."""

from __future__ import annotations

import math

from .core import as_tensor, constant, mean, reshape
from .tensor import Tensor
from .tracer import fail

LAYOUTS = ("nchw", "nhwc")


def _pair(v, name: str, op: str) -> tuple[int, int]:
    t = (v, v) if isinstance(v, int) else tuple(v)
    if len(t) != 2 or not all(isinstance(i, int) for i in t):
        fail(op, f"{name} must be an int or a pair of ints, got {v!r}")
    return t


def _image(input, layout: str, op: str) -> tuple[Tensor, bool]:
    """The input as a batched 4-D image, and whether it came unbatched (3-D)."""
    if layout not in LAYOUTS:
        fail(op, f'layout must be "nchw" or "nhwc", not {layout!r}')
    x = as_tensor(input, op=op)
    if x.ndim not in (3, 4):
        fail(op, f"input must be 4-D ({layout.upper()}) or 3-D unbatched, got shape {x.shape}")
    if not x.dtype.is_float:
        fail(op, f"input dtype {x.dtype} is not a float type")
    return (reshape(x, (1,) + x.shape), True) if x.ndim == 3 else (x, False)


def _unbatch(y: Tensor, unbatched: bool) -> Tensor:
    return reshape(y, y.shape[1:]) if unbatched else y


def _hw(x: Tensor, layout: str) -> tuple[int, int]:
    return x.shape[2:] if layout == "nchw" else x.shape[1:3]


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

    input: (N, C_in, H, W) or unbatched (C_in, H, W), a float dtype; weight: (C_out, C_in /
    groups, kH, kW) as OIHW; bias: (C_out,).  Output size per spatial dim: (size + pads -
    dilation (k - 1) - 1) // stride + 1.  TypeRuleError from ptir.conv's rule for channels
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
    # channels, groups and the kernel's extent against the padded input: ptir.conv's rule
    y = x.tracer.op("conv", x, w, layout=layout, strides=stride, padding=pads, dilation=dilation, groups=groups,
                    caller="conv2d")
    if bias is not None:
        b = as_tensor(bias, op="conv2d")
        if b.shape != (o,):
            fail("conv2d", f"bias shape {b.shape} does not match out_channels {o}")
        y = y + (reshape(b, (o, 1, 1)) if layout == "nchw" else b)
    return _unbatch(y, unbatched)


def _window(layout: str, hw) -> list:
    """A per-dim list for reduce_window from the two spatial entries (1 for batch and channels)."""
    return [1, 1, *hw] if layout == "nchw" else [1, *hw, 1]


def _pool_geometry(x, layout, kernel_size, stride, padding, ceil_mode, op):
    """Window, strides and per-dim padding of a pooling, `ceil_mode` as extra high padding."""
    kernel = _pair(kernel_size, "kernel_size", op)
    stride = kernel if stride is None or stride == [] else _pair(stride, "stride", op)
    pad = _pair(padding, "padding", op)
    pairs = []
    for size, k, s, p in zip(_hw(x, layout), kernel, stride, pad, strict=True):
        if p > k // 2:
            fail(op, f"padding {p} should be at most half of the kernel size {k}")
        if size + 2 * p < k:
            fail(op, f"kernel size {k} is larger than the padded input {size + 2 * p}")
        out = (size + 2 * p - k) // s + 1
        if ceil_mode:
            out = -(-(size + 2 * p - k) // s) + 1
            out -= (out - 1) * s >= size + p   # the last window must start inside the input or left padding
        pairs.append((p, max(p, (out - 1) * s + k - size - p)))
    return kernel, stride, pad, pairs


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False, layout: str = "nchw") -> Tensor:
    """torch's max_pool2d as one reduce_window max; padding takes -inf, as in torch.

    input: (N, C, H, W) or (C, H, W) (NHWC with layout="nhwc"), a float dtype, kept;
    kernel_size, stride (default kernel_size), padding: ints or pairs.  TypeRuleError for
    padding over half the kernel, a kernel larger than the padded input, dilation != 1 or
    return_indices."""
    x, unbatched = _image(input, layout, "max_pool2d")
    if _pair(dilation, "dilation", "max_pool2d") != (1, 1):
        fail("max_pool2d", "dilation other than 1 is not supported")
    if return_indices:
        fail("max_pool2d", "return_indices is not supported")
    kernel, stride, _, pairs = _pool_geometry(x, layout, kernel_size, stride, padding, ceil_mode, "max_pool2d")
    y = x.tracer.op("reduce_window", x, kind="max", window=_window(layout, kernel),
                    strides=_window(layout, stride), padding=_padding_pairs(layout, pairs))
    return _unbatch(y, unbatched)


def _padding_pairs(layout: str, pairs) -> list:
    return [(0, 0), (0, 0), *pairs] if layout == "nchw" else [(0, 0), *pairs, (0, 0)]


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override=None, layout: str = "nchw") -> Tensor:
    """torch's avg_pool2d: reduce_window sum divided by the window size, or by the count of
    the elements each window covers (`count_include_pad=False`, or the clipped windows of
    `ceil_mode`), counted by the same reduce_window over ones.

    Shapes, dtypes and errors as `max_pool2d`."""
    x, unbatched = _image(input, layout, "avg_pool2d")
    kernel, stride, pad, pairs = _pool_geometry(x, layout, kernel_size, stride, padding, ceil_mode, "avg_pool2d")
    window, strides = _window(layout, kernel), _window(layout, stride)
    total = x.tracer.op("reduce_window", x, kind="sum", window=window, strides=strides,
                        padding=_padding_pairs(layout, pairs))
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
        count = x.tracer.op("reduce_window", ones, kind="sum", window=window, strides=strides,
                            padding=_padding_pairs(layout, count_pairs))
        y = total / count
    return _unbatch(y, unbatched)


def adaptive_avg_pool2d(input, output_size, layout: str = "nchw") -> Tensor:
    """Average pooling to `output_size` when it divides the input size (a plain avg_pool2d);
    (1, 1) is a mean over the spatial dims.

    input: (N, C, H, W) or (C, H, W), a float dtype, kept; output_size: an int, a pair,
    None entries keeping the input size.  TypeRuleError if an output size does not divide
    the input size (torch's uneven windows are not supported)."""
    x, unbatched = _image(input, layout, "adaptive_avg_pool2d")
    hw = _hw(x, layout)
    out = tuple(n if o is None else o for n, o in zip(hw, (output_size,) * 2 if isinstance(output_size, int | None)
                                                       else output_size, strict=True))
    for n, o in zip(hw, out, strict=True):
        if o <= 0 or n % o:
            fail("adaptive_avg_pool2d", f"input size {n} is not divisible by output size {o} "
                                        "(only the divisible case is supported)")
    if out == (1, 1):
        axes = [2, 3] if layout == "nchw" else [1, 2]
        return _unbatch(mean(x, axes, keepdims=True), unbatched)
    kernel = tuple(n // o for n, o in zip(hw, out, strict=True))
    return _unbatch(avg_pool2d(x, kernel, kernel, layout=layout), unbatched)
