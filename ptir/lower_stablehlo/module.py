"""Lowering a PTIR program's entry function to a StableHLO module (`func.func public @main`)."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..dialect.program import Argument, Function, Op, Program
from ..dialect.sharding import Mesh, is_sharded, program_mesh
from ..errors import LoweringError, PtirError
from .emitter import Emitter, V
from .mlir import verify_mlir
from .sharding import mesh_op, sharding_attr
from .table import LOWERINGS

PARAMS_MODES = ("arguments", "globals", "constants")
SHARDINGS = ("sdy", "drop")   # shardings as Shardy attributes (XLA), or left out (one-device targets)
PARAM_SCOPE = "model"   # the IREE parameter scope of "globals" mode: --parameters=model=weights.safetensors


@dataclass
class LoweredModule:
    text: str                                                   # StableHLO module text
    entry: str = "main"                                         # always "main"
    input_args: list[Argument] = field(default_factory=list)    # PTIR arguments that are @main's, in order
    params: list[str] = field(default_factory=list)             # ptir.param names used, in order
    module_name: str = "module"                                 # IREE's name for the module (ctx.modules.<name>)
    params_mode: str = "arguments"
    function: Function | None = None                            # the PTIR entry function it lowers
    mesh: Mesh | None = None                                    # the SPMD mesh, when shardings were lowered


def lower(program: Program, entry: str = "main", params_mode: str = "arguments", params=None,
          module_name: str | None = None, reflection: dict[str, str] | None = None,
          shardings: str = "sdy") -> LoweredModule:
    """Lower `program`'s function `entry` to StableHLO text, verified by MLIR.

    params_mode says what becomes of `ptir.param` arguments: "arguments" keeps them as
    ordinary arguments of @main (in declaration order); "globals" reads each from an IREE
    named parameter (`#flow.parameter.named<"model"::"name">`); "constants" embeds the
    arrays of `params` (name -> array).  `reflection` entries are attached to @main as
    IREE reflection metadata (IREE keeps them in the .vmfb).  `shardings` (docs/sharding.md):
    "sdy" writes the module's mesh and shardings as Shardy attributes for XLA's SPMD
    partitioner; "drop" leaves them out (for targets without one), with a warning when
    there were any.  Raises LoweringError.
    """
    if params_mode not in PARAMS_MODES:
        raise LoweringError(f"unknown params_mode '{params_mode}' (known: {', '.join(PARAMS_MODES)})")
    if shardings not in SHARDINGS:
        raise LoweringError(f"unknown shardings mode '{shardings}' (known: {', '.join(SHARDINGS)})")
    try:
        fn = program.entry(entry)
        mesh = program_mesh(program)
    except (PtirError, ValueError) as e:
        raise LoweringError(getattr(e, "message", str(e))) from None
    if shardings == "drop" and is_sharded(program, fn):
        warnings.warn(f"ptir: the shardings of @{fn.name} are ignored on this target (it runs on one device)",
                      stacklevel=2)
    if shardings == "drop" or mesh is None:
        mesh = None
    name = _symbol(module_name or program.name or "module")
    for a in fn.args:
        _static(a.value.type, f"argument %{a.value.name}", fn.loc)
    args = fn.args if params_mode == "arguments" else fn.inputs
    spmd = f" attributes {{mhlo.num_partitions = {mesh.size} : i32, mhlo.num_replicas = 1 : i32}}" if mesh else ""
    header = [f"module @{name}{spmd} {{"] + ([f"  {mesh_op(mesh)}"] if mesh else [])
    symbols = _param_symbols(fn) if params_mode == "globals" else {}
    header += [f'  util.global private @{sym} = #flow.parameter.named<"{PARAM_SCOPE}"::"{_escape(p)}"> : '
               f'{fn.params[p].value.type}' for p, sym in symbols.items()]
    arg_text = ", ".join(f"%arg{i}: {a.value.type}" + _sharded(mesh, a.sharding, a.value.type)
                         for i, a in enumerate(args))
    result_specs = list(fn.result_shardings) or [None] * len(fn.result_types)
    result_text = ", ".join(f"{t}{_sharded(mesh, spec, t)}" for t, spec in zip(fn.result_types, result_specs,
                                                                               strict=True))
    attrs = ""
    if reflection:
        entries = ", ".join(f'{k} = "{_escape(v)}"' for k, v in reflection.items())
        attrs = f" attributes {{iree.reflection = {{{entries}}}}}"
    header.append(f"  func.func public @main({arg_text}) -> ({result_text}){attrs} {{")

    em = Emitter(first_line=len(header) + 1)
    em.shardy = mesh is not None
    env = {id(a.value): V(f"%arg{i}", a.value.type) for i, a in enumerate(args)}
    for a in fn.args:
        if a.param is not None and params_mode != "arguments":
            env[id(a.value)] = _param_value(em, a, params_mode, symbols, params)
    for op in fn.ops:
        for r, v in zip(op.results, _lower_op(em, op, [env[id(v)] for v in op.operands]), strict=True):
            env[id(r)] = v
    results = [env[id(v)] for v in fn.results]
    em.op("func.return", results, [])
    text = "\n".join([*header, *em.lines, "  }", "}", ""])
    verify_mlir(text, em.line_owner, shardy=mesh is not None)
    return LoweredModule(text, "main", list(args), [a.param for a in fn.args if a.param is not None], name,
                         params_mode, fn, mesh)


def _sharded(mesh: Mesh | None, spec, t) -> str:
    """The `{sdy.sharding = ...}` of an argument or result (replicated when it has none)."""
    return f" {{sdy.sharding = {sharding_attr(spec, t.rank)}}}" if mesh is not None else ""


def _lower_op(em: Emitter, op: Op, operands: list[V]) -> list[V]:
    rule = LOWERINGS.get(op.opdef)
    if rule is None:
        raise LoweringError("no lowering rule to StableHLO", op.loc, op.opdef.full_name)
    for v in [*op.operands, *op.results]:
        _static(v.type, "type", op.loc, op.opdef.full_name)
    em.owner = op
    try:
        out = rule(em, op, *operands)
    except LoweringError as e:
        raise LoweringError(e.message, e.loc or op.loc, e.op or op.opdef.full_name) from None
    outs = [out] if isinstance(out, V) else list(out)
    for r, v in zip(op.results, outs, strict=True):
        if v.type != r.type:   # a bug in the rule: say so here rather than as an MLIR error
            raise LoweringError(f"lowering gave {v.type} for a result of type {r.type}", op.loc, op.opdef.full_name)
    return outs


def _static(t, what: str, loc, op: str | None = None) -> None:
    if not t.is_static:
        raise LoweringError(f"{what} {t} has a dynamic shape; StableHLO lowering needs static shapes", loc, op)


def _param_value(em: Emitter, arg: Argument, mode: str, symbols: dict, params) -> V:
    t = arg.value.type
    if mode == "globals":
        return em.op("util.global.load", [], t, {"global": f"@{symbols[arg.param]}"})
    if params is None or arg.param not in params:
        raise LoweringError(f'params_mode "constants" needs the weight "{arg.param}" (argument %{arg.value.name})')
    x = np.asarray(params[arg.param])
    if x.dtype != t.dtype.np_dtype or x.shape != t.shape:
        raise LoweringError(f'weight "{arg.param}" is {x.dtype} of shape {x.shape}, argument %{arg.value.name} '
                            f"is {t}")
    return em.constant(x, t.dtype)


def _param_symbols(fn: Function) -> dict[str, str]:
    """Param name -> a unique symbol made of its letters, digits and `_`."""
    symbols: dict[str, str] = {}
    for p in fn.params:
        base = sym = _symbol(p)
        k = 1
        while sym in symbols.values():
            sym, k = f"{base}_{k}", k + 1
        symbols[p] = sym
    return symbols


def _symbol(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return s if s and not s[0].isdigit() else f"_{s}"


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')
