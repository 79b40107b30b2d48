"""The passes keep results bit for bit on the `ref` target.

Every lit input, the MLP example and a conv+BatchNorm program run before and after the
default pipeline (and after their own passes, and after fold-params) on random data
laced with signed zeros, infinities, NaN and integer extremes, which is where a wrong
algebraic identity would show.
"""

from __future__ import annotations

import numpy as np
import pytest

import ptir
from ptir.passes import PASSES, fold_params, optimize, run_pipeline

from ._lit import load_all
from ._programs import assert_same_bits, is_static, parse, programs, random_data, run_ref

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")   # inf and NaN are fed on purpose

PROGRAMS = programs()
SEEDS = (0, 1, 2)
RUNS = {c.id: c.passes for c in load_all()}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_passes_keep_results(name):
    program = parse(PROGRAMS[name], name)
    if not is_static(program):
        pytest.skip("dynamic argument shapes")
    before = str(program)
    variants = {"default pipeline": run_pipeline(program)}
    if name in RUNS and not reassociates(RUNS[name]):
        variants[",".join(RUNS[name])] = run_pipeline(program, RUNS[name])
    folded, transform = fold_params(variants["default pipeline"])
    for optimized in variants.values():
        ptir.verify(optimized)
    for seed in SEEDS:
        inputs, params = random_data(program, np.random.default_rng(seed))
        want = run_ref(program, inputs, params)
        for what, optimized in variants.items():
            assert_same_bits(run_ref(optimized, inputs, params), want, f"{name} after {what}")
        assert_same_bits(run_ref(folded, inputs, transform(params)), want, f"{name} after fold-params")
    assert str(program) == before, "an optimization changed its input program"


def test_each_pass_alone_keeps_results():
    # A pass may rely on another having run first; each must still be right on its own.
    for name, text in PROGRAMS.items():
        program = parse(text, name)
        if not is_static(program):
            continue
        inputs, params = random_data(program, np.random.default_rng(1))
        want = run_ref(program, inputs, params)
        plain, plain_params = random_data(program, np.random.default_rng(1), specials=False)
        for p in PASSES:
            optimized = run_pipeline(program, [p])
            if PASSES[p].reassociates:   # reordered arithmetic: close on finite data, not bit for bit
                assert_close(run_ref(optimized, plain, plain_params), run_ref(program, plain, plain_params),
                             f"{name} after {p}")
            else:
                assert_same_bits(run_ref(optimized, inputs, params), want, f"{name} after {p}")


def reassociates(passes) -> bool:
    return any(PASSES[p].reassociates for p in passes)


def assert_close(got, want, what):
    """A declared reassociation: the same values but in the last bits (and NaN/inf where
    the reference has them)."""
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=1e-5, atol=1e-5,
                                   err_msg=what)


def test_fold_conv_scale_makes_batch_norm_one_convolution():
    program = parse(PROGRAMS["conv_bn"])
    inputs, params = random_data(program, np.random.default_rng(4), specials=False)
    optimized, new_params = optimize(program, params, passes=["fold-conv-scale", "canonicalize", "dce"])
    assert "ptir.mul" not in str(optimized) and str(optimized).count("ptir.conv") == 1
    assert_close(run_ref(optimized, inputs, new_params), run_ref(program, inputs, params), "conv_bn")


def test_optimize_runs_the_pipeline_then_fold_params():
    program = parse(PROGRAMS["conv_bn"])
    inputs, params = random_data(program, np.random.default_rng(2), specials=False)
    stages = []
    optimized, new_params = optimize(program, params, on_stage=lambda name, p: stages.append(name))
    assert stages == ["canonicalize", "channels-last", "simplify", "conv-algorithm", "fold-constants", "cse", "dce",
                      "fold-params"]
    assert set(new_params) == {"conv.weight.folded", "bn.bias.folded"}
    assert_same_bits(run_ref(optimized, inputs, new_params), run_ref(program, inputs, params))
    same, none = optimize(program)
    assert none is None and "rsqrt" in str(same)


def test_compile_on_ref_agrees():
    # The same check through ptir.compile, the way users run programs.
    program = parse(PROGRAMS["examples/mlp"])
    inputs, params = random_data(program, np.random.default_rng(3), specials=False)
    want = ptir.compile(program, "ref", params=params)(*inputs)
    got = ptir.compile(run_pipeline(program), "ref", params=params)(*inputs)
    assert_same_bits([got], [want])
