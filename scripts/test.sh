#!/usr/bin/env bash
# Set up (if needed), lint, and run the whole test suite: the unit tests of every
# component (tests/) and the conformance suite against PyTorch on every target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest -q tests "$@"
