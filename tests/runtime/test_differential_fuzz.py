"""Differential fuzzing: random small well-typed programs agree on ref, llvm-cpu and xla-cpu."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ptir
from ptir.conformance.records import checked_ops
from ptir.dialect import Builder, Program, tensor


def _total(kind: str) -> list[str]:
    """f32 ops of `kind` whose records say they are defined on all of [-4, 4] for every
    operand, specials included: any random f32 program of them is well defined."""
    return [op.name for op in checked_ops() if kind in op.traits and "f32" in op.check.compare
            and op.check.specials and all(lo <= -4 and hi >= 4 for lo, hi in op.check.domains(len(op.operands)))]


UNARY, BINARY = _total("unary"), _total("binary")


@st.composite
def programs(draw):
    """A function of two (4, n) f32 inputs built from a random sequence of ops; each op
    reads values already made, so every program is well typed by construction."""
    n = draw(st.integers(1, 6))
    p = Program(name="fuzz")
    b = Builder.new_function(p, "main", [("x", tensor((4, n), "f32")), ("y", tensor((4, n), "f32"))])
    pool = list(b.args)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["unary", "binary", "reduce", "transpose", "dot", "slice", "concat"]))
        v = draw(st.sampled_from(pool))
        if kind == "unary":
            out = b.op(draw(st.sampled_from(UNARY)), v)
        elif kind == "binary":
            same = [w for w in pool if w.type == v.type]
            out = b.op(draw(st.sampled_from(BINARY)), v, draw(st.sampled_from(same)))
        elif kind == "reduce" and v.type.rank == 2:
            r = b.op("reduce", v, kind=draw(st.sampled_from(["sum", "max", "min"])), axes=[1], keepdims=True)
            out = b.op("broadcast_to", r, out=v.type)
        elif kind == "transpose" and v.type.rank == 2:
            out = b.op("transpose", b.op("transpose", v, perm=[1, 0]), perm=[1, 0])
        elif kind == "dot" and v.type.rank == 2:
            w = b.op("transpose", v, perm=[1, 0])
            out = b.op("dot_general", v, b.op("dot_general", w, v, contract_lhs=[1], contract_rhs=[0]),
                       contract_lhs=[1], contract_rhs=[0])
        elif kind == "slice" and v.type.shape[1] > 1:
            out = b.op("slice", v, start=[0, 1], limit=[4, v.type.shape[1]])
            out = b.op("pad", out, low=[0, 1], high=[0, 0], value=0.5)
        elif kind == "concat":
            out = b.op("slice", b.op("concat", v, v, axis=1), start=[0, 0], limit=list(v.type.shape))
        else:
            continue
        pool.append(out)
    b.ret(pool[-1])
    return p


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.integers(0, 2**31))
def test_targets_agree(program, seed):
    rng = np.random.default_rng(seed)
    args = [rng.standard_normal(a.value.type.shape).astype(np.float32) for a in program.entry().args]
    want = ptir.compile(program, target="ref")(*args)
    for target in ("llvm-cpu", "xla-cpu"):
        got = ptir.compile(program, target=target)(*args)
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5, err_msg=f"{target}\n{program}")
