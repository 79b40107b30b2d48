"""sharding_constraint: the value unchanged, with a say in how it is split over the
module's mesh (docs/sharding.md).  Its fit to the mesh (axis names, even splits) is the
verifier's, which sees the module; the type rule checks what the operand alone decides."""

from __future__ import annotations

from ..registry import Attr, define
from ._common import fail


def _constraint_rule(ins, attrs, out):
    x = ins[0]
    spec = attrs["sharding"]
    if len(spec) != x.rank:
        fail(f"sharding has {len(spec)} entries but the operand {x} has rank {x.rank}")
    names = [a for d in spec for a in d]
    for a in names:
        if names.count(a) > 1:
            fail(f"sharding uses mesh axis \"{a}\" twice")
    return [x]


define("sharding_constraint", ("x",), _constraint_rule, lambda xs, attrs, out: xs[0],
       attrs=(Attr("sharding", "sharding", doc='one array of mesh axis names per dim, major first; [] keeps '
                   'the dim whole, e.g. [["x"], []]'),),
       doc="The operand unchanged; the partitioner keeps it split as `sharding` says over the module's "
           "`ptir.mesh` (targets without a partitioner ignore it).")
