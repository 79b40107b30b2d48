"""Peers that `ptirc eval --workload bench` measures beside PTIR, in the same process:
torch.compile (inductor, with freezing) and ONNX Runtime (CPU execution provider).

Each peer is `setup(model, inputs) -> zero-argument call`; its setup time (export,
compilation, a first call) is reported as its compile time.  onnxruntime and onnx are
the optional `bench` extra: `pip install -e '.[bench]'`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

from ptir.errors import UsageError


def _require(module: str, peer: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise UsageError(f"peer {peer} needs the '{module}' package: pip install -e '.[bench]'") from None


def torch_compile(m, inputs) -> Callable[[], object]:
    """torch.compile with inductor's freezing (weights constant-folded into the graph), the
    strongest torch configuration for inference on a CPU."""
    import torch
    import torch._inductor.config as inductor

    inductor.freezing = True
    model, xs = m.torch(), [torch.from_numpy(x) for x in inputs]
    compiled = torch.compile(model)

    def run():
        with torch.no_grad():
            return compiled(*xs)
    run()   # compiles: counted as setup
    return run


def onnxruntime(m, inputs) -> Callable[[], object]:
    """The torch reference exported to ONNX (TorchScript exporter, dynamo=False) and run by
    ONNX Runtime's CPU execution provider with all graph optimizations."""
    import torch

    ort = _require("onnxruntime", "onnxruntime")
    _require("onnx", "onnxruntime")
    model, xs = m.torch(), tuple(torch.from_numpy(x) for x in inputs)
    names = [f"input{i}" for i in range(len(xs))]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.onnx")
        with torch.no_grad():
            torch.onnx.export(model, xs, path, input_names=names, dynamo=False, opset_version=17)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        threads = torch.get_num_threads()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feed = dict(zip(names, inputs, strict=True))
    return lambda: session.run(None, feed)


PEERS = {"torch-compile": torch_compile, "onnxruntime": onnxruntime}
