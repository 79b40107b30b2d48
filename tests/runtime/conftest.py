import os

import numpy as np
import pytest

import ptir

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


@pytest.fixture
def mlp():
    with open(os.path.join(EXAMPLES, "mlp.ptir")) as f:
        return ptir.parse(f.read(), "mlp.ptir")


@pytest.fixture
def mlp_params():
    rng = np.random.default_rng(0)
    return {"fc1.weight": rng.standard_normal((8, 16)).astype(np.float32),
            "fc1.bias": rng.standard_normal(16).astype(np.float32),
            "fc2.weight": rng.standard_normal((16, 3)).astype(np.float32)}


@pytest.fixture
def mlp_input():
    return np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Each test gets its own compile cache, so hits and misses are the test's own."""
    monkeypatch.setenv("PTIR_CACHE_DIR", str(tmp_path / "cache"))
