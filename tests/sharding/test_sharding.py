"""Sharding annotations (docs/sharding.md): text, verifier, lowering to Shardy, and SPMD runs
on xla-cpu over 2 and 4 virtual devices (tests/conftest.py sets XLA_FLAGS) equal to one device
and to ref."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import ptir
from ptir import functional as F
from ptir.errors import ParseError, TypeRuleError, VerifyError
from ptir.functional import Mesh, shard, sharded
from ptir.lower_stablehlo import lower
from ptir.runtime.stages import Observer

RNG = np.random.default_rng(7)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def matmul_text(n: int) -> str:
    return f"""module @mm attributes {{ptir.mesh = [["x", {n}]]}} {{
  func @main(%x: tensor<8x16xf32>,
             %w: tensor<16x32xf32> {{ptir.param = "w", ptir.sharding = [[], ["x"]]}}) -> tensor<8x32xf32> {{
    %0 = ptir.dot_general %x, %w {{contract_lhs = [1], contract_rhs = [0]}} : tensor<8x32xf32>
    %1 = ptir.sharding_constraint %0 {{sharding = [[], ["x"]]}} : tensor<8x32xf32>
    %2 = ptir.tanh %1 : tensor<8x32xf32>
    return %2
  }}
}}
"""


class Hlo(Observer):
    """Keeps XLA's optimized HLO of each compile."""

    def __init__(self):
        self.text = ""

    def stage(self, job, event):
        if event.stage == "xla.hlo":
            self.text = event.content


def collectives(hlo: str) -> dict[str, int]:
    return {k: len(re.findall(rf"= \S+ {k}(?:-start)?\(", hlo)) for k in ("all-reduce", "all-gather")}


