"""conv-algorithm: each 2-D convolution in the algorithm that is fastest for its shape,
its target and the host CPU.

After channels-last every 2-D `ptir.conv` is NHWC with HWIO weights.  One that suits
it becomes one of

    direct      unchanged: the target's own convolution
    im2col      the K*K shifted windows of the padded input side by side, times the
                weights as a (K*K*Cin, Cout) matrix: one dot_general (groups 1)
    winograd2   Winograd's minimal filtering F(2x2, 3x3) (dense 3x3, stride 1, dilation 1)
    winograd4   F(4x4, 3x3): 36 instead of 144 multiplications per 4x4 output tile
    shifted     a depthwise convolution as K*K shifted windows times one weight per
                channel, summed (XLA's grouped convolution is 30-45x slower)

Winograd (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016):
with tile size a = m + 2, Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A per tile, summed over input
channels in the transformed domain, which makes it one batched matmul over the a*a
transformed positions.  The transforms are written as small dot_generals with constant
matrices (IREE 3.13 fails to compile the elementwise form of F(4x4); issue 13), and the
weight transform G g Gᵀ on the weights alone, so fold-params computes it once.

The choice per layer comes from the table of measured costs `configs/conv_algorithms.json`
(written by `python benchmarks/conv_layers.py --write configs/conv_algorithms.json`),
keyed by target, CPU feature class and layer shape; PassContext.conv_algorithm forces one
algorithm on every convolution it suits instead.  Every algorithm but direct sums the
products in another order, so the pass declares `reassociates`; without a target (ptirc
opt, `ref`) and not forced it changes nothing.
"""

from __future__ import annotations

import functools
import json
import math
import os
from fractions import Fraction

import numpy as np

from ..configs import DIR as CONFIG_DIR
from ..errors import UsageError
from .manager import PassContext, register_pass
from .rewrite import Patterns, rewrite

ALGORITHMS = ("direct", "im2col", "winograd2", "winograd4", "shifted")
TABLE = os.path.join(CONFIG_DIR, "conv_algorithms.json")
WINOGRAD_POINTS = {
    # Interpolation points of the Toom-Cook construction; the point at infinity is implied.
    # F(4x4, 3x3) with 0, ±1, ±2 gives Lavin & Gray's matrices exactly (small integers in
    # Bᵀ and Aᵀ, the fractions in G, which is applied once to the weights).
    2: (0, 1, -1),
    4: (0, 1, -1, 2, -2),
}


def check_algorithm(name: str) -> str:
    """`name` if it is `auto` or one of ALGORITHMS; UsageError naming the choices otherwise."""
    if name != "auto" and name not in ALGORITHMS:
        raise UsageError(f"unknown convolution algorithm '{name}' (choose from auto, {', '.join(ALGORITHMS)})")
    return name


# --- what a convolution is ----------------------------------------------------------------------

def layer_shape(op) -> dict | None:
    """The table key of a 2-D NHWC ptir.conv with static, non-empty shapes: n, h, w, cin,
    cout, kernel [kh, kw], stride [sh, sw], groups; None for any other conv."""
    x, w = op.operands
    if op.attrs["layout"] != "nhwc" or x.type.rank != 4 or not (x.type.is_static and w.type.is_static) \
            or 0 in x.type.shape + w.type.shape + op.result.type.shape:
        return None
    n, h, wd, cin = x.type.shape
    kh, kw, _, cout = w.type.shape
    return {"n": n, "h": h, "w": wd, "cin": cin, "cout": cout, "kernel": [kh, kw],
            "stride": list(op.attrs["strides"]), "groups": op.attrs["groups"]}


def zero_stuffed(x) -> bool:
    """Whether conv input `x` is spread out with zeros (a pad with interior padding, perhaps
    behind a transpose): a transposed convolution (ONNX ConvTranspose)."""
    while x.owner is not None and x.owner.name == "transpose":
        x = x.owner.operands[0]
    return x.owner is not None and x.owner.name == "pad" and any(x.owner.attrs.get("interior") or ())


