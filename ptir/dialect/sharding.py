"""Sharding annotations (docs/sharding.md): a device mesh declared on the module and, per
tensor, which of its dims are split over which mesh axes.

    module @m attributes {ptir.mesh = [["x", 2]]} { ... }      the mesh: named axes, sizes
    %w: tensor<8x16xf32> {ptir.sharding = [[], ["x"]]}          dim 1 split over "x"
    %1 = ptir.sharding_constraint %0 {sharding = [["x"], []]} : tensor<4x16xf32>

A sharding (a "spec") holds one list of mesh axis names per tensor dim, major axis
first; an empty list leaves the dim whole (replicated over the unnamed axes).  Shardings
say nothing about the numbers: every target computes the same results, `xla-cpu` across
the mesh's devices (XLA's SPMD partitioner), the others on one device.
"""

from __future__ import annotations

from dataclasses import dataclass

from .types import TensorType

MESH_ATTR = "ptir.mesh"          # module attribute: [["x", 2], ["y", 2]]
SHARDING_ATTR = "ptir.sharding"  # argument and result attribute: [["x"], []]

Spec = tuple[tuple[str, ...], ...]   # canonical: one tuple of axis names per dim


@dataclass(frozen=True)
class Mesh:
    """A logical device mesh: named axes with sizes, `Mesh({"x": 2, "y": 2})` or
    `Mesh(x=2)`; its devices number `size`, row-major over the axes."""

    axes: tuple[tuple[str, int], ...]

    def __init__(self, axes=(), **sizes):
        items = list(axes.items()) if isinstance(axes, dict) else [tuple(a) for a in axes]
        object.__setattr__(self, "axes", tuple((str(n), int(s)) for n, s in [*items, *sizes.items()]))
        problem = mesh_problem(self.to_attr())
        if problem:
            raise ValueError(problem)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(s for _, s in self.axes)

    @property
    def size(self) -> int:
        """The number of devices."""
        n = 1
        for s in self.shape:
            n *= s
        return n

    def axis_size(self, name: str) -> int:
        """The size of axis `name` (KeyError if the mesh has none)."""
        return dict(self.axes)[name]

    def to_attr(self) -> list:
        """The module attribute value: [["x", 2], ...]."""
        return [[n, s] for n, s in self.axes]

    @classmethod
    def from_attr(cls, value) -> Mesh:
        """The Mesh of a `ptir.mesh` attribute value; ValueError if it is malformed."""
        problem = mesh_problem(value)
        if problem:
            raise ValueError(problem)
        return cls([(n, s) for n, s in value])


def mesh_problem(value) -> str | None:
    """What is wrong with a `ptir.mesh` attribute value, or None."""
    if not isinstance(value, list | tuple) or not value:
        return "ptir.mesh must be a non-empty array of [\"name\", size] pairs, e.g. [[\"x\", 2]]"
    seen = set()
    for item in value:
        if (not isinstance(item, list | tuple) or len(item) != 2 or not isinstance(item[0], str)
                or isinstance(item[1], bool) or not isinstance(item[1], int)):
            return f"ptir.mesh entry {_show(item)} is not a [\"name\", size] pair"
        name, size = item
        if not name:
            return "ptir.mesh axis names must be non-empty"
        if size < 1:
            return f"ptir.mesh axis \"{name}\" has size {size}; sizes are positive"
        if name in seen:
            return f"ptir.mesh names axis \"{name}\" twice"
        seen.add(name)
    return None


def to_spec(value) -> Spec:
    """A canonical Spec from an attribute value ([["x"], []]) or from the Python form, one
    entry per dim: None (whole), an axis name, or a sequence of names ("x", None) /
    (("x", "y"), None).  ValueError if it is neither."""
    if not isinstance(value, list | tuple):
        raise ValueError(f"a sharding is an array with one entry per dim, not {_show(value)}")
    out = []
    for d in value:
        if d is None:
            out.append(())
        elif isinstance(d, str):
            out.append((d,))
        elif isinstance(d, list | tuple) and all(isinstance(a, str) for a in d):
            out.append(tuple(d))
        else:
            raise ValueError(f"a sharding entry is an array of mesh axis names, not {_show(d)}")
    return tuple(out)


def spec_attr(spec: Spec) -> list:
    """The attribute value of a Spec: [["x"], []]."""
    return [list(d) for d in spec]


def spec_problem(spec: Spec, t: TensorType, mesh: Mesh | None) -> str | None:
    """Why `spec` cannot shard a tensor of type `t` over `mesh`, or None."""
    if mesh is None:
        return "a sharding needs a mesh: declare ptir.mesh on the module"
    if len(spec) != t.rank:
        return f"sharding {_show(spec_attr(spec))} has {len(spec)} entries but {t} has rank {t.rank}"
    used: set[str] = set()
    for dim, axes in enumerate(spec):
        split = 1
        for a in axes:
            if a not in mesh.names:
                return f"sharding names axis \"{a}\", which the mesh does not have (axes: " \
                       + ", ".join(f'"{n}"' for n in mesh.names) + ")"
            if a in used:
                return f"sharding uses mesh axis \"{a}\" twice"
            used.add(a)
            split *= mesh.axis_size(a)
        size = t.shape[dim]
        if size is not None and size % split:
            return f"dim {dim} of {t} (size {size}) does not split evenly into {split} parts over " \
                   + ", ".join(f'"{a}"' for a in axes)
    return None


def program_mesh(program) -> Mesh | None:
    """The program's mesh (None without one); ValueError if the attribute is malformed."""
    value = program.attributes.get(MESH_ATTR)
    return None if value is None else Mesh.from_attr(value)


def is_sharded(program, fn) -> bool:
    """Whether `fn` of `program` carries any sharding (a mesh, an annotation or a constraint)."""
    return (MESH_ATTR in program.attributes or any(a.sharding is not None for a in fn.args)
            or any(s is not None for s in fn.result_shardings)
            or any(op.name == "sharding_constraint" for op in fn.ops))


def _show(v) -> str:
    from .printer import format_attr_value

    try:
        return format_attr_value(v)
    except TypeError:
        return repr(v)
