"""Weight-only bf16 / int8 storage (ptir.nn.quantize): the rounding, the module surgery,
and a quantized layer compiled on every target against numpy on the stored weights."""

import ml_dtypes
import numpy as np
import pytest

import ptir
import ptir.functional as F
import ptir.nn as nn
from ptir.errors import UsageError
from ptir.nn.module import StateDictError
from ptir.nn.quantize import PIPELINE, QuantizedParameter, quantize, quantize_weights

TARGETS = ["ref", "llvm-cpu", "xla-cpu"]


def test_int8_is_symmetric_per_output_channel():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 5)).astype(np.float32)
    w[:, 2] = 0   # a channel of zeros: scale 1, q 0
    q, scale = quantize(w, "int8", axis=1)
    assert q.dtype == np.int8 and scale.shape == (5,) and scale.dtype == np.float32
    assert scale[2] == 1 and not q[:, 2].any()
    assert np.abs(q).max(axis=0)[[0, 1, 3, 4]].tolist() == [127] * 4   # each channel's peak maps to 127
    assert np.all(np.abs(q * scale - w) <= scale / 2 + 1e-7)          # round to nearest
    q0, s0 = quantize(w, "int8", axis=0)
    assert s0.shape == (6,) and np.all(np.abs(q0 * s0[:, None] - w) <= s0[:, None] / 2 + 1e-7)


def test_bf16_rounds_to_nearest_and_f32_is_unchanged():
    w = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    q, scale = quantize(w, "bf16")
    assert scale is None and q.dtype == ml_dtypes.bfloat16
    np.testing.assert_array_equal(q, w.astype(ml_dtypes.bfloat16))
    assert quantize(w, "f32")[0] is not None and quantize(w, "f32")[1] is None


@pytest.mark.parametrize("dtype,axis,match", [("int4", 0, "not one of"), ("int8", 2, "outside a weight")])
def test_quantize_rejects(dtype, axis, match):
    with pytest.raises(UsageError, match=match):
        quantize(np.ones((2, 2), np.float32), dtype, axis)


class Head(nn.Module):
    """A linear layer (torch's (out, in) weight) and an embedding sharing one table."""

    def __init__(self):
        super().__init__()
        self.table = nn.Parameter(np.random.default_rng(2).standard_normal((10, 8)).astype(np.float32))
        self.proj = nn.Parameter(np.random.default_rng(3).standard_normal((8, 6)).astype(np.float32))

    def forward(self, ids, h):
        return F.embedding(ids, self.table), F.linear(h, self.table), F.matmul(h, self.proj)


def dequantized(m: Head) -> tuple[np.ndarray, np.ndarray]:
    """The weights as the program should see them, from the stored arrays (numpy)."""
    sd = m.state_dict()
    table = sd["table"].astype(np.float32) * sd.get("table_scale", np.ones(10, np.float32))[:, None]
    proj = sd["proj"].astype(np.float32) * sd.get("proj_scale", np.ones(6, np.float32))[None, :]
    return table, proj


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("dtype", ["bf16", "int8"])
def test_quantized_module_computes_with_its_stored_weights(dtype, target):
    m = quantize_weights(Head(), dtype, {"table": 0, "proj": 1})
    keys = {"table", "proj"} | ({"table_scale", "proj_scale"} if dtype == "int8" else set())
    assert set(m.state_dict()) == keys and isinstance(m.__dict__["_parameters"]["table"], QuantizedParameter)
    ids = np.array([[1, 9, 4]], np.int64)
    h = np.random.default_rng(4).standard_normal((2, 8)).astype(np.float32)
    f = ptir.compile(m, ptir.spec((1, 3), "i64"), ptir.spec((2, 8)), target=target, passes=PIPELINE)
    program = str(f.program)
    assert "xi8>" in program or "xbf16>" in program   # the narrow weights are what the program takes
    table, proj = dequantized(m)
    for got, want in zip(f(ids, h), (table[ids], h @ table.T, h @ proj), strict=True):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)


def test_quantize_weights_errors_and_f32_is_a_no_op():
    m = Head()
    assert quantize_weights(m, "f32", {"table": 0}) is m and m.state_dict()["table"].dtype == np.float32
    with pytest.raises(UsageError, match="no such parameter"):
        quantize_weights(Head(), "int8", {"tabel": 0})
    q = quantize_weights(Head(), "int8", {"table": 0})
    with pytest.raises(UsageError, match="stored as int8 already"):
        quantize_weights(q, "int8", {"table": 0})
    # floats loaded into an int8 weight would drop its scale: refused, naming the key
    with pytest.raises(StateDictError, match="float values for integer weights: table"):
        q.load_state_dict(Head().state_dict(), strict=False)
