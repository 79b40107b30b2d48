"""Write seeded random weights for examples/mlp.ptir to a safetensors file."""

import sys

import numpy as np
from safetensors.numpy import save_file

rng = np.random.default_rng(0)
weights = {
    "fc1.weight": rng.standard_normal((8, 16)).astype(np.float32) * 0.5,
    "fc1.bias": rng.standard_normal(16).astype(np.float32) * 0.1,
    "fc2.weight": rng.standard_normal((16, 3)).astype(np.float32) * 0.5,
}
save_file(weights, sys.argv[1] if len(sys.argv) > 1 else "mlp.safetensors")