def ref(program, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ptir.compile(program, *args, target="ref", **kw)


# --- text ----------------------------------------------------------------------------------------

def test_roundtrip_and_located_parse_errors():
    text = ptir.parse(matmul_text(2)).__str__()
    assert "ptir.mesh = [[\"x\", 2]]" in text and 'ptir.sharding = [[], ["x"]]' in text
    assert str(ptir.parse(text)) == text
    results = text.replace("-> tensor<8x32xf32> {", '-> (tensor<8x32xf32> {ptir.sharding = [["x"], []]}) {')
    assert str(ptir.verify(ptir.parse(results))) == results
    unparenthesized = text.replace("-> tensor<8x32xf32> {", '-> tensor<8x32xf32> {ptir.sharding = [[], []]} {')
    assert 'ptir.sharding = [[], []]})' in str(ptir.parse(unparenthesized))
    with pytest.raises(ParseError, match=r"^<input>:2:\d+: error: ptir.sharding: a sharding entry is an array"):
        ptir.parse(text.replace('ptir.sharding = [[], ["x"]]', "ptir.sharding = [1, 2]"))
    with pytest.raises(ParseError, match=r"unknown result attribute 'ptir.param'"):
        ptir.parse(text.replace("-> tensor<8x32xf32> {", '-> (tensor<8x32xf32> {ptir.param = "a"}) {'))


@pytest.mark.parametrize("edit, message", [
    (('[["x", 2]]', '[["x", 0]]'), 'ptir.mesh axis "x" has size 0'),
    (('[["x", 2]]', '[["x", 2], ["x", 2]]'), 'ptir.mesh names axis "x" twice'),
    (('[["x", 2]]', '"x"'), "ptir.mesh must be a non-empty array"),
    (('[["x", 2]]', '[["x", 3]]'), r"dim 1 of tensor<16x32xf32> \(size 32\) does not split evenly into 3 parts"),
    (('ptir.sharding = [[], ["x"]]', 'ptir.sharding = [["y"], []]'), 'names axis "y", which the mesh does not have'),
    (('ptir.sharding = [[], ["x"]]', 'ptir.sharding = [["x"]]'), "has 1 entries but tensor<16x32xf32> has rank 2"),
    (('{sharding = [[], ["x"]]}', '{sharding = [["x"], ["x"]]}'), 'sharding uses mesh axis "x" twice'),
    (('{sharding = [[], ["x"]]}', '{sharding = [["z"], []]}'), 'names axis "z"'),
    ((' attributes {ptir.mesh = [["x", 2]]}', ""), "a sharding needs a mesh"),
])
def test_verifier_errors(edit, message):
    with pytest.raises(VerifyError, match=message) as e:
        ptir.parse(matmul_text(2).replace(*edit), "mm.ptir")   # ptir.parse verifies
    assert e.value.loc is not None and e.value.loc.file == "mm.ptir"


def test_constraint_type_rule():
    with pytest.raises(VerifyError, match=r"mm.ptir:5:\d+: error: ptir.sharding_constraint: sharding has 1 entries"):
        ptir.parse(matmul_text(2).replace('{sharding = [[], ["x"]]}', '{sharding = [["x"]]}'), "mm.ptir")
    with pytest.raises(VerifyError, match="attribute 'sharding' must be an array of mesh axis name arrays"):
        ptir.parse(matmul_text(2).replace('{sharding = [[], ["x"]]}', '{sharding = 1}'))


# --- lowering ------------------------------------------------------------------------------------

def test_lowers_to_shardy_and_drops_for_iree():
    prog = ptir.verify(ptir.parse(matmul_text(2)))
    text = lower(prog).text
    assert "mhlo.num_partitions = 2 : i32" in text and 'sdy.mesh @mesh = <["x"=2]>' in text
    assert '%arg1: tensor<16x32xf32> {sdy.sharding = #sdy.sharding<@mesh, [{}, {"x"}]>}' in text
    assert '"sdy.sharding_constraint"' in text
    with pytest.warns(UserWarning, match="shardings of @main are ignored"):
        dropped = lower(prog, shardings="drop").text
    assert "sdy" not in dropped and "num_partitions" not in dropped


# --- runs ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [2, 4])
def test_text_program_matches_one_device_and_ref(n):
    x, w = rand(8, 16), rand(16, 32)
    hlo = Hlo()
    got = ptir.compile(ptir.parse(matmul_text(n)), target="xla-cpu", params={"w": w}, observers=[hlo])(x)
    assert collectives(hlo.text)["all-gather"] >= 1   # the column-split result gathered
    one = ptir.parse(re.sub(r'ptir.sharding = \[\[\], \["x"\]\]', 'ptir.sharding = [[], []]', matmul_text(1)))
    single = ptir.compile(one, target="xla-cpu", params={"w": w})(x)
    want = ref(ptir.parse(matmul_text(n)), params={"w": w})(x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got, single, rtol=1e-5, atol=1e-5)


def megatron_mlp(mesh):
    """Column-split fc1, row-split fc2: XLA sums the partial products with one all-reduce."""
    def mlp(x, w1, w2):
        h = F.gelu(shard(x @ w1, mesh, (None, "x")))
        return shard(h @ w2, mesh, (None, None))
    return mlp


@pytest.mark.parametrize("n", [2, 4])
def test_traced_megatron_mlp(n):
    mesh = Mesh(x=n)
    specs = (ptir.spec((8, 16)), sharded(ptir.spec((16, 64)), mesh, (None, "x")),
             sharded(ptir.spec((64, 16)), mesh, ("x", None)))
    prog = ptir.trace(megatron_mlp(mesh), *specs)
    assert prog.attributes["ptir.mesh"] == [["x", n]]
    assert [a.sharding for a in prog.entry().args] == [None, ((), ("x",)), (("x",), ())]
    assert str(ptir.parse(str(prog))) == str(prog)
    x, w1, w2 = rand(8, 16), rand(16, 64), rand(64, 16)
    hlo = Hlo()
    got = ptir.compile(prog, target="xla-cpu", observers=[hlo])(x, w1, w2)
    counts = collectives(hlo.text)
    assert counts["all-reduce"] >= 1, counts
    assert counts["all-gather"] == 0, counts   # Megatron: activations never gathered, one sum
    plain = ptir.trace(lambda x, w1, w2: F.gelu(x @ w1) @ w2, *(ptir.spec(s.shape) for s in
                                                               (x, w1, w2)))
    single = ptir.compile(plain, target="xla-cpu")(x, w1, w2)
    np.testing.assert_allclose(got, single, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got, ref(prog)(x, w1, w2), rtol=1e-4, atol=1e-5)


def test_data_parallel_batch_split_and_device_results():
    mesh = Mesh(x=4)
    prog = ptir.trace(lambda x, w: F.relu(x @ w), sharded(ptir.spec((8, 16)), mesh, ("x", None)),
                      ptir.spec((16, 4)))
    c = ptir.compile(prog, target="xla-cpu")
    x, w = rand(8, 16), rand(16, 4)
    np.testing.assert_allclose(c(x, w), np.maximum(x @ w, 0), rtol=1e-5, atol=1e-5)
    (out,) = c.device_call(x, w)   # a global jax array: replicated, a copy on every device
    assert len(out.addressable_shards) == 4 and out.is_fully_replicated
    np.testing.assert_allclose(c.to_host(out), np.maximum(x @ w, 0), rtol=1e-5, atol=1e-5)


def test_sharded_results_gather_on_host_and_stay_split_on_device():
    text = """module @m attributes {ptir.mesh = [["x", 2], ["y", 2]]} {
  func @main(%x: tensor<8x4xf32> {ptir.sharding = [["x", "y"], []]})
      -> (tensor<8x4xf32> {ptir.sharding = [["x"], ["y"]]}, tensor<f32>) {
    %0 = ptir.tanh %x : tensor<8x4xf32>
    %1 = ptir.reduce %0 {kind = "sum", axes = [0, 1]} : tensor<f32>
    return %0, %1
  }
}"""
    c = ptir.compile(ptir.parse(text), target="xla-cpu")
    x = rand(8, 4)
    y, total = c(x)
    np.testing.assert_allclose(y, np.tanh(x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(total, np.tanh(x).sum(), rtol=1e-5)
    out, _ = c.device_call(x)
    assert {s.data.shape for s in out.addressable_shards} == {(4, 2)}
    # the output reused as an input: resharded from (x, y) to the argument's split
    np.testing.assert_allclose(c(out)[0], np.tanh(np.tanh(x)), rtol=1e-6, atol=1e-6)


def test_one_device_targets_warn_and_agree():
    x, w = rand(8, 16), rand(16, 32)
    prog = ptir.parse(matmul_text(2))
    want = ptir.compile(prog, target="xla-cpu", params={"w": w})(x)
    for target in ("ref", "llvm-cpu"):
        with pytest.warns(UserWarning, match="ignored on this target"):
            got = ptir.compile(prog, target=target, params={"w": w})(x)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_unsharded_programs_use_one_device():
    c = ptir.compile(ptir.trace(lambda x: F.tanh(x), ptir.spec((4,))), target="xla-cpu")
    assert c.lowered.mesh is None and "sdy" not in c.lowered.text
    (out,) = c.device_call(np.ones(4, np.float32))
    assert len(out.devices()) == 1


def test_frontend_errors():
    mesh = Mesh(x=2)
    with pytest.raises(TypeRuleError, match=r"shard: dim 0 of tensor<3xf32> \(size 3\) does not split evenly"):
        ptir.trace(lambda x: shard(x, mesh, ("x",)), ptir.spec((3,)))
    with pytest.raises(TypeRuleError, match="shard: one trace uses one mesh"):
        ptir.trace(lambda x: shard(shard(x, mesh, ("x",)), Mesh(y=2), ("y",)), ptir.spec((4,)))
    with pytest.raises(TypeRuleError, match="sharded: sharding names axis \"y\""):
        ptir.trace(lambda x: x, sharded(ptir.spec((4,)), mesh, ("y",)))
    with pytest.raises(ValueError, match="has size 0"):
        Mesh(x=0)
