import numpy as np

import ptir

MLP = open(__file__.replace("tests/test_smoke.py", "examples/mlp.ptir")).read()


def test_example_runs_on_ref():
    prog = ptir.parse(MLP, "mlp.ptir")
    rng = np.random.default_rng(0)
    params = {"fc1.weight": rng.standard_normal((8, 16)).astype(np.float32),
              "fc1.bias": rng.standard_normal(16).astype(np.float32),
              "fc2.weight": rng.standard_normal((16, 3)).astype(np.float32)}
    x = rng.standard_normal((4, 8)).astype(np.float32)
    y = ptir.compile(prog, "ref", params=params)(x)
    h = np.tanh(x @ params["fc1.weight"] + params["fc1.bias"]) @ params["fc2.weight"]
    want = np.exp(h - h.max(-1, keepdims=True))
    want /= want.sum(-1, keepdims=True)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
