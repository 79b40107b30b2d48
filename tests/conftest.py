"""Options shared by the whole suite: `pytest tests/conformance --target llvm-cpu` runs the
conformance cases on one target (default: every target)."""

import os

# Four virtual CPU devices for the SPMD tests (tests/sharding); XLA reads this when JAX starts
# its backend, so it is set before anything imports jax.  One-device programs still use one.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")

from ptir.runtime import TARGETS  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--target", action="append", default=None, choices=list(TARGETS),
                     help="target to check (repeatable; default: every target)")
    parser.addoption("--models", action="store_true", help="conformance: also check the full models (tiny configs)")
