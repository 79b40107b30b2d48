"""Conformance of PTIR ops, functionals and models against PyTorch on every target."""
