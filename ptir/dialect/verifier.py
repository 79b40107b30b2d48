"""The verifier: SSA rules and every op's type rule, with all diagnostics collected.

Verification normalises attributes in place (defaults filled in, negative axes made
non-negative), so a verified program prints canonically.
"""

from __future__ import annotations

from ..errors import Location, PtirError, TypeRuleError, VerifyError
from . import registry
from .program import Function, Program
from .sharding import Mesh, is_sharded, program_mesh, spec_problem


def _where(program: Program, loc: Location | None, fn: Function) -> Location:
    return loc or fn.loc or Location(program.source or "<program>")


def verify_function(program: Program, fn: Function) -> list[PtirError]:
    errors: list[PtirError] = []
    defined = {id(a.value) for a in fn.args}
    params = {}
    for a in fn.args:
        if a.param is not None:
            if a.param in params:
                errors.append(VerifyError(f"@{fn.name}: weight \"{a.param}\" is bound to two arguments",
                                          _where(program, fn.loc, fn)))
            params[a.param] = a
    for op in fn.ops:
        for i, v in enumerate(op.operands):
            if id(v) not in defined:
                errors.append(VerifyError(f"operand {i} is used before it is defined (or comes from another "
                                          "function)", _where(program, op.loc, fn), op.opdef.full_name))
        try:
            attrs, _ = registry.infer(op.opdef, [v.type for v in op.operands], op.attrs,
                                      [r.type for r in op.results])
            op.attrs = attrs
        except TypeRuleError as e:
            errors.append(VerifyError(e.message, _where(program, op.loc, fn), op.opdef.full_name))
        defined.update(id(r) for r in op.results)
    where = _where(program, fn.return_loc, fn)
    if len(fn.results) != len(fn.result_types):
        n, m = len(fn.results), len(fn.result_types)
        errors.append(VerifyError(f"@{fn.name} returns {n} value{'s' if n != 1 else ''} but its signature has "
                                  f"{m} result{'s' if m != 1 else ''}", where))
    else:
        for i, (v, t) in enumerate(zip(fn.results, fn.result_types, strict=True)):
            if id(v) not in defined:
                errors.append(VerifyError(f"return value {i} is not defined in @{fn.name}", where))
            elif v.type != t:
                errors.append(VerifyError(f"return value {i} has type {v.type}, but the signature of "
                                          f"@{fn.name} says {t}", where))
    return errors


def verify_shardings(program: Program, fn: Function, mesh: Mesh | None) -> list[PtirError]:
    """Every sharding of `fn` (arguments, results, sharding_constraint ops) fits the
    module's mesh and its tensor: known axis names, each used once, even splits."""
    errors: list[PtirError] = []
    where = _where(program, fn.loc, fn)
    for a in fn.args:
        problem = a.sharding is not None and spec_problem(a.sharding, a.value.type, mesh)
        if problem:
            errors.append(VerifyError(f"@{fn.name}: argument %{a.value.name}: {problem}", where))
    if fn.result_shardings and len(fn.result_shardings) != len(fn.result_types):
        errors.append(VerifyError(f"@{fn.name} has {len(fn.result_shardings)} result shardings for "
                                  f"{len(fn.result_types)} results", where))
    for i, (spec, t) in enumerate(zip(fn.result_shardings, fn.result_types, strict=False)):
        problem = spec is not None and spec_problem(spec, t, mesh)
        if problem:
            errors.append(VerifyError(f"@{fn.name}: result {i}: {problem}", where))
    for op in fn.ops:
        spec = op.attrs.get("sharding") if op.name == "sharding_constraint" else None
        if isinstance(spec, tuple) and len(spec) == op.operands[0].type.rank:   # else the type rule said so
            problem = spec_problem(op.attrs["sharding"], op.operands[0].type, mesh)
            if problem:
                errors.append(VerifyError(problem, _where(program, op.loc, fn), op.opdef.full_name))
    return errors


def verify(program: Program) -> Program:
    """Check a program; raises VerifyError carrying every diagnostic. Returns the program."""
    errors: list[PtirError] = []
    try:
        mesh, mesh_ok = program_mesh(program), True
    except ValueError as e:   # the module's one diagnostic: no follow-on errors of each sharding
        errors.append(VerifyError(str(e), Location(program.source or "<program>")))
        mesh, mesh_ok = None, False
    for fn in program.functions.values():
        errors += verify_function(program, fn)
        if mesh_ok and (mesh is not None or is_sharded(program, fn)):
            errors += verify_shardings(program, fn, mesh)
    if errors:
        first = errors[0]
        raise VerifyError(first.message, first.loc, first.op, errors)
    return program
