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

import contextvars
import fnmatch
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..dialect.sharding import MESH_ATTR, Mesh, Spec, program_mesh, spec_problem, to_spec
from ..dialect.types import TensorType
from .tensor import Tensor
from .tracer import Tracer, fail

__all__ = ["Mesh", "Sharded", "ShardingPlan", "shard", "sharded", "sharding_plan", "active_plan", "apply_plan",
           "parse_mesh", "mesh_of"]

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


# --- sharding plans: shardings chosen by name and rank, applied to every trace in a block -----------

@dataclass(frozen=True)
class ShardingPlan:
    """How a model's tensors are split over `mesh` without touching the model's code:
    `params` maps fnmatch patterns of `ptir.param` names (state_dict keys) to a spec, the
    first matching pattern wins; `inputs` and `results` map a rank to the spec of every
    non-weight argument / result of that rank (e.g. the batch dim of images, the head
    dim of KV caches).  Weights, inputs and results no rule names stay replicated."""

    mesh: Mesh
    params: tuple[tuple[str, Spec], ...] = ()
    inputs: tuple[tuple[int, Spec], ...] = ()
    results: tuple[tuple[int, Spec], ...] = ()

    def param_spec(self, name: str) -> Spec | None:
        """The spec of weight `name`, or None (replicated)."""
        return next((s for pattern, s in self.params if fnmatch.fnmatchcase(name, pattern)), None)

    def problems(self, program) -> list[str]:
        """Why the plan cannot shard the entry function of `program` (one line each)."""
        fn = program.entry()
        out = []
        for a in fn.args:
            spec = self.param_spec(a.param) if a.param is not None else dict(self.inputs).get(a.value.type.rank)
            problem = spec and spec_problem(spec, a.value.type, self.mesh)
            if problem:
                out.append(f"{'weight ' + a.param if a.param else 'argument %' + a.value.name}: {problem}")
        for i, t in enumerate(fn.result_types):
            problem = spec_problem(dict(self.results)[t.rank], t, self.mesh) if t.rank in dict(self.results) else None
            if problem:
                out.append(f"result {i}: {problem}")
        return out


_PLAN: contextvars.ContextVar[ShardingPlan | None] = contextvars.ContextVar("ptir_sharding_plan", default=None)


@contextmanager
def sharding_plan(plan: ShardingPlan | None) -> Iterator[None]:
    """Inside the block, every `ptir.trace` (so every `ptir.compile` of a callable or
    module) annotates its program with `plan` (apply_plan); None turns plans off."""
    token = _PLAN.set(plan)
    try:
        yield
    finally:
        _PLAN.reset(token)


def active_plan() -> ShardingPlan | None:
    """The plan of the innermost `sharding_plan` block, or None."""
    return _PLAN.get()


def apply_plan(program, plan: ShardingPlan):
    """`program` (changed in place and returned) with the plan's mesh on the module and its
    shardings on the entry function's arguments and results; explicit shardings (from
    `sharded`) are kept.  TypeRuleError if a spec does not fit its tensor or the program
    already uses another mesh."""
    problems = plan.problems(program)
    if problems:
        fail("sharding_plan", problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    known = program_mesh(program)
    if known is not None and known != plan.mesh:
        fail("sharding_plan", f"one program uses one mesh: {plan.mesh.to_attr()} differs from {known.to_attr()}")
    program.attributes[MESH_ATTR] = plan.mesh.to_attr()
    fn = program.entry()
    for a in fn.args:
        if a.sharding is None:
            a.sharding = plan.param_spec(a.param) if a.param is not None else dict(plan.inputs).get(a.value.type.rank)
    results = list(fn.result_shardings) or [None] * len(fn.result_types)
    results = [s if s is not None else dict(plan.results).get(t.rank) for s, t in zip(results, fn.result_types,
                                                                                     strict=True)]
    fn.result_shardings = results if any(s is not None for s in results) else []
    return program


def parse_mesh(text: str) -> Mesh:
    """The Mesh of a command-line mesh "x=2" or "x=2,y=2" (axes major first); ValueError
    naming the rule for anything else."""
    axes = []
    for part in text.split(","):
        name, eq, size = part.partition("=")
        if not eq or not name.strip().isidentifier() or not size.strip().isdigit():
            raise ValueError(f"mesh '{text}': each axis is NAME=SIZE, e.g. x=2 or x=2,y=2 (not '{part}')")
        axes.append((name.strip(), int(size)))
    return Mesh(axes)
