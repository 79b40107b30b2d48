"""The models split over 2 and 4 virtual CPU devices (models/parallel.py, docs/sharding.md):
GPT-2 tensor parallel (Megatron) and the vision models data parallel give the numbers and
greedy tokens of one device, with the collectives the pattern needs in XLA's optimized HLO;
fold-params keeps weight shardings; `ptirc eval/generate --mesh` and its errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import ptir
from ptir.cli import main
from ptir.errors import TypeRuleError
from ptir.functional import Mesh, ShardingPlan, shard, sharded, sharding_plan
from ptir.functional.sharding import apply_plan, parse_mesh
from ptir.models import get_model
from ptir.models.generate import generator
from ptir.models.parallel import CollectiveCounter, data_parallel, generation_vs_one_device, gpt2_tensor_parallel
from ptir.passes.fold_params import fold_params
from ptir.runtime.xla_backend import collective_traffic

GPT2 = get_model("gpt2")
CONFIG = GPT2.config("tiny")
WEIGHTS = GPT2.random_weights(CONFIG)


def compile_forward(family, config, weights, inputs, plan):
    """The family's forward on xla-cpu under `plan` (None: one device), and the collectives."""
    counter = CollectiveCounter()
    with sharding_plan(plan):
        c = ptir.compile(family.bind(config, weights).forward, *inputs, target="xla-cpu", params=weights,
                         observers=[counter])
    return c, counter.programs[-1][1]


def weight_shards(c) -> dict[str, tuple]:
    """The shape of the first device's shard of each weight the executable placed."""
    params = [a.param for a in c.program.entry().args if a.param is not None]
    return {k: w.addressable_shards[0].data.shape for k, w in zip(params, c.executable.weights, strict=True)}


