#!/usr/bin/env bash
# Set up (if needed), then take the example program through ptirc: check it, lower it to
# an IREE .vmfb (weights as named parameters), run that, and run it on XLA and the reference.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ptirc=.venv/bin/ptirc
out=${DEMO_OUT:-build/demo}
mkdir -p "$out"
set -x
$ptirc check examples/mlp.ptir
.venv/bin/python examples/make_mlp_weights.py "$out/mlp.safetensors"
$ptirc lower examples/mlp.ptir --target llvm-cpu -o "$out/mlp.vmfb" --dump-dir "$out/dump"
$ptirc run "$out/mlp.vmfb" --params "$out/mlp.safetensors"
$ptirc run examples/mlp.ptir --target xla-cpu --params "$out/mlp.safetensors"
$ptirc run examples/mlp.ptir --target ref --params "$out/mlp.safetensors"
