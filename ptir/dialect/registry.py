"""The op registry: each PTIR op is defined once, here or in `ops/`.

An `OpDef` holds the op's operands, its attributes (kinds and defaults), one type
rule shared by the builder and the verifier, and its reference semantics in numpy
(run by the `ref` backend and by constant folding).  Lowerings and conformance
records are keyed by the op's name in their own modules; tests check that every
registered op has them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import TypeRuleError
from .dtypes import DType
from .types import TensorType

REQUIRED = object()   # an attribute without a default
ABSENT = None         # an optional attribute that may be left out

ATTR_KINDS = ("int", "float", "bool", "str", "dtype", "ints", "int_pairs", "axis", "axes", "literal", "sharding")


@dataclass(frozen=True)
class Attr:
    name: str
    kind: str
    default: Any = REQUIRED          # a value, ABSENT, REQUIRED, or a callable(operand types)
    choices: tuple[str, ...] = ()    # for kind "str"
    rank_of: int | str = 0           # for axis/axes: operand index or "result"
    doc: str = ""

    def default_for(self, ins: list[TensorType]):
        return self.default(ins) if callable(self.default) else self.default


@dataclass(frozen=True)
class Check:
    """What the tests generated for an op need to know (ptir.conformance.families runs
    them: print/parse round trip, verifier, reference against the oracle, lowering on
    every target, conformance against torch).

    oracle     the torch function with the op's meaning, by name ("torch.exp") so the
               dialect needs no torch, or a callable; called on torch tensors of the operands
    dtypes     every dtype the type rule accepts (the verifier family checks exactly these)
    compare    the dtypes the numeric families run on (float ones draw from `domain`,
               integers from [-50, 50), i1 from coin flips)
    domain     float inputs: uniform in [lo, hi), one (lo, hi) for all operands or one
               per operand; where the op is defined and the oracle means the same
    specials   also feed NaN, +-inf and +-0 (only where oracle and op agree on them)
    tolerance  "exact" (correctly rounded or exact) or "transcendental" (approximated
               within a few ulp); the numbers and their reasons are in conformance/records.py
    """

    oracle: str | Callable
    dtypes: tuple[str, ...]
    compare: tuple[str, ...] = ("f32", "f16", "bf16")
    domain: tuple = (-4.0, 4.0)
    specials: bool = True
    tolerance: str = "exact"

    def domains(self, n: int) -> list[tuple[float, float]]:
        """The (lo, hi) float input range of each of `n` operands."""
        return list(self.domain) if isinstance(self.domain[0], tuple) else [self.domain] * n


TypeRule = Callable[[list[TensorType], dict, "list[TensorType] | None"], list[TensorType]]
Reference = Callable[[list[np.ndarray], dict, list[TensorType]], Any]


@dataclass(eq=False)   # hashed by identity: tables such as the lowering rules are keyed by the OpDef
class OpDef:
    name: str                         # without the `ptir.` prefix
    operands: tuple[str, ...]         # a trailing "..." marks the last as variadic
    rule: TypeRule
    reference: Reference
    attrs: tuple[Attr, ...] = ()
    num_results: int = 1
    result_given: bool = False        # the result type is an input (reshape, cast, ...)
    traits: frozenset[str] = field(default_factory=frozenset)
    doc: str = ""
    check: Check | None = None        # what generated tests need (None: the op's tests are written by hand)

    @property
    def full_name(self) -> str:
        return f"ptir.{self.name}"

    @property
    def variadic(self) -> bool:
        return bool(self.operands) and self.operands[-1].endswith("...")

    def attr(self, name: str) -> Attr | None:
        return next((a for a in self.attrs if a.name == name), None)


OPS: dict[str, OpDef] = {}


def define(name: str, operands, rule: TypeRule, reference: Reference, *, attrs=(), num_results=1,
           result_given=False, traits=(), doc="", check: Check | None = None) -> OpDef:
    """Register op `name` (without the `ptir.` prefix) and return its OpDef; ValueError
    if the name is taken.  `operands` names them (a trailing "..." makes the last one
    variadic); `rule(in_types, attrs, out_types)` gives the result types or raises
    TypeRuleError; `reference(arrays, attrs, out_types)` computes the results in numpy."""
    if name in OPS:
        raise ValueError(f"op {name} defined twice")
    opdef = OpDef(name, tuple(operands), rule, reference, tuple(attrs), num_results, result_given,
                  frozenset(traits), doc, check)
    OPS[name] = opdef
    return opdef


def undefine(opdef: OpDef) -> None:
    """Remove an op registered by `define` (for tests that register a throwaway op)."""
    if OPS.get(opdef.name) is opdef:
        del OPS[opdef.name]


def lookup(name: str) -> OpDef | None:
    """The OpDef of `name` (with or without `ptir.`), or None."""
    if name.startswith("ptir."):
        name = name[5:]
    return OPS.get(name)


# --- attribute checking -------------------------------------------------------------------------

def _is_int(v) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _coerce(attr: Attr, v):
    """Check an attribute value's kind and return it in canonical Python form."""
    k = attr.kind
    bad = TypeRuleError(f"attribute '{attr.name}' must be {_KIND_TEXT[k]}")
    if k in ("int", "axis"):
        if not _is_int(v):
            raise bad
        return int(v)
    if k == "float":
        if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
            raise bad
        return float(v)
    if k == "bool":
        if not isinstance(v, bool | np.bool_):
            raise bad
        return bool(v)
    if k == "str":
        if not isinstance(v, str):
            raise bad
        if attr.choices and v not in attr.choices:
            raise TypeRuleError(f"attribute '{attr.name}' must be one of "
                                + ", ".join(f'"{c}"' for c in attr.choices) + f', not "{v}"')
        return v
    if k == "dtype":
        if not isinstance(v, DType):
            raise bad
        return v
    if k in ("ints", "axes"):
        if not isinstance(v, list | tuple) or not all(_is_int(x) for x in v):
            raise bad
        return tuple(int(x) for x in v)
    if k == "int_pairs":
        if not isinstance(v, list | tuple) or not all(
                isinstance(p, list | tuple) and len(p) == 2 and all(_is_int(x) for x in p) for p in v):
            raise bad
        return tuple((int(p[0]), int(p[1])) for p in v)
    if k == "literal":
        if not isinstance(v, np.ndarray):
            raise bad
        return v
    if k == "sharding":
        if not isinstance(v, list | tuple) or not all(
                isinstance(d, list | tuple) and all(isinstance(a, str) for a in d) for d in v):
            raise bad
        return tuple(tuple(d) for d in v)
    raise AssertionError(k)