def applicable(op) -> tuple[str, ...]:
    """The algorithms that compute `op` (a ptir.conv), direct first.  A transposed
    convolution stays direct: the other forms would spend their products on the inserted
    zeros and turn its exact zeros into rounding noise (1.5e-7 where ONNX wants 0)."""
    shape = layer_shape(op)
    dtype = op.result.type.dtype
    if shape is None or not dtype.is_float or zero_stuffed(op.operands[0]):
        return ("direct",)
    out = ["direct"]
    dense, dilation = shape["groups"] == 1, tuple(op.attrs["dilation"])
    if dense:
        out.append("im2col")
    if dense and shape["kernel"] == [3, 3] and shape["stride"] == [1, 1] and dilation == (1, 1) \
            and dtype.name in ("f32", "f64"):   # Winograd's transforms lose too much in 16-bit floats
        out += ["winograd2", "winograd4"]
    if shape["groups"] == shape["cin"] == shape["cout"] and shape["groups"] > 1:
        out.append("shifted")
    return tuple(out)


# --- the table of measured costs ------------------------------------------------------------------

@functools.cache
def load_table(path: str = TABLE) -> tuple[dict, ...]:
    """The entries of a choice table: {"target", "cpu", "shape", "ms": {algorithm: ms},
    "choice"}; an empty table when the file does not exist.  UsageError naming the file
    for one that is not such a table."""
    if not os.path.exists(path):
        return ()
    try:
        with open(path) as f:
            entries = json.load(f)["entries"]
        for e in entries:
            check_algorithm(e["choice"])
            _ = e["target"], e["cpu"], e["shape"]["kernel"]
    except (OSError, ValueError, KeyError, TypeError, UsageError) as e:
        raise UsageError(f"{path}: not a convolution algorithm table ({e})") from None
    return tuple(entries)


def _kind(shape: dict) -> tuple:
    """What must match for a measured layer to stand in for another: kernel, stride,
    and whether it is dense or depthwise."""
    return (tuple(shape["kernel"]), tuple(shape["stride"]), shape["groups"] == 1, shape["groups"] == shape["cin"])


def _distance(a: dict, b: dict) -> float:
    """How far apart two layers of one kind are: log-ratios of pixels, Cin and Cout."""
    return sum(abs(math.log(f(a) / f(b))) for f in (lambda s: s["n"] * s["h"] * s["w"],
                                                     lambda s: s["cin"], lambda s: s["cout"]))


def choose(shape: dict, suits: tuple[str, ...], target: str | None, cpu: str | None,
           entries: tuple[dict, ...]) -> str:
    """The table's algorithm for a layer: the choice measured for this target, CPU class
    and shape; for a shape not measured, the choice of the nearest measured layer of the
    same kind (kernel, stride, dense or depthwise; nearest in log pixels, Cin and Cout);
    `direct` when no layer of its kind was measured for this target and CPU class, or
    when the chosen algorithm does not suit the layer."""
    mine = [e for e in entries if e["target"] == target and e["cpu"] == cpu and _kind(e["shape"]) == _kind(shape)]
    if not mine:
        return "direct"
    best = min(mine, key=lambda e: _distance(e["shape"], shape))
    return best["choice"] if best["choice"] in suits else "direct"


# --- the rewrites ---------------------------------------------------------------------------------

def _pad(rw, x, low, high):
    """x (NHWC) padded with zeros by `low`/`high` rows and columns (no op if none)."""
    if not any(low) and not any(high):
        return x
    return rw.emit("pad", x, low=[0, *low, 0], high=[0, *high, 0])


def _window(rw, xp, i: int, j: int, op):
    """The input pixels kernel tap (i, j) meets at every output position: [N, OH, OW, C]."""
    n, _, _, c = xp.type.shape
    _, oh, ow, _ = op.result.type.shape
    (sh, sw), (dh, dw) = op.attrs["strides"], op.attrs["dilation"]
    start, limit = [0, i * dh, j * dw, 0], [n, i * dh + (oh - 1) * sh + 1, j * dw + (ow - 1) * sw + 1, c]
    if start == [0, 0, 0, 0] and limit == list(xp.type.shape) and (sh, sw) == (1, 1):
        return xp
    return rw.emit("slice", xp, start=start, limit=limit, stride=[1, sh, sw, 1])


def _padded_input(rw, op):
    x = op.operands[0]
    (pt, pb), (pl, pr) = op.attrs["padding"]
    return _pad(rw, x, (pt, pl), (pb, pr))


