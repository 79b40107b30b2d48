"""Matrix products: linear, matmul, bmm, all one `dot_general` each."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .core import as_tensor, broadcast_shapes, broadcast_to, cast, reshape, result_dtype
from .tracer import fail

if TYPE_CHECKING:
    from .tensor import Tensor


def _same_dtype(op: str, **named) -> None:
    (n1, a), *rest = named.items()
    for n2, b in rest:
        if b is not None and a.dtype != b.dtype:
            fail(op, f"{n1} dtype {a.dtype} does not match {n2} dtype {b.dtype}")


def linear(input, weight, bias=None) -> Tensor:
    """y = x W^T + b with W of shape (out_features, in_features), as torch stores it.

    input: (..., in_features); bias: (out_features,) or None; result: (..., out_features).
    All operands share one number dtype (no promotion).  TypeRuleError for a weight that
    is not 2-D, mismatched in_features or bias shape, or differing dtypes."""
    x, w = as_tensor(input, op="linear"), as_tensor(weight, op="linear")
    b = None if bias is None else as_tensor(bias, op="linear")
    if w.ndim != 2:
        fail("linear", f"weight must be 2-D (out_features, in_features), got shape {w.shape}")
    if x.ndim < 1 or x.shape[-1] != w.shape[1]:
        fail("linear", f"input features {x.shape[-1] if x.ndim else None} do not match weight in_features "
                       f"{w.shape[1]}")
    _same_dtype("linear", input=x, weight=w, bias=b)
    y = x.tracer.op("dot_general", x, w, contract_lhs=[x.ndim - 1], contract_rhs=[1])
    if b is None:
        return y
    if b.shape != (w.shape[0],):
        fail("linear", f"bias shape {b.shape} does not match weight out_features {w.shape[0]}")
    return y + b


def matmul(input, other) -> Tensor:
    """torch.matmul / numpy's @: 1-D operands are vectors, leading dims broadcast as batch dims.

    (..., n, k) @ (..., k, m) -> (..., n, m); a 1-D operand gains a dim of 1 that the
    result drops.  Dtypes promote as the operators do.  TypeRuleError for a rank-0 operand,
    differing contracted dims, or batch dims that do not broadcast."""
    a, b = as_tensor(input, op="matmul"), as_tensor(other, op="matmul")
    if a.ndim == 0 or b.ndim == 0:
        fail("matmul", f"operands must have rank >= 1, got shapes {a.shape} and {b.shape}")
    d = result_dtype((a, b))
    a, b = cast(a, d), cast(b, d)
    va, vb = a.ndim == 1, b.ndim == 1
    a = reshape(a, (1,) + a.shape) if va else a
    b = reshape(b, b.shape + (1,)) if vb else b
    if a.shape[-1] != b.shape[-2]:
        fail("matmul", f"input {a.shape} and other {b.shape} differ in the contracted dim "
                       f"({a.shape[-1]} vs {b.shape[-2]})")
    batch = broadcast_shapes(a.shape[:-2], b.shape[:-2], op="matmul")
    if b.ndim == 2:   # a shared right matrix needs no batch dims: (..., M, K) . (K, N)
        y = a.tracer.op("dot_general", a, b, contract_lhs=[a.ndim - 1], contract_rhs=[0])
    else:
        a, b = broadcast_to(a, batch + a.shape[-2:]), broadcast_to(b, batch + b.shape[-2:])
        nb = list(range(len(batch)))
        y = a.tracer.op("dot_general", a, b, batch_lhs=nb, batch_rhs=nb, contract_lhs=[len(nb) + 1],
                        contract_rhs=[len(nb)])
    return reshape(y, y.shape[:len(y.shape) - 2] + y.shape[-2:-1] * (not va) + y.shape[-1:] * (not vb))


def bmm(input, mat2) -> Tensor:
    """Batched matrix product, as torch.bmm: (b, n, m) @ (b, m, p) -> (b, n, p).

    Both operands share one number dtype (no promotion).  TypeRuleError for operands that
    are not 3-D, differing batch sizes or contracted dims, or differing dtypes."""
    a, b = as_tensor(input, op="bmm"), as_tensor(mat2, op="bmm")
    if a.ndim != 3 or b.ndim != 3:
        fail("bmm", f"expects 3-D tensors, got shapes {a.shape} and {b.shape}")
    if a.shape[0] != b.shape[0]:
        fail("bmm", f"batch sizes {a.shape[0]} and {b.shape[0]} differ")
    if a.shape[2] != b.shape[1]:
        fail("bmm", f"input {a.shape} and mat2 {b.shape} differ in the contracted dim ({a.shape[2]} vs {b.shape[1]})")
    _same_dtype("bmm", input=a, mat2=b)
    return a.tracer.op("dot_general", a, b, batch_lhs=[0], batch_rhs=[0], contract_lhs=[2], contract_rhs=[1])
