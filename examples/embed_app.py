"""An application that runs a model compiled by `ptirc lower`, using only IREE's runtime.

    python examples/embed_app.py model.vmfb --params weights.safetensors --input x.npy [--output y.npy]

It imports no `ptir`: the .vmfb and its ABI (docs/abi.md) are all it needs.  The entry
function is `main`; its arguments are the PTIR function's non-weight arguments in
order; the weights are IREE named parameters in the scope "model", keyed by their
`ptir.param` names, here read straight from a safetensors file.
"""

from __future__ import annotations

import argparse
import json
import sys

import iree.runtime as rt
import numpy as np


def load(vmfb_path: str, params_path: str | None, driver: str = "local-task"):
    instance = rt.VmInstance()
    device = rt.get_device(driver)
    modules = []
    if params_path:
        index = rt.ParameterIndex()
        index.load(params_path)
        modules.append(rt.create_io_parameters_module(instance, index.create_provider(scope="model")))
    module = rt.VmModule.mmap(instance, vmfb_path)
    modules += [rt.create_hal_module(instance, device), module]
    context = rt.VmContext(instance, modules=modules)
    main = module.lookup_function("main")
    return rt.FunctionInvoker(context, device, main), main.reflection


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("vmfb")
    ap.add_argument("--params", help="safetensors file with the model's weights")
    ap.add_argument("--input", action="append", default=[], help="an .npy file per input, in order")
    ap.add_argument("--output", help="write the first result to this .npy file")
    args = ap.parse_args(argv)
    invoke, reflection = load(args.vmfb, args.params)
    signature = json.loads(reflection.get("ptir.signature", "{}"))
    inputs = [np.load(p) for p in args.input]
    results = invoke(*inputs)
    results = results if isinstance(results, tuple | list) else (results,)
    # Copy out: to_host() is a view into memory the device array owns.
    arrays = [np.array(r.to_host(), copy=True) for r in results]
    for i, a in enumerate(arrays):
        print(f"result{i}: {a.dtype} {list(a.shape)} (declared {signature.get('results', ['?'] * (i + 1))[i]})")
    if args.output:
        np.save(args.output, arrays[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