def im2col(rw, op):
    """conv as patches (the K*K windows concatenated along channels, in HWIO's (kh, kw, ci)
    order) times the weights reshaped to (K*K*Cin, Cout)."""
    x, w = op.operands
    kh, kw, cin, cout = w.type.shape
    xp = _padded_input(rw, op)
    windows = [_window(rw, xp, i, j, op) for i in range(kh) for j in range(kw)]
    patches = windows[0] if len(windows) == 1 else rw.emit("concat", *windows, axis=3)
    matrix = rw.emit("reshape", w, out=w.type.with_shape((kh * kw * cin, cout)))
    return rw.emit("dot_general", patches, matrix, contract_lhs=[3], contract_rhs=[0])


def shifted(rw, op):
    """A depthwise conv as the sum over kernel taps of a window times that tap's weights,
    one per channel, in the reference's tap order."""
    _, w = op.operands
    kh, kw, _, c = w.type.shape
    xp = _padded_input(rw, op)
    out = op.result.type
    acc = None
    for i in range(kh):
        for j in range(kw):
            tap = rw.emit("slice", w, start=[i, j, 0, 0], limit=[i + 1, j + 1, 1, c])
            tap = rw.emit("broadcast_to", rw.emit("reshape", tap, out=w.type.with_shape((c,))), out=out)
            term = rw.emit("mul", _window(rw, xp, i, j, op), tap)
            acc = term if acc is None else rw.emit("add", acc, term)
    return acc


