"""ONNX's own backend test suite on PTIR, run the standard way: `onnx.backend.test.BackendTest`
drives a PTIR `onnx.backend.base.Backend` (one per target), as it does onnxruntime's.

CI runs every node case and every shipped pytorch-converted, pytorch-operator and simple
model on `ref`, the CI sample (ptir.conformance.onnx_cases.CI_SAMPLE: every mapping of
the table at least once) on `xla-cpu`, and its most structured part (CI_SAMPLE_LLVM) on
`llvm-cpu`, whose compiles are the slow ones.  A case PTIR refuses (an op,
attribute or dtype it does not take) or that is out of scope (random ops, training) is
skipped with the importer's reason; a wrong result fails.  Tolerances are ONNX's own
(rtol 1e-3, atol 1e-7) unless a rule of configs/conformance.json names the case.

The full run on every target (with the light model zoo), and its counts:

    .venv/bin/ptirc conformance --onnx all --target ref --target llvm-cpu --target xla-cpu
    PTIR_ONNX_FULL=1 .venv/bin/python -m pytest tests/importers/test_onnx_backend.py
"""

from __future__ import annotations

import os
import re
import unittest

import onnx.backend.test
import pytest

from ptir.configs import CONFORMANCE
from ptir.conformance.onnx_backend import PtirBackend, ptir_backend
from ptir.conformance.onnx_cases import CI_SAMPLE, CI_SAMPLE_LLVM, OnnxCase, out_of_scope, tolerance
from ptir.conformance.tolerance import load_rules
from ptir.importers.onnx import OnnxImportError

FULL = bool(os.environ.get("PTIR_ONNX_FULL"))
RULES = load_rules(CONFORMANCE)
MODEL_KINDS = ("PyTorchConverted", "PyTorchOperator", "Simple") + (("Real",) if FULL else ())


def _pattern(names) -> re.Pattern:
    return re.compile(r"^(" + "|".join(names) + r")_cpu$")


def _skip_refusals(call, *args, **kwargs):
    """`call`, with PTIR's refusals (OnnxImportError: an op, attribute or dtype it does not
    take, or one the target cannot run) as skips."""
    try:
        return call(*args, **kwargs)
    except OnnxImportError as e:
        raise unittest.SkipTest(f"unsupported: {str(e).splitlines()[-1].strip()}") from None


class _SkippingRep:
    """A prepared model whose refusals at run (a model compiled for the values of its
    shape inputs) are skips too."""

    def __init__(self, rep):
        self.rep = rep

    def run(self, inputs, **kwargs):
        return _skip_refusals(self.rep.run, inputs, **kwargs)


def skipping(target: str) -> type[PtirBackend]:
    """The backend of `target`, skipping what PTIR refuses or leaves out of scope."""
    base = ptir_backend(target)

    class Skipping(base):
        @classmethod
        def prepare(cls, model, device="CPU", **kwargs):
            why = out_of_scope(model)
            if why:
                raise unittest.SkipTest(f"out of scope: {why}")
            return _SkippingRep(_skip_refusals(super().prepare, model, device, **kwargs))

    return Skipping


def _kwargs(target: str) -> dict:
    """Per-case tolerances from configs/conformance.json (test `onnx.node.<case>`)."""
    from ptir.conformance.onnx_cases import _node_tests

    out = {}
    for t in _node_tests():
        atol, rtol, rule, _ = tolerance(OnnxCase(t.name, "node", t.rtol, t.atol, t), target, RULES)
        if rule != "onnx":
            out[t.name] = {"atol": atol, "rtol": rtol}
    return out


def suite(target: str, everything: bool, sample=CI_SAMPLE) -> dict:
    """BackendTest's test classes for `target`: every node case and model case of
    MODEL_KINDS when `everything`, else the `sample`'s node cases (only the cases run are
    collected)."""
    chosen = _pattern(sample)
    tests = onnx.backend.test.BackendTest(skipping(target), __name__, test_kwargs=_kwargs(target))
    out = {}
    for name, case in tests.test_cases.items():
        kind = name.removeprefix("OnnxBackend").removesuffix("ModelTest")
        keep = kind == "Node" or (everything and kind in MODEL_KINDS)
        for method in [m for m in vars(case) if m.startswith("test_")]:
            if not keep or method.endswith("_cuda") or not (everything or chosen.match(method)):
                delattr(case, method)
        if keep:
            case.__name__ = case.__qualname__ = f"{name}_{target.replace('-', '_')}"
            out[case.__name__] = case
    return out


globals().update(suite("ref", everything=True))
globals().update(suite("llvm-cpu", everything=FULL, sample=CI_SAMPLE_LLVM))
globals().update(suite("xla-cpu", everything=FULL))


@pytest.fixture(autouse=True, scope="module")
def _light_models_stay_in_tmp(tmp_path_factory):
    """The light model zoo's inputs are written under ONNX_HOME: keep them out of $HOME."""
    old = os.environ.get("ONNX_HOME")
    os.environ["ONNX_HOME"] = str(tmp_path_factory.mktemp("onnx_home"))
    yield
    if old is None:
        os.environ.pop("ONNX_HOME", None)
    else:
        os.environ["ONNX_HOME"] = old
