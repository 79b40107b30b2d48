"""The backend protocol on every target: same results, clear errors on bad input."""

import numpy as np
import pytest

import ptir
from ptir.errors import RunError, UsageError
from ptir.runtime import get_backend

TARGETS = ["ref", "llvm-cpu", "xla-cpu"]


@pytest.mark.parametrize("passes", [None, ()], ids=["optimized", "baseline"])
@pytest.mark.parametrize("target", TARGETS)
def test_targets_agree_with_ref(target, passes, mlp, mlp_params, mlp_input):
    want = ptir.compile(mlp, "ref", params=mlp_params, passes=())(mlp_input)
    got = ptir.compile(mlp, target, params=mlp_params, passes=passes)(mlp_input)
    assert got.dtype == np.float32 and got.shape == (4, 3)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_embedded_params_give_the_same_results(mlp, mlp_params, mlp_input):
    want = ptir.compile(mlp, "llvm-cpu", params=mlp_params)(mlp_input)
    got = ptir.compile(mlp, "llvm-cpu", params=mlp_params, embed_params=True)(mlp_input)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("target", TARGETS)
def test_wrong_inputs_are_named(target, mlp, mlp_params, mlp_input):
    f = ptir.compile(mlp, target, params=mlp_params)
    with pytest.raises(RunError, match=r"@main takes 1 input \(%x\), got 2"):
        f(mlp_input, mlp_input)
    with pytest.raises(RunError, match=r"input %x: expected tensor<4x8xf32>, got float32 array of shape \(8, 4\)"):
        f(mlp_input.T.copy())
    with pytest.raises(RunError, match=r"input %x: expected tensor<4x8xf32>, got float64"):
        f(mlp_input.astype(np.float64))


@pytest.mark.parametrize("target", TARGETS)
def test_missing_and_misshaped_weights_are_named(target, mlp, mlp_params, mlp_input):
    partial = {k: v for k, v in mlp_params.items() if k != "fc1.bias"}
    with pytest.raises(RunError, match=r'missing weight "fc1.bias" for argument %b1'):
        ptir.compile(mlp, target, params=partial)(mlp_input)
    bad = dict(mlp_params, **{"fc2.weight": np.zeros((3, 16), np.float32)})
    with pytest.raises(RunError, match=r'weight "fc2.weight": expected tensor<16x3xf32>, got float32 array'):
        ptir.compile(mlp, target, params=bad)(mlp_input)


def test_unknown_target_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown target 'cuda'"):
        get_backend("cuda")


def test_malformed_iree_flag(mlp):
    with pytest.raises(UsageError, match="malformed IREE flag"):
        ptir.compile(mlp, "llvm-cpu", flags=["O3"])


def test_results_own_their_memory(mlp, mlp_params, mlp_input):
    """IREE's to_host() views device memory; the runtime must hand out copies."""
    f = ptir.compile(mlp, "llvm-cpu", params=mlp_params)
    first = f(mlp_input)
    keep = first.copy()
    for _ in range(20):
        f(mlp_input * 2)
    assert first.flags.owndata or first.base is None or isinstance(first.base, np.ndarray)
    np.testing.assert_array_equal(first, keep)


def test_data_tiling_failure_falls_back_with_a_warning():
    """IREE 3.13's data tiling cannot pack an i1 mask that selects on a matmul result;
    the module is compiled again without data tiling."""
    import ptir.functional as F

    def masked(q, k, m):
        return F.where(m, q @ k, 0.0)

    rng = np.random.default_rng(0)
    q, k = rng.standard_normal((6, 16)).astype(np.float32), rng.standard_normal((16, 9)).astype(np.float32)
    m = rng.random((6, 9)) < 0.5
    with pytest.warns(UserWarning, match="IREE.s data tiling failed on this module"):
        got = ptir.compile(masked, q, k, m, target="llvm-cpu", cache=False)(q, k, m)
    np.testing.assert_allclose(got, np.where(m, q @ k, 0), rtol=1e-5, atol=1e-5)