@functools.cache
def winograd_matrices(m: int, r: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aᵀ (m x a), G (a x r), Bᵀ (a x a) of Winograd's F(m, r), a = m + r - 1, float64.

    The Toom-Cook construction (Lavin & Gray 2016, section 4; Lavin's wincnn) over the
    points WINOGRAD_POINTS[m] and infinity: Aᵀ evaluates the output polynomial at the
    points (row i: p**i; the point at infinity contributes to the last output only), G
    evaluates the filter at them scaled by 1 / prod_{l != j} (p_j - p_l), and Bᵀ's rows
    are the coefficients of prod_{l != j} (x - p_l) (the last row: of prod_l (x - p_l)).
    Computed in exact fractions, then rounded once."""
    pts = [Fraction(p) for p in WINOGRAD_POINTS[m]]
    a = m + r - 1

    def poly(roots):   # coefficients of prod (x - q), lowest power first
        c = [Fraction(1)]
        for q in roots:
            c = [(c[k - 1] if k else 0) - q * (c[k] if k < len(c) else 0) for k in range(len(c) + 1)]
        return c

    at = [[p ** i for p in pts] + [Fraction(int(i == m - 1))] for i in range(m)]
    g = [[p ** k / math.prod(p - q for q in pts if q != p) for k in range(r)] for p in pts]
    g.append([Fraction(int(k == r - 1)) for k in range(r)])
    bt = [poly([q for q in pts if q != p]) + [Fraction(0)] for p in pts] + [poly(pts)]
    assert len(bt) == a
    return tuple(np.array(mat, dtype=np.float64) for mat in (at, g, bt))


def _tiles(rw, xp, m: int, th: int, tw: int):
    """Overlapping (m+2)x(m+2) input tiles at stride m: [N, th, m+2, tw, m+2, C] from a
    padded input of (th+1)*m rows and (tw+1)*m columns (each tile is an m-block and the
    first 2 rows or columns of the next block)."""
    n, _, _, c = xp.type.shape
    t = xp.type
    blocks = rw.emit("reshape", rw.emit("slice", xp, start=[0, 0, 0, 0], limit=[n, th * m, (tw + 1) * m, c]),
                     out=t.with_shape((n, th, m, (tw + 1) * m, c)))
    nxt = rw.emit("reshape", rw.emit("slice", xp, start=[0, m, 0, 0], limit=[n, (th + 1) * m, (tw + 1) * m, c]),
                  out=t.with_shape((n, th, m, (tw + 1) * m, c)))
    if m > 2:   # the first 2 rows of each next block
        nxt = rw.emit("slice", nxt, start=[0, 0, 0, 0, 0], limit=[n, th, 2, (tw + 1) * m, c])
    rows = rw.emit("concat", blocks, nxt, axis=2)                                  # N, th, a, (tw+1)m, C
    a = m + 2
    blocks = rw.emit("reshape", rw.emit("slice", rows, start=[0] * 5, limit=[n, th, a, tw * m, c]),
                     out=t.with_shape((n, th, a, tw, m, c)))
    nxt = rw.emit("reshape", rw.emit("slice", rows, start=[0, 0, 0, m, 0], limit=[n, th, a, (tw + 1) * m, c]),
                  out=t.with_shape((n, th, a, tw, m, c)))
    if m > 2:
        nxt = rw.emit("slice", nxt, start=[0] * 6, limit=[n, th, a, tw, 2, c])
    return rw.emit("concat", blocks, nxt, axis=4)                                  # N, th, a, tw, a, C


def _matrix(rw, mat: np.ndarray, like):
    return rw.constant(mat, like.type.with_shape(mat.shape))


def winograd(rw, op, m: int):
    """F(m x m, 3x3) on a dense 3x3 stride-1 conv: the input padded once (the conv's padding,
    then zeros so whole tiles cover the output), tiles transformed by Bᵀ d B, one batched
    matmul over the (m+2)^2 positions with the transformed weights G g Gᵀ, the output
    transform Aᵀ M A, and the tiles' overhang past the output sliced off."""
    x, w = op.operands
    n, h, wd, cin = x.type.shape
    _, oh, ow, cout = op.result.type.shape
    a, th, tw = m + 2, -(-oh // m), -(-ow // m)
    at, g, bt = (_matrix(rw, mat, x) for mat in winograd_matrices(m))
    (pt, _), (pl, _) = op.attrs["padding"]
    xp = _pad(rw, x, (pt, pl), ((th + 1) * m - h - pt, (tw + 1) * m - wd - pl))
    d = _tiles(rw, xp, m, th, tw)                                                  # N, th, a, tw, a, C
    v = rw.emit("dot_general", bt, d, contract_lhs=[1], contract_rhs=[2])         # uH, N, th, tw, a, C
    v = rw.emit("dot_general", bt, v, contract_lhs=[1], contract_rhs=[4])         # vW, uH, N, th, tw, C
    tiles = n * th * tw
    v = rw.emit("reshape", v, out=x.type.with_shape((a * a, tiles, cin)))
    u = rw.emit("dot_general", g, w, contract_lhs=[1], contract_rhs=[0])          # uH, kw, Ci, Co
    u = rw.emit("dot_general", g, u, contract_lhs=[1], contract_rhs=[1])          # vW, uH, Ci, Co
    u = rw.emit("reshape", u, out=w.type.with_shape((a * a, cin, cout)))
    mm = rw.emit("dot_general", v, u, batch_lhs=[0], batch_rhs=[0], contract_lhs=[2], contract_rhs=[1])
    mm = rw.emit("reshape", mm, out=x.type.with_shape((a, a, n, th, tw, cout)))  # vW, uH, N, th, tw, Co
    y = rw.emit("dot_general", at, mm, contract_lhs=[1], contract_rhs=[1])        # iH, vW, N, th, tw, Co
    y = rw.emit("dot_general", at, y, contract_lhs=[1], contract_rhs=[1])         # jW, iH, N, th, tw, Co
    y = rw.emit("transpose", y, perm=[2, 3, 1, 4, 0, 5])                          # N, th, iH, tw, jW, Co
    y = rw.emit("reshape", y, out=op.result.type.with_shape((n, th * m, tw * m, cout)))
    if (th * m, tw * m) != (oh, ow):
        y = rw.emit("slice", y, start=[0, 0, 0, 0], limit=[n, oh, ow, cout])
    return y


REWRITES = {"im2col": im2col, "shifted": shifted,
            "winograd2": lambda rw, op: winograd(rw, op, 2), "winograd4": lambda rw, op: winograd(rw, op, 4)}


def _pattern(context: PassContext):
    entries = load_table() if context.conv_algorithm == "auto" else ()
    patterns = Patterns()

    @patterns.on("conv")
    def conv(rw, op):
        suits = applicable(op)
        if context.conv_algorithm == "auto":
            algorithm = "direct" if len(suits) == 1 else choose(layer_shape(op), suits, context.target,
                                                                context.cpu, entries)
        else:
            algorithm = context.conv_algorithm if context.conv_algorithm in suits else "direct"
        return None if algorithm == "direct" else REWRITES[algorithm](rw, op)

    return patterns


@register_pass("conv-algorithm", "each 2-D NHWC conv as direct, im2col, Winograd or shifted taps, per the "
               "measured table for the target and CPU (configs/conv_algorithms.json)",
               reassociates=True, needs_context=True)
def conv_algorithm(program, context: PassContext):
    check_algorithm(context.conv_algorithm)
    return rewrite(program, _pattern(context))
