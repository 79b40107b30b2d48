"""Peak resident memory of PTIR against torch eager for the same workload, each in a
fresh process (so neither pays for the other's libraries).

    python benchmarks/memory.py --model resnet34 [--target llvm-cpu] [--runs 10]

Weights are written once with `ptirc export` (seeded random); each child loads them,
prepares its model (PTIR: compile, cache off; torch: build and load the state_dict),
runs `--runs` forward passes and reports its peak RSS (getrusage ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys
model, target, weights_path, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
from ptir.models import get_model
family = get_model(model)
weights, config = family.load_checkpoint(weights_path)
x = family.example_inputs(config, 0)
if target == "torch-eager":
    import torch
    m = family.torch_module(config, weights)
    xs = [torch.from_numpy(a) for a in x]
    with torch.no_grad():
        for _ in range(runs):
            m(*xs)
else:
    import os, ptir
    os.environ["PTIR_CACHE"] = "0"
    module = family.bind(config, weights)
    del weights
    f = ptir.compile(module.forward, *x, target=target, params=module.state_dict(),
                     flags=list(family.iree_flags) if target == "llvm-cpu" else ())
    for _ in range(runs):
        f(*x)
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def peak(model: str, impl: str, weights: str, runs: int) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, model, impl, weights, str(runs)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["peak_rss_mb"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet34")
    ap.add_argument("--target", default="llvm-cpu")
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        weights = os.path.join(d, "w.safetensors")
        subprocess.run([sys.executable, "-m", "ptir.cli", "export", "--model", args.model, "-o", weights], check=True,
                       capture_output=True)
        ours = peak(args.model, args.target, weights, args.runs)
        torch_mb = peak(args.model, "torch-eager", weights, args.runs)
    print(f"{args.model}: peak RSS ptir-{args.target} {ours:.0f} MB, torch-eager {torch_mb:.0f} MB "
          f"(ratio {ours / torch_mb:.2f})")


if __name__ == "__main__":
    main()
