"""Capture a Python function as a PTIR program.

    prog = ptir.trace(lambda x, w: ptir.functional.relu(x @ w), ptir.spec((4, 8)), ptir.spec((8, 16)))

The function runs once on `Tensor`s: each wraps a dialect `Value`, and every operation
on it appends a registry op through the `Builder` (so the same type rules as the
verifier apply).
"""

from __future__ import annotations

import inspect

import numpy as np

from ..dialect import dtypes as dt
from ..dialect.program import Builder, Program
from ..dialect.sharding import MESH_ATTR
from ..dialect.types import TensorType, tensor
from .sharding import Sharded, active_plan, apply_plan, check_argument, mesh_of, use_mesh
from .tensor import Tensor
from .tracer import Tracer, fail


def _arg_names(fn, n: int) -> list[str]:
    """Argument names from the function's signature where it has them (`x`, `w`), else arg0, ..."""
    target = fn.forward if hasattr(fn, "forward") and hasattr(fn, "param_keys") else fn
    try:
        params = [p for p in inspect.signature(target).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params[:n]]
    return names + [f"arg{i}" for i in range(len(names), n)]


def _spec_type(s) -> TensorType:
    if isinstance(s, TensorType):
        return s
    if isinstance(s, np.ndarray | np.generic):
        return tensor(np.shape(s), dt.from_numpy(s.dtype))
    fail("trace", f"a spec must be ptir.spec(shape, dtype) or an example numpy array, not {type(s).__name__}")


def _module_of(fn):
    """The ptir.nn.Module whose weights `fn` binds by name: fn itself or, for a bound
    method such as `layer.forward`, its owner."""
    for obj in (fn, getattr(fn, "__self__", None)):
        if hasattr(obj, "param_keys") and hasattr(obj, "state_dict"):
            return obj
    return None


def trace(fn, *specs, name: str = "main") -> Program:
    """Run `fn` once on traced tensors of types `specs` and return the captured program.

    specs: `ptir.spec(shape, dtype)` or example numpy arrays (their shape and dtype), or
    either wrapped by `ptir.functional.sharded` for an argument split over a mesh.  A
    `ptir.nn.Module` (or a bound method of one) may be traced directly: its weights become
    `ptir.param` arguments named by their state_dict keys.  Weights of modules merely
    called from `fn` are inlined as constants.  TypeRuleError for a bad spec, a result
    that is not a traced tensor, or any op whose rule fails.
    """
    types = [_spec_type(s.spec if isinstance(s, Sharded) else s) for s in specs]
    program = Program()
    builder = Builder.new_function(program, name, list(zip(_arg_names(fn, len(types)), types, strict=True)))
    owner = _module_of(fn)
    tracer = Tracer(builder, owner.param_keys() if owner is not None else None, wrap=Tensor)
    for s, a in zip(specs, builder.function.args, strict=True):   # sharded(spec, mesh, ...): docs/sharding.md
        if isinstance(s, Sharded):
            check_argument(s, a.value.type)
            use_mesh(tracer, s.mesh, "sharded")
            a.sharding = s.sharding
    with tracer.active():
        out = fn(*(Tensor(v, tracer) for v in builder.args))
    outs = out if isinstance(out, tuple | list) else (out,)
    results = []
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor) or o.tracer is not tracer:
            fail("trace", f"result {i} of the traced function is a {type(o).__name__}, not a traced tensor")
        results.append(o.value)
    builder.ret(*results)
    if mesh_of(tracer) is not None:
        program.attributes[MESH_ATTR] = mesh_of(tracer).to_attr()
    if active_plan() is not None:   # a `sharding_plan` block: docs/sharding.md
        apply_plan(program, active_plan())
    return program


def capture(fn, specs, params):
    """`ptir.compile(fn, *specs)`: the traced program, and the weights (a module's
    state_dict unless the caller gives them)."""
    if params is None and _module_of(fn) is not None:
        params = _module_of(fn).state_dict()
    return trace(fn, *specs), params
