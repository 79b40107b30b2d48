"""`pytest tests/conformance --target llvm-cpu [--target xla-cpu ...]`: the conformance
suite under pytest, one test per case, target and pipeline (options in tests/conftest.py)."""

import pytest

from ptir.runtime import TARGETS


def pytest_generate_tests(metafunc):
    from ptir.conformance.runner import PIPELINES, all_cases

    if "case" not in metafunc.fixturenames:
        return
    targets = metafunc.config.getoption("--target") or list(TARGETS)
    cases = all_cases(models=metafunc.config.getoption("--models"))
    params = []
    for c in cases:
        if c.error is not None:
            params.append(pytest.param(c, "capture", "-", id=c.name))
        else:
            params += [pytest.param(c, t, p, id=f"{c.name}-{t}-{p}") for t in targets for p in PIPELINES]
    metafunc.parametrize("case,target,pipeline", params)
