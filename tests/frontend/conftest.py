"""Frontend test fixtures.  Every numeric test takes the `target` fixture, so the suite
runs on more backends by listing them: PTIR_FRONTEND_TARGETS=ref,llvm-cpu pytest tests/frontend"""

import os

import numpy as np
import pytest

import ptir

TARGETS = [t for t in os.environ.get("PTIR_FRONTEND_TARGETS", "ref").split(",") if t]


@pytest.fixture(params=TARGETS)
def target(request):
    return request.param


@pytest.fixture
def run(target):
    """run(fn, *arrays, params=None): trace fn on the arrays' types, compile for the target, run."""
    def _run(fn, *arrays, params=None):
        return ptir.compile(fn, *arrays, target=target, params=params)(*arrays)
    return _run


@pytest.fixture
def rng():
    return np.random.default_rng(0)
