"""Programs and random data shared by the semantic tests of the passes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import ptir
from ptir.runtime import CompileOptions, get_backend

from ._lit import load_all

ROOT = Path(__file__).parents[2]

# A conv followed by BatchNorm in inference form, folded the way frontends write it: the
# scale gamma / sqrt(var + eps) multiplies the conv's weights, the shift is the new bias.
CONV_BN = """
module @conv_bn {
  func @main(%x: tensor<2x3x8x8xf32>, %w: tensor<4x3x3x3xf32> {ptir.param = "conv.weight"},
             %g: tensor<4xf32> {ptir.param = "bn.weight"}, %b: tensor<4xf32> {ptir.param = "bn.bias"},
             %m: tensor<4xf32> {ptir.param = "bn.running_mean"},
             %v: tensor<4xf32> {ptir.param = "bn.running_var"}) -> tensor<2x4x6x6xf32> {
    %eps = ptir.constant dense<1.0e-05> : tensor<4xf32>
    %ve = ptir.add %v, %eps : tensor<4xf32>
    %r = ptir.rsqrt %ve : tensor<4xf32>
    %s = ptir.mul %g, %r : tensor<4xf32>
    %s4 = ptir.reshape %s : tensor<4x1x1x1xf32>
    %sb = ptir.broadcast_to %s4 : tensor<4x3x3x3xf32>
    %w2 = ptir.mul %w, %sb : tensor<4x3x3x3xf32>
    %y = ptir.conv %x, %w2 : tensor<2x4x6x6xf32>
    %ms = ptir.mul %m, %s : tensor<4xf32>
    %sh = ptir.sub %b, %ms : tensor<4xf32>
    %sh4 = ptir.reshape %sh : tensor<1x4x1x1xf32>
    %shb = ptir.broadcast_to %sh4 : tensor<2x4x6x6xf32>
    %o = ptir.add %y, %shb : tensor<2x4x6x6xf32>
    return %o
  }
}
"""


def programs() -> dict[str, str]:
    """Every lit case's input, the MLP example and CONV_BN, by name."""
    out = {c.id: c.source for c in load_all()}
    out["examples/mlp"] = (ROOT / "examples" / "mlp.ptir").read_text()
    out["conv_bn"] = CONV_BN
    return out


SPECIALS = (0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0)


def random_array(t, rng, specials: bool = True) -> np.ndarray:
    """Random data of type `t`: normal floats with zeros of both signs, infinities and NaN
    mixed in; small integers with the dtype's extremes."""
    shape = t.shape
    if t.dtype.is_float:
        x = rng.standard_normal(shape)
        if specials:   # some of each special value at random places (as many as fit), and more
            flat = x.reshape(-1)
            where = rng.permutation(flat.size)[:len(SPECIALS)]
            flat[where] = rng.permutation(SPECIALS)[:where.size]
            x = np.where(rng.random(shape) < 0.1, rng.choice(SPECIALS, size=shape), x)
    elif t.dtype.is_bool:
        x = rng.random(shape) < 0.5
    else:
        info = np.iinfo(t.dtype.np_dtype)
        x = rng.integers(max(info.min, -5), 6, size=shape)
        if specials:
            x = np.where(rng.random(shape) < 0.1, rng.choice([info.min, info.max], size=shape), x)
    return np.asarray(x).astype(t.dtype.np_dtype)


def random_data(program, rng, specials: bool = True):
    fn = program.entry()
    inputs = [random_array(a.value.type, rng, specials) for a in fn.inputs]
    params = {a.param: random_array(a.value.type, rng, specials) for a in fn.args if a.param is not None}
    return inputs, params


def run_ref(program, inputs, params) -> list[np.ndarray]:
    """The `ref` target, straight (whatever ptir.compile may add in front of it)."""
    return get_backend("ref").compile(program, CompileOptions(params=params))(*inputs)


def assert_same_bits(got: list[np.ndarray], want: list[np.ndarray], what: str = "") -> None:
    """Equal dtypes, shapes and bits, except that any NaN equals any NaN (IEEE leaves a
    NaN's payload and sign open)."""
    assert len(got) == len(want), what
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.dtype == w.dtype and g.shape == w.shape, f"{what} result {i}: {g.dtype}{g.shape} vs {w.dtype}{w.shape}"
        if g.dtype.kind == "f" or g.dtype.name == "bfloat16":
            gn, wn = np.isnan(g.astype(np.float64)), np.isnan(w.astype(np.float64))
            assert (gn == wn).all(), f"{what} result {i}: NaNs in different places"
            g, w = np.where(gn, 0, g).astype(g.dtype), np.where(wn, 0, w).astype(w.dtype)
        assert g.tobytes() == w.tobytes(), f"{what} result {i} differs:\n{g}\nvs\n{w}"


def is_static(program) -> bool:
    return all(a.value.type.is_static for a in program.entry().args)


def parse(text: str, name: str = "<test>"):
    return ptir.parse(text, name)
