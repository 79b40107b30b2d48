"""Shardings as Shardy (`sdy`) attributes, which XLA's SPMD partitioner reads: the module's
mesh becomes `sdy.mesh @mesh`, an argument's or result's sharding `{sdy.sharding = ...}`,
and `ptir.sharding_constraint` an `sdy.sharding_constraint`.  Targets that cannot read
`sdy` (IREE) lower with shardings dropped: a constraint is then its operand."""

from __future__ import annotations

from ..dialect.sharding import Mesh, Spec
from .emitter import Emitter, V
from .table import lowering

MESH_SYMBOL = "mesh"


def mesh_op(mesh: Mesh) -> str:
    """The module-level declaration of `mesh`."""
    return f"sdy.mesh @{MESH_SYMBOL} = <[" + ", ".join(f'"{n}"={s}' for n, s in mesh.axes) + "]>"


def sharding_attr(spec: Spec | None, rank: int) -> str:
    """`#sdy.sharding<@mesh, [{"x"}, {}]>`; None is replicated (every dim closed and whole)."""
    spec = spec if spec is not None else ((),) * rank
    dims = ", ".join("{" + ", ".join(f'"{a}"' for a in d) + "}" for d in spec)
    return f"#sdy.sharding<@{MESH_SYMBOL}, [{dims}]>"


@lowering("sharding_constraint")
def _constraint(em: Emitter, op, x: V) -> V:
    if not em.shardy:
        return x
    return em.op("sdy.sharding_constraint", [x], x.type, {"sharding": sharding_attr(op.attrs["sharding"], x.type.rank)})
