"""Sharding while tracing (docs/sharding.md): split tensors over a device mesh, and let
XLA's SPMD partitioner (target `xla-cpu`) run the program across the mesh's devices.

    mesh = Mesh(x=2)
    prog = ptir.trace(lambda x, w: F.shard(x @ w, mesh, (None, "x")),
                      ptir.spec((4, 8)), sharded(ptir.spec((8, 16)), mesh, (None, "x")))

`shard` appends a `ptir.sharding_constraint`; `sharded` wraps a trace spec so that the
argument itself is annotated (`{ptir.sharding = ...}`: how its inputs are placed).  A
spec has one entry per dim: None (the dim whole), a mesh axis name, or a tuple of names
(major first).  Every mesh of one trace is the same mesh; it becomes the module's
`ptir.mesh`.  Other targets compute the same numbers on one device.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from ..dialect.sharding import Mesh, Spec, spec_problem, to_spec
from ..dialect.types import TensorType
from .tensor import Tensor
from .tracer import Tracer, fail

__all__ = ["Mesh", "Sharded", "shard", "sharded", "mesh_of"]

_MESHES: weakref.WeakKeyDictionary[Tracer, Mesh] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Sharded:
    """A trace spec whose argument is split over `mesh` as `spec` says (see `sharded`)."""

    spec: object   # a ptir.spec TensorType or an example numpy array
    mesh: Mesh
    sharding: Spec


def sharded(spec, mesh: Mesh, sharding) -> Sharded:
    """The trace spec `spec` (ptir.spec or an example array) for an argument split over
    `mesh` as `sharding` says, e.g. `sharded(ptir.spec((8, 16)), mesh, (None, "x"))`.
    TypeRuleError for a malformed sharding."""
    try:
        return Sharded(spec, _mesh(mesh), to_spec(sharding))
    except ValueError as e:
        fail("sharded", str(e))


def shard(x: Tensor, mesh: Mesh, sharding) -> Tensor:
    """`x` unchanged, constrained to be split over `mesh` as `sharding` says (one entry
    per dim: None, an axis name, or a tuple of names), like jax's with_sharding_constraint.
    TypeRuleError if the sharding does not fit x (rank, unknown axis, uneven split) or
    the trace already uses another mesh."""
    if not isinstance(x, Tensor):
        fail("shard", f"x must be a traced tensor, not {type(x).__name__}")
    try:
        spec = to_spec(sharding)
    except ValueError as e:
        fail("shard", str(e))
    use_mesh(x.tracer, _mesh(mesh), "shard")
    problem = spec_problem(spec, x.type, mesh)
    if problem:
        fail("shard", problem)
    return x.tracer.op("sharding_constraint", x, sharding=spec, caller="shard")


def use_mesh(tracer: Tracer, mesh: Mesh, caller: str) -> None:
    """Record that the trace of `tracer` runs over `mesh`; TypeRuleError for a second mesh."""
    known = _MESHES.get(tracer)
    if known is not None and known != mesh:
        fail(caller, f"one trace uses one mesh: {mesh.to_attr()} differs from {known.to_attr()}")
    _MESHES[tracer] = mesh


def mesh_of(tracer: Tracer) -> Mesh | None:
    """The mesh the trace of `tracer` uses, if any."""
    return _MESHES.get(tracer)


def check_argument(s: Sharded, t: TensorType) -> None:
    """TypeRuleError unless `s`'s sharding fits its argument's type `t`."""
    problem = spec_problem(s.sharding, t, s.mesh)
    if problem:
        fail("sharded", problem)


def _mesh(mesh) -> Mesh:
    if not isinstance(mesh, Mesh):
        fail("shard", f"mesh must be a ptir Mesh (e.g. Mesh(x=2)), not {type(mesh).__name__}")
    return mesh
