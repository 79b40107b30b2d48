"""The core op set of PTIR.md; importing this package registers every op."""

from . import elementwise, indexing, linalg, reduction, shape, sharding  # noqa: F401
