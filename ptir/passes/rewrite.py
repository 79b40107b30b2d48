"""Rebuilding a function op by op: the one driver every pass uses.

A pass never edits its input.  `rewrite(program, pattern)` builds a new program: for
each op, in order, it makes a candidate op over the *new* operands (checked by the op's
type rule, as the Builder does) and asks `pattern(rw, op)` what to do with it:

    None                 keep the candidate
    a Value, or a list   use these values instead (one per result, of the same types)

Operands are rewritten before their users, so a pattern matches producers
(`op.operands[0].owner`) in their final form; and ops a pattern makes with `rw.emit`
are offered to the pattern before they are placed (MLIR's createOrFold).  So one
forward sweep reaches a fixed point for rewrites driven by producers, which all of
ours are.  Ops left without uses are dropped at the end (every PTIR core op is pure),
as MLIR's greedy rewrite driver does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..dialect import registry
from ..dialect.program import Argument, Function, Op, Program, Value
from ..dialect.types import TensorType
from ..errors import TypeRuleError

Pattern = Callable[["Rewriter", Op], "Value | Sequence[Value] | None"]


def keep(rw: Rewriter, op: Op) -> None:
    """The pattern that changes nothing (a rewrite with it only drops dead ops)."""
    return None


class Patterns:
    """A pattern made of patterns by op name, tried in the order they were added.

    >>> PATTERNS = Patterns()
    >>> @PATTERNS.on("neg")
    ... def neg_neg(rw, op): ...
    """

    def __init__(self):
        self.table: dict[str, list[Pattern]] = {}

    def on(self, *names: str):
        def deco(fn):
            for n in names:
                self.table.setdefault(n, []).append(fn)
            return fn
        return deco

    def __call__(self, rw: Rewriter, op: Op):
        for p in self.table.get(op.name, ()):
            got = p(rw, op)
            if got is not None:
                return got
        return None


class Rewriter:
    """Appends ops to a new function, offering each to a pattern first."""

    def __init__(self, fn: Function, pattern: Pattern = keep):
        self.fn = fn
        self.pattern = pattern
        self.loc = None        # the location of the op being rewritten; emitted ops take it
        self.state: dict = {}  # per-function scratch for patterns that remember (cse's table)

    def emit(self, name: str, *operands: Value, out=None, **attrs):
        """Make op `name` (type-checked, folded by the pattern if it can); its Value, or a
        tuple for multi-result ops.  `out` is the result type, as for Builder.op."""
        opdef = registry.lookup(name)
        outs = None if out is None else (list(out) if isinstance(out, list | tuple) else [out])
        try:
            attrs, types = registry.infer(opdef, [v.type for v in operands], attrs, outs)
        except TypeRuleError as e:   # a pattern built a bad op: a bug in the pass, say where
            raise TypeRuleError(e.message, self.loc, opdef.full_name) from None
        results = self.place(Op(opdef, list(operands), attrs, types, self.loc))
        return results[0] if opdef.num_results == 1 else tuple(results)

    def constant(self, value, type: TensorType) -> Value:
        """A ptir.constant of `type`; a splat keeps one element (as the parser's literals
        broadcast), except for empty and one-element tensors, which the printer writes as
        lists: either way the text reads back to the same literal."""
        arr = np.asarray(value).astype(type.dtype.np_dtype, copy=False)
        if type.num_elements not in (0, 1) and (arr.size == 1 or same_bits(arr)):
            arr = arr.reshape(-1)[:1].reshape(())
        elif arr.shape != type.shape:
            arr = np.broadcast_to(arr, type.shape).copy()
        return self.emit("constant", out=type, value=arr)

    def copy(self, op: Op, operands: list[Value]) -> list[Value]:
        """`op` applied to new operands, offered to the pattern: the values for its results."""
        self.loc = op.loc
        return self.place(self._candidate(op, operands))

    def _candidate(self, op: Op, operands: list[Value]) -> Op:
        try:
            attrs, types = registry.infer(op.opdef, [v.type for v in operands], dict(op.attrs),
                                          [r.type for r in op.results])
        except TypeRuleError as e:
            raise TypeRuleError(e.message, op.loc, op.opdef.full_name) from None
        return Op(op.opdef, operands, attrs, types, op.loc)

    def place(self, op: Op) -> list[Value]:
        got = self.pattern(self, op)
        if got is None:
            self.fn.ops.append(op)
            return op.results
        got = [got] if isinstance(got, Value) else list(got)
        want = [r.type for r in op.results]
        if [v.type for v in got] != want:   # replacements must be drop-in: same types exactly
            raise AssertionError(f"pattern {getattr(self.pattern, '__name__', self.pattern)} replaced "
                                 f"ptir.{op.name} ({want}) by values of types {[v.type for v in got]}")
        return got


def fresh_args(args: list[Argument]) -> list[Argument]:
    """New argument values with the same names, types, params and shardings."""
    return [Argument(Value(a.value.type, a.value.name, None, i), a.param, a.sharding) for i, a in enumerate(args)]


def new_function(fn: Function, args: list[Argument]) -> Function:
    """An empty function like `fn` (name, result types and shardings, places) taking `args`."""
    return Function(fn.name, args, list(fn.result_types), loc=fn.loc, return_loc=fn.return_loc,
                    result_shardings=list(fn.result_shardings))


def rewrite_function(fn: Function, pattern: Pattern = keep, drop: bool = True) -> Function:
    """`fn` rebuilt through `pattern`, its dead ops dropped (unless not `drop`: a clone)."""
    args = fresh_args(fn.args)
    new = new_function(fn, args)
    env = {id(a.value): b.value for a, b in zip(fn.args, args, strict=True)}
    rw = Rewriter(new, pattern)
    for op in fn.ops:
        for old, v in zip(op.results, rw.copy(op, [env[id(v)] for v in op.operands]), strict=True):
            env[id(old)] = v
    new.results = [env[id(v)] for v in fn.results]
    if drop:
        drop_dead(new)
    return new


def rewrite(program: Program, pattern: Pattern) -> Program:
    """A new program with every function rewritten by `pattern`; `program` is untouched."""
    return with_functions(program, {name: rewrite_function(fn, pattern) for name, fn in program.functions.items()})


def with_functions(program: Program, functions: dict[str, Function]) -> Program:
    return Program(functions, program.name, dict(program.attributes), program.source)


def drop_dead(fn: Function) -> None:
    """Remove ops none of whose results is used (on a function being built)."""
    live = {id(v) for v in fn.results}
    kept = []
    for op in reversed(fn.ops):
        if any(id(r) in live for r in op.results):
            kept.append(op)
            live.update(id(v) for v in op.operands)
    fn.ops = kept[::-1]


# --- what patterns ask about values -------------------------------------------------------------

def producer(v: Value, name: str) -> Op | None:
    """The op defining `v` if it is a `ptir.<name>`."""
    return v.owner if v.owner is not None and v.owner.name == name else None


def stand_in(v: Value, op: Op, static: bool = False) -> Value | None:
    """`v` if it can replace op's single result: the same type (and a fully known shape if
    the fold relies on the shapes being what they say), else None."""
    t = op.result.type
    return v if v.type == t and (t.is_static or not static) else None


def literal(v: Value) -> np.ndarray | None:
    """The elements of a value defined by ptir.constant (at its full shape), else None."""
    op = producer(v, "constant")
    return None if op is None else np.broadcast_to(op.attrs["value"], v.type.shape)


def same_bits(arr: np.ndarray) -> bool:
    """Whether a non-empty array's elements all have the same bits."""
    flat = np.ascontiguousarray(arr).reshape(-1)
    if flat.size == 0:
        return False
    b = flat.view(np.uint8).reshape(flat.size, -1)
    if not (b[-1] == b[0]).all():    # most weights differ at once: skip the full scan
        return False
    return bool((b == b[0]).all())