@pytest.mark.parametrize("n", [2, 4])
def test_gpt2_tensor_parallel_logits_and_collectives(n):
    ids = GPT2.example_inputs(CONFIG)
    one, _ = compile_forward(GPT2, CONFIG, WEIGHTS, ids, None)
    tp, traffic = compile_forward(GPT2, CONFIG, WEIGHTS, ids, gpt2_tensor_parallel(Mesh(x=n)))
    np.testing.assert_allclose(tp(*ids), one(*ids), rtol=1e-4, atol=1e-4)
    e, layers = CONFIG["n_embd"], CONFIG["n_layer"]
    shards = weight_shards(tp)
    assert shards["transformer.h.0.attn.c_attn.weight"] == (e, 3 * e // n)      # columns
    assert shards["transformer.h.1.mlp.c_fc.bias"] == (4 * e // n,)
    assert shards["transformer.h.0.attn.c_proj.weight"] == (e // n, e)          # rows
    assert shards["transformer.h.1.mlp.c_proj.weight"] == (4 * e // n, e)
    assert shards["transformer.wte.weight"] == (CONFIG["vocab_size"], e)        # replicated
    # Megatron: one all-reduce of the (B, T, E) activations per row-split projection, never a gather
    assert traffic["all-reduce"]["ops"] == 2 * layers, traffic
    assert traffic["all-reduce"]["bytes"] == 2 * layers * ids[0].size * e * np.dtype(np.float32).itemsize
    assert traffic["all-gather"]["ops"] == 0, traffic


@pytest.mark.parametrize("n", [2, 4])
def test_gpt2_tensor_parallel_greedy_tokens(n):
    plan = gpt2_tensor_parallel(Mesh(x=n))
    prompt = [int(t) for t in GPT2.example_inputs(CONFIG)[0][0][:8]]
    got = generation_vs_one_device(GPT2, CONFIG, WEIGHTS, prompt, 6, "xla-cpu", plan)
    assert got["tokens"] == got["one_device_tokens"] and got["agree"] == 6
    assert got["max_logit_diff"] < 1e-4
    with sharding_plan(plan):   # the cached generator of that run: its KV caches stay split by heads
        cache = generator(GPT2, CONFIG, WEIGHTS, "xla-cpu").caches[0]
    assert cache.addressable_shards[0].data.shape[1] == CONFIG["n_head"] // n


@pytest.mark.parametrize("model, n", [("resnet34", 2), ("mobilenet_v2", 4)])
def test_vision_data_parallel(model, n):
    family = get_model(model)
    config = family.config("tiny")
    weights = family.random_weights(config)
    images = family.example_inputs(config, batch=4)
    one, _ = compile_forward(family, config, weights, images, None)
    dp, traffic = compile_forward(family, config, weights, images, data_parallel(Mesh(x=n)))
    np.testing.assert_allclose(dp(*images), one(*images), rtol=1e-5, atol=1e-5)
    assert all(t["ops"] == 0 for t in traffic.values()), traffic   # inference needs no communication
    size = config["image_size"]
    hlo = dp.executable.optimized_hlo()
    assert re.search(rf"f32\[{4 // n},3,{size},{size}\]", hlo)   # each device holds its part of the batch
    assert not re.search(rf"f32\[4,3,{size},{size}\]", hlo)


def test_collective_traffic_counts_the_megatron_all_reduce():
    mesh = Mesh(x=2)

    def mlp(x, w1, w2):
        return shard(ptir.functional.gelu(x @ w1) @ w2, mesh, (None, None))
    prog = ptir.trace(mlp, ptir.spec((8, 16)), sharded(ptir.spec((16, 64)), mesh, (None, "x")),
                      sharded(ptir.spec((64, 16)), mesh, ("x", None)))
    hlo = ptir.compile(prog, target="xla-cpu").executable.optimized_hlo()
    traffic = collective_traffic(hlo)
    assert traffic["all-reduce"] == {"ops": 1, "bytes": 8 * 16 * np.dtype(np.float32).itemsize}
    assert collective_traffic(hlo.replace("all-reduce(", "all-reduce-start("))["all-reduce"]["ops"] == 1


FOLD = """module @m attributes {ptir.mesh = [["x", 2]]} {
  func @main(%x: tensor<4x8xf32>,
             %w: tensor<16x8xf32> {ptir.param = "w", ptir.sharding = [["x"], []]},
             %v: tensor<8x16xf32> {ptir.param = "v", ptir.sharding = [[], ["x"]]}) -> tensor<4x16xf32> {
    %0 = ptir.transpose %w {perm = [1, 0]} : tensor<8x16xf32>
    %1 = ptir.sharding_constraint %0 {sharding = [[], ["x"]]} : tensor<8x16xf32>
    %2 = ptir.dot_general %x, %1 {contract_lhs = [1], contract_rhs = [0]} : tensor<4x16xf32>
    %c = ptir.constant dense<2.0> : tensor<8x16xf32>
    %3 = ptir.mul %v, %c : tensor<8x16xf32>
    %4 = ptir.dot_general %x, %3 {contract_lhs = [1], contract_rhs = [0]} : tensor<4x16xf32>
    %5 = ptir.add %2, %4 : tensor<4x16xf32>
    return %5
  }
}"""


def test_fold_params_keeps_weight_shardings():
    prog = ptir.parse(FOLD)
    folded, transform = fold_params(prog)
    shardings = {a.param: a.sharding for a in folded.entry().args if a.param is not None}
    assert shardings == {"w.folded": ((), ("x",)), "v.folded": ((), ("x",))}, shardings
    rng = np.random.default_rng(0)
    x, w, v = (rng.standard_normal(s).astype(np.float32) for s in ((4, 8), (16, 8), (8, 16)))
    got = ptir.compile(prog, target="xla-cpu", params={"w": w, "v": v})(x)
    np.testing.assert_allclose(got, x @ w.T + x @ (2 * v), rtol=1e-5, atol=1e-5)


def test_plan_errors():
    prog = ptir.trace(lambda x: x + 1, ptir.spec((3, 2, 2, 2)))
    with pytest.raises(TypeRuleError, match=r"sharding_plan: argument %x: dim 0 of tensor<3x2x2x2xf32> \(size 3\)"):
        apply_plan(prog, data_parallel(Mesh(x=2)))
    with pytest.raises(TypeRuleError, match="one program uses one mesh"):
        apply_plan(ptir.trace(lambda x: shard(x, Mesh(y=2), ("y", None)), ptir.spec((4, 4))),
                   ShardingPlan(Mesh(x=2)))
    with pytest.raises(ValueError, match="each axis is NAME=SIZE"):
        parse_mesh("x:2")
    assert parse_mesh("x=2,y=2") == Mesh(x=2, y=2)


def test_eval_mesh(capsys):
    assert main(["eval", "-m", "resnet34", "--size", "tiny", "-t", "xla-cpu", "--mesh", "x=2", "--batch", "2",
                 "-f", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["mesh"]["ok"] and report["mesh"]["max_abs_err"] <= 1e-5
    assert main(["eval", "-m", "resnet34", "--size", "tiny", "-t", "ref", "--mesh", "x=2", "--batch", "2"]) == 0
    assert "--mesh x=2 is ignored on ref" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["eval", "-m", "gpt2", "--size", "tiny", "-t", "xla-cpu", "--mesh", "x=3"],
     "--mesh x=3: tensor parallelism splits gpt2's 4 heads over 3 devices"),
    (["eval", "-m", "resnet34", "--size", "tiny", "-t", "xla-cpu", "--mesh", "x=2", "--batch", "3"],
     "--mesh x=2: data parallelism splits the batch of 3 over 2 devices"),
    (["eval", "-m", "resnet34", "--size", "tiny", "-t", "xla-cpu", "--mesh", "x=8", "--batch", "8"],
     "--mesh x=8: the mesh needs 8 devices but XLA has 4"),
    (["eval", "-m", "gpt2", "--mesh", "x"], "--mesh: mesh 'x': each axis is NAME=SIZE"),
    (["generate", "--weights", "missing.safetensors", "--tokenizer", "t.json", "--prompt", "a", "--mesh", "x=0"],
     '--mesh: axis "x" has size 0'),
])
def test_bad_mesh_is_a_usage_error(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and "Traceback" not in "".join(err)


def test_generate_mesh_streams_the_one_device_tokens(tmp_path, capsys):
    from tokenizers import pre_tokenizers

    from ptir.models.tokenizer import Tokenizer
    from ptir.weights import save_params

    # a byte-level BPE without merges: one token per byte, enough to stream text
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    (tmp_path / "vocab.json").write_text(json.dumps({c: i for i, c in enumerate(alphabet)}))
    (tmp_path / "merges.txt").write_text("#version: 0.2\n")
    save_params(WEIGHTS, tmp_path / "w.safetensors")
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    files = ["--weights", str(tmp_path / "w.safetensors"), "--config", str(tmp_path / "config.json"),
             "--vocab", str(tmp_path / "vocab.json"), "--merges", str(tmp_path / "merges.txt")]
    assert main(["generate", *files, "--prompt", "Hello", "--max-tokens", "6", "-t", "xla-cpu", "--mesh", "x=2"]) == 0
    tok = Tokenizer.load(vocab=tmp_path / "vocab.json", merges=tmp_path / "merges.txt")
    want = GPT2.generate(CONFIG, WEIGHTS, tok.encode("Hello"), 6, "xla-cpu")   # one device
    out, err = capsys.readouterr()
    assert out == tok.decode(want) + "\n" and "(xla-cpu over mesh x=2," in err
