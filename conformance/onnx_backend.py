"""PTIR as an ONNX backend (`onnx.backend.base.Backend`), one per target, so that ONNX's
own backend test suite (`onnx.backend.test.BackendTest`) runs on PTIR as it runs on
onnxruntime:

    backend = ptir_backend("llvm-cpu")
    rep = backend.prepare(model)                  # import (ptir.from_onnx) and compile
    outputs = rep.run([x])                        # numpy in, a tuple of numpy out

A graph input whose value decides a shape (a Reshape's shape, a Slice's starts fed at
run time) cannot be compiled ahead of its value: such a model is compiled at `run`,
with those inputs bound as constants, once per distinct value.  A model PTIR cannot
import raises OnnxImportError from `prepare`, naming every unsupported node; one the
target cannot run (TARGET_LIMITS) raises TargetLimitError, a kind of OnnxImportError.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.base import Backend, BackendRep

import ptir
from ptir.importers.onnx import OnnxImportError, from_onnx

from .records import IREE_F64_UNLINKED


def _f64_unlinked(fn) -> bool:
    """An f64 op IREE's llvm-cpu cannot link (IREE_F64_UNLINKED)."""
    return any(op.name in IREE_F64_UNLINKED and op.results[0].type.dtype.name == "f64" for op in fn.ops)


# What a target cannot run, whatever the importer does: {target: [(test on the imported
# program's entry, why)]}.  f64 is kept on llvm-cpu (KEEP_F64 in ptir/runtime/iree_backend.py)
# and computed right but for the libm functions IREE does not link; the xla backend works
# around XLA's splat-kernel convolution bug (YNN_NO_REDUCE in ptir/runtime/xla_backend.py).
TARGET_LIMITS = {
    "llvm-cpu": [(_f64_unlinked, "f64 " + ", ".join(IREE_F64_UNLINKED) + ": IREE 3.13's llvm-cpu links no f64 "
                                 + ", ".join(sorted(set(IREE_F64_UNLINKED.values()))) + " ('iree-lld: error: "
                                 "undefined symbol')")],
}


class TargetLimitError(OnnxImportError):
    """A model the importer takes but the target cannot run (TARGET_LIMITS)."""


def check_target(program, target: str) -> None:
    """TargetLimitError when `program` has what its target cannot run (TARGET_LIMITS)."""
    fn = program.entry()
    for test, why in TARGET_LIMITS.get(target, []):
        if test(fn):
            raise TargetLimitError(f"{target}: {why}")


class PtirRep(BackendRep):
    """A prepared model: the compiled program, or the recipe to compile it once the
    shape-deciding inputs are known."""

    def __init__(self, model: onnx.ModelProto, target: str, passes=None):
        self.model, self.target, self.passes = model, target, passes
        inits = {t.name for t in model.graph.initializer}
        self.input_names = [i.name for i in model.graph.input if i.name not in inits]
        self.bound: tuple[str, ...] = ()
        self.compiled: dict[bytes, ptir.Compiled] = {}
        try:
            self.compiled[b""] = self._compile({})
        except OnnxImportError as e:
            if not e.inputs_needed or not set(e.inputs_needed) <= set(self.input_names):
                raise
            self.bound = e.inputs_needed   # compiled at run, for their values

    def _compile(self, constants: dict) -> ptir.Compiled:
        program, weights = from_onnx(self.model, constants=constants)
        check_target(program, self.target)
        return ptir.compile(program, target=self.target, params=weights, passes=self.passes)

    def run(self, inputs, **kwargs) -> tuple:
        """The model's outputs, in order, for `inputs` (a list in the order of the graph's
        non-initializer inputs, or a dict by name)."""
        values = dict(inputs) if isinstance(inputs, dict) else dict(zip(self.input_names, inputs, strict=False))
        values = {k: onnx_value(v) for k, v in values.items()}
        key = b"".join(np.ascontiguousarray(values[n]).tobytes() + str(np.shape(values[n])).encode()
                       for n in self.bound)
        if key not in self.compiled:
            self.compiled[key] = self._compile({n: values[n] for n in self.bound})
        args = [values[n] for n in self.input_names if n not in self.bound]
        compiled = self.compiled[key]
        return tuple(compiled.executable.to_host(v) for v in compiled.device_call(*args))


def onnx_value(v):
    """An input as numpy (onnx's test cases hold some as TensorProtos); sequences and
    optionals as they are."""
    if isinstance(v, onnx.TensorProto):
        return numpy_helper.to_array(v)
    return v if isinstance(v, list | dict) or v is None else np.asarray(v)


class PtirBackend(Backend):
    """PTIR on one target (`target`, the class attribute); CPU only."""

    target = "ref"
    passes = None

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs) -> PtirRep:
        """Import and compile `model`; OnnxImportError if PTIR cannot take it."""
        return PtirRep(model, cls.target, cls.passes)

    @classmethod
    def run_model(cls, model: onnx.ModelProto, inputs, device: str = "CPU", **kwargs) -> tuple:
        """prepare, then run once."""
        return cls.prepare(model, device).run(inputs)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        """The CPU targets only."""
        return device == "CPU"


def ptir_backend(target: str, passes=None) -> type[PtirBackend]:
    """The backend class for `target` (ref, llvm-cpu, xla-cpu); `passes=()` compiles
    without the optimizer."""
    return type(f"PtirBackend_{target.replace('-', '_')}", (PtirBackend,), {"target": target, "passes": passes})