def splat(v: Value) -> np.ndarray | None:
    """The one element (a 0-d array) of a constant whose elements all have the same bits."""
    op = producer(v, "constant")
    if op is None:
        return None
    lit = op.attrs["value"]
    return lit.reshape(-1)[0:1].reshape(()) if lit.size == 1 or same_bits(lit) else None


def is_splat_of(v: Value, x) -> bool:
    """Whether `v` is a constant all of whose elements have exactly the bits of `x` in v's
    dtype (so -0.0 is not 0.0, and for i1 1 is true)."""
    s = splat(v)
    return s is not None and s.tobytes() == np.asarray(x).astype(s.dtype).tobytes()


def all_ones(v: Value) -> bool:
    """A splat whose bits are all set: true for i1, -1 for signed integers."""
    s = splat(v)
    return s is not None and (bool(s) if s.dtype == np.bool_ else all(b == 0xFF for b in s.tobytes()))


def literal_key(arr: np.ndarray) -> tuple:
    """A hashable key equal for literals with the same elements, splat or spelled out."""
    if arr.size == 1 or same_bits(arr):
        return ("splat", arr.dtype.str, arr.reshape(-1)[:1].tobytes())
    return ("dense", arr.dtype.str, arr.shape, np.ascontiguousarray(arr).tobytes())
