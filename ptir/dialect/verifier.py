"""The verifier: SSA rules and every op's type rule, with all diagnostics collected.

Verification normalises attributes in place (defaults filled in, negative axes made
non-negative), so a verified program prints canonically.
"""

from __future__ import annotations

from ..errors import Location, PtirError, TypeRuleError, VerifyError
from . import registry
from .program import Function, Program


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


def verify(program: Program) -> Program:
    """Check a program; raises VerifyError carrying every diagnostic. Returns the program."""
    errors: list[PtirError] = []
    for fn in program.functions.values():
        errors += verify_function(program, fn)
    if errors:
        first = errors[0]
        raise VerifyError(first.message, first.loc, first.op, errors)
    return program
