"""ptir.param weights: as arguments, as IREE named parameters from safetensors, as constants."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import ptir
from ptir.lower_stablehlo import PARAM_SCOPE, lower
from ptir.weights import load_params, save_params

from .runners import IreeModule, compile_iree, run_iree, run_xla

MLP = (pathlib.Path(__file__).parents[2] / "examples" / "mlp.ptir").read_text()


@pytest.fixture(scope="module")
def mlp():
    prog = ptir.parse(MLP, "mlp.ptir")
    rng = np.random.default_rng(7)
    params = {a.param: rng.standard_normal(a.value.type.shape).astype(np.float32)
              for a in prog.entry().args if a.param}
    x = rng.standard_normal(prog.entry().inputs[0].value.type.shape).astype(np.float32)
    want = ptir.compile(prog, "ref", params=params)(x)
    return prog, params, x, want


def close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)   # f32 matmuls summed in another order


def test_arguments_mode_takes_every_argument_in_order(mlp):
    prog, params, x, want = mlp
    lowered = lower(prog)
    fn = prog.entry()
    assert [a.value.name for a in lowered.input_args] == [a.value.name for a in fn.args]
    assert lowered.params == ["fc1.weight", "fc1.bias", "fc2.weight"]
    assert lowered.entry == "main" and lowered.module_name == "mlp"
    args = [x, *(params[p] for p in lowered.params)]
    close(run_xla(lowered.text, args)[0], want)


def test_globals_mode_runs_on_iree_with_safetensors(mlp, tmp_path):
    import iree.runtime as rt

    prog, params, x, want = mlp
    lowered = lower(prog, params_mode="globals")
    assert [a.value.name for a in lowered.input_args] == ["x"]
    assert '#flow.parameter.named<"model"::"fc1.weight">' in lowered.text
    path = tmp_path / "weights.safetensors"
    save_params(params, path)
    vmfb = compile_iree(lowered.text)
    assert len(vmfb) < 64 * 1024   # the weights stay out of the module

    index = rt.ParameterIndex()
    index.load(str(path))
    config = rt.Config("local-task")
    params_module = rt.create_io_parameters_module(config.vm_instance, index.create_provider(scope=PARAM_SCOPE))
    module = IreeModule(vmfb, config=config, modules=[params_module])
    close(module.call("main", x)[0], want)
    assert set(load_params(path)) == set(lowered.params)


def test_constants_mode_embeds_the_weights(mlp):
    prog, params, x, want = mlp
    lowered = lower(prog, params_mode="constants", params=params)
    assert [a.value.name for a in lowered.input_args] == ["x"]
    close(run_xla(lowered.text, [x])[0], want)
    close(run_iree(lowered.text, [x])[0], want)


def test_param_names_become_unique_symbols():
    prog = ptir.parse("""module {
      func @main(%a: tensor<2xf32> {ptir.param = "l.0.w"}, %b: tensor<2xf32> {ptir.param = "l_0_w"},
                 %c: tensor<2xf32> {ptir.param = "9\\"q"}) -> tensor<2xf32> {
        %0 = ptir.add %a, %b : tensor<2xf32>
        %1 = ptir.add %0, %c : tensor<2xf32>
        return %1
      }
    }""")
    text = lower(prog, params_mode="globals").text
    assert "@l_0_w =" in text and "@l_0_w_1 =" in text and '@_9_q = #flow.parameter.named<"model"::"9\\"q">' in text
