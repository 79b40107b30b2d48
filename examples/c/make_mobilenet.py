"""Write MobileNetV2 as a PTIR program for `ptirc lower`, with its weights and an input.

    python examples/c/make_mobilenet.py OUT_DIR [--size tiny|full] [--seed 0]
        [--weights W.safetensors] [--torch]

writes OUT_DIR/model.ptir (the family's ptir module traced: a 1x3xSxS image in, the
logits out, each weight a `ptir.param` argument under its torch state_dict name),
OUT_DIR/weights.safetensors and OUT_DIR/input.npy (a seeded image).  The weights are
seeded random ones, the same as `ptirc export --model mobilenet_v2 --size SIZE --seed
N` writes (either file binds the program), unless --weights names an exported or
torchvision checkpoint.  --torch also writes OUT_DIR/torch.npy, torch's logits.

Batch norm stays in the program as ops on the weights: IREE hoists weight-only work
into the module's initializer, so it runs once when the weights load (measured: the
same latency as the program with batch norm folded in by ptirc's fold-params).
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from safetensors.numpy import save_file

import ptir
from ptir.models import get_model


def make(out_dir: str, size: str = "tiny", seed: int = 0, weights_path: str | None = None,
         torch_reference: bool = False) -> dict[str, str]:
    """Write the files; returns their paths by kind (model, weights, input, torch)."""
    family = get_model("mobilenet_v2")
    if weights_path:
        weights, config = family.load_checkpoint(weights_path)
    else:
        config = family.config(size)
        weights = family.random_weights(config, seed)
    module = family.bind(config, weights)
    x = family.example_inputs(config, seed)[0]
    program = ptir.trace(module.forward, ptir.spec(x.shape))
    os.makedirs(out_dir, exist_ok=True)
    paths = {k: os.path.join(out_dir, f) for k, f in
             (("model", "model.ptir"), ("weights", "weights.safetensors"), ("input", "input.npy"))}
    with open(paths["model"], "w") as f:
        f.write(str(program))
    save_file({k: np.ascontiguousarray(v) for k, v in module.state_dict().items()}, paths["weights"])
    np.save(paths["input"], x)
    if torch_reference:
        import torch

        with torch.no_grad():
            logits = family.torch_module(config, weights)(torch.from_numpy(x)).numpy()
        paths["torch"] = os.path.join(out_dir, "torch.npy")
        np.save(paths["torch"], logits)
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--size", choices=("tiny", "full"), default="tiny")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--weights", help="a checkpoint (ptirc export, torchvision .pth) instead of random weights")
    ap.add_argument("--torch", action="store_true", help="also write torch's logits for the input")
    args = ap.parse_args(argv)
    for kind, path in make(args.out_dir, args.size, args.seed, args.weights, args.torch).items():
        print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
