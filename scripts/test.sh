#!/usr/bin/env bash
# Set up (if needed), lint, and run the whole test suite: the unit tests of every
# component (tests/) and the conformance suite against PyTorch on every target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
# The installed (non-editable) package is checked from a fresh venv too (tests/test_packaging.py).
PTIR_CHECK_INSTALL=${PTIR_CHECK_INSTALL:-1} .venv/bin/python -m pytest -q tests "$@"
