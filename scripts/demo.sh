#!/usr/bin/env bash
# Set up (if needed), then check, run and compile the example program through ptirc.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ptirc=.venv/bin/ptirc
out=${DEMO_OUT:-build/demo}
mkdir -p "$out"
set -x
$ptirc check examples/mlp.ptir
.venv/bin/python examples/make_mlp_weights.py "$out/mlp.safetensors"
$ptirc run examples/mlp.ptir --target ref --params "$out/mlp.safetensors"
