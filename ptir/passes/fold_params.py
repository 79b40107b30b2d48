"""fold-params: do the work on weights once, at compile time.

Ops that depend only on weights (`ptir.param` arguments) and constants (a weight
transpose; a BatchNorm scale `gamma * rsqrt(var + eps)` multiplied into a conv's
weights) compute the same tensors on every call.  `fold_params` cuts them out:

    program, transform = fold_params(program)
    params = transform(params)      # once: the reference interpreter computes the new weights

The new program takes the folded tensors as new `ptir.param` arguments; `transform`
holds the cut-out part as a PTIR program of its own (weights in, folded tensors out)
and runs it on the weights.  Results are the same bits on `ref`: the same ops run on
the same values, only earlier.

Where to cut: a weight-only op whose result takes more bytes than the weights it is
computed from (broadcast_to, pad, a widening convert) is not stored, it stays in the
program on its smaller operand, so folding never makes the weights bigger: a bias
broadcast to the batch stays a bias, and int8 or bf16 weights dequantized to f32 stay
int8 or bf16, their dequantization running where the matmul reads them.  A contraction
(dot_general) is stored even when larger: Winograd's transformed weights (conv-algorithm)
are 16/9 or 36/9 of the weights, and recomputing them would cost a matmul per call.

A folded tensor is named after the weight it is derived from: follow each op's first
operand back to a weight (`conv.weight` for `conv.weight * scale`, `bn.bias` for
`bn.bias - mean * scale`), add `.folded`, and `.1`, `.2`, ... if that is taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..dialect.interpreter import run_function
from ..dialect.program import Argument, Function, Program, Value
from .rewrite import Rewriter, drop_dead, fresh_args, new_function, rewrite_function, with_functions


@dataclass
class ParamTransform:
    """Computes the folded program's weights from the original ones."""

    program: Program                  # @main: the original weights (ptir.param args) -> the folded tensors
    names: list[str]                  # the ptir.param name of each result of @main, in order
    kept: list[str]                   # original weights the folded program still takes as they are
    sources: dict[str, list[str]] = field(default_factory=dict)   # folded name -> the weights it comes from

    def __call__(self, params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The folded program's weights; RunError if one it needs is missing or mis-shaped."""
        from ..dialect.signature import check_params

        out = {k: params[k] for k in self.kept if k in params}   # the backend reports missing ones
        if self.names:
            fn = self.program.entry()
            out.update(zip(self.names, run_function(fn, check_params(fn, params)), strict=True))
        return out


def fold_params(program: Program, entry: str = "main") -> tuple[Program, ParamTransform]:
    """Hoist the weight-only work of function `entry` (the others are left as they are)."""
    fn = program.entry(entry)
    weights = {id(a.value): a.param for a in fn.args if a.param is not None}

    # Values computed from weights and constants only, and of those the ones that need a
    # weight (the rest are constants for fold-constants).
    static = set(weights)
    sources = {k: frozenset([k]) for k in weights}   # weighted value -> the weights it comes from
    hoistable = set()
    for op in fn.ops:
        if all(id(v) in static for v in op.operands):
            static.update(id(r) for r in op.results)
            if any(id(v) in sources for v in op.operands):
                came_from = frozenset().union(*(sources.get(id(v), ()) for v in op.operands))
                sources.update((id(r), came_from) for r in op.results)
                hoistable.add(id(op))
    nbytes = {id(a.value): a.value.type.num_bytes or 0 for a in fn.args if a.param is not None}

    def grows(op) -> bool:
        """Whether op's results take more bytes than the weights they are computed from.
        A contraction is exempt: storing its result (Winograd's G g Gᵀ from conv-algorithm)
        costs bytes once, recomputing it would cost a matmul on every call."""
        if op.name == "dot_general":
            return False
        sizes = [r.type.num_bytes for r in op.results]
        return None not in sizes and sum(sizes) > sum(nbytes[w] for w in sources[id(op.results[0])])

    # Walk back from the results: an op stays unless it is hoistable and does not grow;
    # the results of hoisted ops the program still needs become new weights.
    needed = {id(v) for v in fn.results}
    cut = set()
    for op in reversed(fn.ops):
        if not any(id(r) in needed for r in op.results):
            continue
        if id(op) in hoistable and not grows(op):
            cut.update(id(r) for r in op.results if id(r) in needed)
        else:
            needed.update(id(v) for v in op.operands)
    boundary = [r for op in fn.ops for r in op.results if id(r) in cut]

    names = folded_names(fn, boundary, weights)
    used = {id(v) for op in fn.ops for v in op.operands} | {id(v) for v in fn.results}
    kept_args = [a for a in fn.args if a.param is None or id(a.value) in needed or id(a.value) not in used]

    # The folded program: the kept arguments, then one weight per cut value.
    olds = [(a.value, a.value.name, a.param) for a in kept_args] + list(zip(boundary, names, names, strict=True))
    shardings = {id(a.value): a.sharding for a in kept_args}
    shardings.update((id(v), folded_sharding(v, fn)) for v in boundary)
    args = [Argument(Value(v.type, name, None, i), param, shardings.get(id(v)))
            for i, (v, name, param) in enumerate(olds)]
    main = new_function(fn, args)
    env = {id(v): a.value for (v, _, _), a in zip(olds, args, strict=True)}
    copy_ops(main, [op for op in fn.ops if id(op) not in hoistable or grows(op)], env, fn.results)

    # The transform: the weight-only ops, from the weights they need to the cut values.
    origins = {name: source_weights(v, weights) for v, name in zip(boundary, names, strict=True)}
    inputs = {w for ws in origins.values() for w in ws}
    targs = fresh_args([a for a in fn.args if a.param in inputs])
    transform = new_function(fn, targs)
    transform.name, transform.result_types = "main", [v.type for v in boundary]
    transform.result_shardings = []   # the transform runs once, on one device
    for a in targs:
        a.sharding = None
    env = {id(fn.params[a.param].value): a.value for a in targs}
    copy_ops(transform, [op for op in fn.ops if all(id(v) in static for v in op.operands)], env, boundary)

    functions = {name: main if f is fn else rewrite_function(f, drop=False) for name, f in program.functions.items()}
    kept = [a.param for a in kept_args if a.param is not None]
    return (with_functions(program, functions),
            ParamTransform(Program({"main": transform}, "fold_params"), names, kept, origins))


def copy_ops(fn: Function, ops, env: dict[int, Value], results) -> None:
    """Copy `ops` (operands mapped through `env`) into `fn`, return `results`, drop the dead."""
    rw = Rewriter(fn)
    for op in ops:
        if all(id(v) in env for v in op.operands):
            for old, v in zip(op.results, rw.copy(op, [env[id(v)] for v in op.operands]), strict=True):
                env[id(old)] = v
    fn.results = [env[id(v)] for v in results]
    drop_dead(fn)


def first_weight(v: Value, weights: dict[int, str]) -> str | None:
    while v.owner is not None and v.owner.operands:
        v = v.owner.operands[0]
    return weights.get(id(v))


def source_weights(v: Value, weights: dict[int, str]) -> list[str]:
    """The weights `v` is computed from, by name, in argument order."""
    found, stack, seen = set(), [v], set()
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen.add(id(v))
            if id(v) in weights:
                found.add(id(v))
            elif v.owner is not None:
                stack.extend(v.owner.operands)
    return [name for key, name in weights.items() if key in found]


def folded_sharding(v: Value, fn: Function):
    """The sharding of folded tensor `v` (docs/sharding.md): that of a `sharding_constraint`
    that made it, else the one sharding its sharded source weights share when they have
    its shape (`w * scale`), else None (replicated).  Shardings never change the numbers,
    only where the folded weight is placed."""
    if v.owner is not None and v.owner.name == "sharding_constraint":
        return v.owner.attrs["sharding"]
    sharded = {id(a.value): a.param for a in fn.args if a.param is not None and a.sharding is not None}
    found = [fn.params[name] for name in source_weights(v, sharded)]
    specs = {a.sharding for a in found}
    if len(specs) == 1 and all(a.value.type.shape == v.type.shape for a in found):
        return specs.pop()
    return None


def folded_names(fn: Function, values: list[Value], weights: dict[int, str]) -> list[str]:
    taken = {a.param for a in fn.args if a.param is not None}
    names = []
    for v in values:
        base = (first_weight(v, weights) or source_weights(v, weights)[0]) + ".folded"
        name, k = base, 1
        while name in taken:
            name, k = f"{base}.{k}", k + 1
        taken.add(name)
        names.append(name)
    return names