_KIND_TEXT = {
    "int": "an integer", "axis": "an integer axis", "float": "a number", "bool": "true or false",
    "str": "a string", "dtype": "a dtype (e.g. f32)", "ints": "an array of integers",
    "axes": "an array of integer axes", "int_pairs": "an array of [lo, hi] integer pairs",
    "literal": "a dense literal", "sharding": 'an array of mesh axis name arrays, one per dim (e.g. [["x"], []])',
}


def _normalize_axis(attr: Attr, axis: int, rank: int) -> int:
    if not -rank <= axis < max(rank, 1) or (rank == 0):
        raise TypeRuleError(f"attribute '{attr.name}': axis {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def check_attrs(opdef: OpDef, ins: list[TensorType], attrs: dict, out: list[TensorType] | None) -> dict:
    """Attributes with kinds checked, defaults filled in and axes normalised."""
    for name in attrs:
        if opdef.attr(name) is None:
            known = ", ".join(a.name for a in opdef.attrs) or "none"
            raise TypeRuleError(f"unknown attribute '{name}' (known: {known})")
    result = {}
    for a in opdef.attrs:
        if a.name in attrs and attrs[a.name] is not None:
            v = _coerce(a, attrs[a.name])
        else:
            v = a.default_for(ins)
            if v is REQUIRED:
                raise TypeRuleError(f"missing attribute '{a.name}'")
        if v is not None and a.kind in ("axis", "axes"):
            source = out[0] if a.rank_of == "result" else ins[a.rank_of]
            if source is None:
                raise TypeRuleError("needs a result type")
            rank = source.rank
            if a.kind == "axis":
                v = _normalize_axis(a, v, rank)
            else:
                v = tuple(_normalize_axis(a, x, rank) for x in v)
                if len(set(v)) != len(v):
                    raise TypeRuleError(f"attribute '{a.name}' repeats an axis: {list(v)}")
        result[a.name] = v
    return result


def is_default(opdef: OpDef, name: str, value, ins: list[TensorType]) -> bool:
    """Whether an attribute holds its default (the printer leaves those out)."""
    a = opdef.attr(name)
    d = a.default_for(ins)
    if d is REQUIRED:
        return False
    if d is None or value is None:
        return value is None and d is None
    if a.kind in ("ints", "axes", "int_pairs"):
        return tuple(map(tuple, value) if a.kind == "int_pairs" else value) == tuple(
            map(tuple, d) if a.kind == "int_pairs" else d)
    if a.kind == "float":
        return np.float64(value).tobytes() == np.float64(d).tobytes()
    return value == d


def infer(opdef: OpDef, ins: list[TensorType], attrs: dict,
          out: list[TensorType] | None = None) -> tuple[dict, list[TensorType]]:
    """Check an op application and give its (normalised attributes, result types).

    The one entry point for both the builder (out=None unless the op takes its result
    type as input) and the verifier (out = the declared result types).  Raises
    TypeRuleError naming the broken rule.
    """
    n = len(opdef.operands)
    if opdef.variadic:
        least = max(n - 1, 1)
        if len(ins) < least:
            raise TypeRuleError(f"expects at least {least} operand{'s' if least != 1 else ''}, got {len(ins)}")
    elif len(ins) != n:
        raise TypeRuleError(f"expects {n} operand{'s' if n != 1 else ''}, got {len(ins)}")
    if out is not None and len(out) != opdef.num_results:
        raise TypeRuleError(f"has {opdef.num_results} result{'s' if opdef.num_results != 1 else ''}, "
                            f"but {len(out)} result types are written")
    if opdef.result_given and out is None:
        raise TypeRuleError("needs its result type")
    attrs = check_attrs(opdef, ins, attrs, out)
    inferred = list(opdef.rule(ins, attrs, out))
    if out is None:
        return attrs, inferred
    for i, (want, got) in enumerate(zip(inferred, out, strict=True)):
        if want.dtype != got.dtype or not _refines(got.shape, want.shape):
            which = f"result {i} type" if len(out) > 1 else "result type"
            raise TypeRuleError(f"{which} {got} does not match the inferred {want}")
    return attrs, list(out)


def _refines(declared, inferred) -> bool:
    """A declared shape may make an inferred dynamic dim static, never the reverse."""
    return len(declared) == len(inferred) and all(
        i is None or d == i for d, i in zip(declared, inferred, strict=True))
