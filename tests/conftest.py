"""Options shared by the whole suite: `pytest tests/conformance --target llvm-cpu` runs the
conformance cases on one target (default: every target)."""

from ptir.runtime import TARGETS


def pytest_addoption(parser):
    parser.addoption("--target", action="append", default=None, choices=list(TARGETS),
                     help="target to check (repeatable; default: every target)")
    parser.addoption("--models", action="store_true", help="conformance: also check the full models (tiny configs)")
