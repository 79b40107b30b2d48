"""The in-memory program: a module of functions, each a list of ops over SSA values.

Programs are built with `Builder` (from Python) or by the parser (from text); both
go through `registry.infer`, the same check the verifier runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Location, PtirError, TypeRuleError
from . import registry
from .registry import OpDef
from .types import TensorType


class Value:
    """An SSA value: a function argument or one result of an op."""

    __slots__ = ("type", "name", "owner", "index")

    def __init__(self, type: TensorType, name: str | None = None, owner: Op | None = None, index: int = 0):
        self.type = type
        self.name = name      # a hint for the printer; arguments keep theirs
        self.owner = owner    # the defining op, None for function arguments
        self.index = index    # which result of the owner, or which argument

    def __repr__(self) -> str:
        return f"<Value {self.name or '?'}: {self.type}>"


class Op:
    __slots__ = ("opdef", "operands", "attrs", "results", "loc")

    def __init__(self, opdef: OpDef, operands: list[Value], attrs: dict, result_types: list[TensorType],
                 loc: Location | None = None, result_name: str | None = None):
        self.opdef = opdef
        self.operands = list(operands)
        self.attrs = attrs
        self.results = [Value(t, result_name, self, i) for i, t in enumerate(result_types)]
        self.loc = loc

    @property
    def name(self) -> str:
        return self.opdef.name

    @property
    def result(self) -> Value:
        return self.results[0]

    def __repr__(self) -> str:
        return f"<Op ptir.{self.name} -> {', '.join(str(r.type) for r in self.results)}>"


@dataclass
class Argument:
    value: Value
    param: str | None = None   # `{ptir.param = "name"}`: a weight bound by name
    sharding: tuple | None = None   # `{ptir.sharding = [["x"], []]}`: a Spec (dialect/sharding.py)


@dataclass
class Function:
    name: str
    args: list[Argument]
    result_types: list[TensorType]
    ops: list[Op] = field(default_factory=list)
    results: list[Value] = field(default_factory=list)
    loc: Location | None = None
    return_loc: Location | None = None
    result_shardings: list = field(default_factory=list)   # a Spec or None per result (empty: none)

    @property
    def arg_values(self) -> list[Value]:
        return [a.value for a in self.args]

    @property
    def params(self) -> dict[str, Argument]:
        return {a.param: a for a in self.args if a.param is not None}

    @property
    def inputs(self) -> list[Argument]:
        """The arguments a caller supplies: all but the `ptir.param` ones."""
        return [a for a in self.args if a.param is None]


@dataclass
class Program:
    """A PTIR module."""

    functions: dict[str, Function] = field(default_factory=dict)
    name: str | None = None
    attributes: dict = field(default_factory=dict)
    source: str | None = None   # the file it came from, for messages

    def entry(self, name: str = "main") -> Function:
        """The function @`name`; PtirError listing the module's functions if there is none."""
        if name not in self.functions:
            known = ", ".join("@" + n for n in self.functions) or "none"
            raise PtirError(f"no function @{name} in the module (functions: {known})")
        return self.functions[name]

    def __str__(self) -> str:
        from .printer import print_program
        return print_program(self)


class Builder:
    """Appends ops to a function, checking each with the op's type rule.

    >>> b = Builder.new_function(prog, "main", [("x", tensor((4,), "f32"))])
    >>> y = b.op("exp", b.args[0])
    >>> b.ret(y)
    """

    def __init__(self, function: Function):
        self.function = function

    @classmethod
    def new_function(cls, program: Program, name: str, args, result_types=None) -> Builder:
        """`args` holds (name, type) or (name, type, param_name) tuples."""
        arguments = []
        for i, a in enumerate(args):
            arg_name, typ = a[0], a[1]
            param = a[2] if len(a) > 2 else None
            arguments.append(Argument(Value(typ, arg_name, None, i), param))
        fn = Function(name, arguments, list(result_types or []))
        program.functions[name] = fn
        return cls(fn)

    @property
    def args(self) -> list[Value]:
        return self.function.arg_values

    def op(self, name: str, *operands: Value, out=None, loc: Location | None = None, **attrs):
        """Apply op `name`; returns its Value, or a tuple for multi-result ops.

        `out` is the result type (or list of types) for ops that take it as input.
        A broken type rule raises TypeRuleError naming the op.
        """
        opdef = registry.lookup(name)
        if opdef is None:
            raise TypeRuleError(f"unknown op 'ptir.{name}'", loc)
        outs = None if out is None else (list(out) if isinstance(out, list | tuple) else [out])
        try:
            attrs, types = registry.infer(opdef, [v.type for v in operands], attrs, outs)
        except TypeRuleError as e:
            raise TypeRuleError(e.message, loc or e.loc, opdef.full_name) from None
        op = Op(opdef, list(operands), attrs, types, loc)
        self.function.ops.append(op)
        return op.results[0] if opdef.num_results == 1 else tuple(op.results)

    def ret(self, *values: Value) -> None:
        """End the function: it returns `values`, and its result types become theirs."""
        self.function.results = list(values)
        self.function.result_types = [v.type for v in values]
