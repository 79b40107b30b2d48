"""torch.export -> PTIR: a PyTorch model as it is, with its own definitions.

    program, weights = from_torch(model.eval(), torch.randn(1, 3, 224, 224))
    program, weights = load("model.pt2")            # a program saved with torch.export.save

`torch.export.export` captures the model, `run_decompositions()` (torch's default table)
lowers it to the core ATen op set, and each ATen node is mapped to PTIR through
`ptir.functional` by its entry in `ATEN` (one entry per core ATen overload; a test in
tests/importers/ exercises each).  Parameters and buffers become `ptir.param` arguments
named by their state_dict keys; lifted constants stay literals.  Everything that cannot be
imported (an op outside the table, an unsupported dtype or a dynamic dim) is reported
at once: one ImportError listing every such node with its ATen name, the source line it
came from, and how many there are.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .. import functional as F
from ..dialect import dtypes as dt
from ..dialect.program import Builder, Program
from ..dialect.types import tensor
from ..dialect.verifier import verify
from ..errors import PtirError
from ..functional.core import binary, broadcast_shapes, cast, constant, iota, reduce, reshape, transpose
from ..functional.tensor import Tensor
from ..functional.tracer import Tracer
from .common import registrar, unsupported_error

aten = torch.ops.aten

DTYPES = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16", torch.float64: "f64",
          torch.int64: "i64", torch.int32: "i32", torch.int16: "i16", torch.int8: "i8", torch.uint8: "ui8",
          torch.bool: "i1"}


class TorchImportError(PtirError):
    """A model PTIR cannot take: the message lists every node it cannot import."""

    stage = "import"


@dataclass(frozen=True)
class Entry:
    """How one ATen overload becomes PTIR: `build(*args, **kwargs)` on the node's
    arguments (traced Tensors for tensors), and `check(node)`, a reason when this node's
    use of the op is one PTIR does not take (None: it does)."""

    build: Callable
    check: Callable | None = None


ATEN: dict = {}


maps = registrar(ATEN, Entry)   # @maps(overload, ..., check=...): the PTIR form of each ATen overload


# --- the table -------------------------------------------------------------------------------------

def _conv_check(node) -> str | None:
    weight = node.args[1].meta["val"]
    if node.args[6]:
        return "transposed convolution"
    if weight.dim() != 4:
        return f"{weight.dim() - 2}-d convolution (2-d only)"
    return None


@maps(aten.convolution.default, check=_conv_check)
def _convolution(x, w, b, stride, padding, dilation, transposed, output_padding, groups):
    return F.conv2d(x, w, b, list(stride), list(padding), list(dilation), groups)


@maps(aten._native_batch_norm_legit_no_training.default)
def _batch_norm(x, weight, bias, mean, var, momentum, eps):
    return F.batch_norm(x, mean, var, weight, bias, False, momentum, eps), None, None


@maps(aten.native_layer_norm.default)
def _layer_norm(x, shape, weight, bias, eps):
    return F.layer_norm(x, list(shape), weight, bias, eps), None, None


@maps(aten.relu.default)
def _relu(x):
    return F.relu(x)


@maps(aten.sigmoid.default)
def _sigmoid(x):
    return F.sigmoid(x)


@maps(aten.tanh.default)
def _tanh(x):
    return F.tanh(x)


@maps(aten.gelu.default)
def _gelu(x, approximate="none"):
    return F.gelu(x, approximate=approximate)


@maps(aten.hardtanh.default, aten.clamp.default)
def _clamp(x, min=None, max=None):
    return F.clamp(x, min, max)


@maps(aten.add.Tensor)
def _add(a, b, alpha=1):
    return a + (b if alpha == 1 else b * alpha)


@maps(aten.sub.Tensor)
def _sub(a, b, alpha=1):
    return a - (b if alpha == 1 else b * alpha)


@maps(aten.mul.Tensor, aten.mul.Scalar)
def _mul(a, b):
    return a * b


@maps(aten.div.Tensor)
def _div(a, b):
    return a / b


@maps(aten.fmod.Scalar, aten.fmod.Tensor)
def _fmod(a, b):
    return binary("rem", a, b, op="fmod")   # C fmod: the dividend's sign, as PTIR's rem


@maps(aten.remainder.Scalar, aten.remainder.Tensor)
def _remainder(a, b):
    """Python's %: the divisor's sign (fmod, moved by one divisor where the signs differ)."""
    r = binary("rem", a, b, op="remainder")
    differ = (r < 0) != (b < 0) if isinstance(b, Tensor) else (r < 0 if b > 0 else r > 0)
    return F.where((r != 0) & differ, r + b, r)


@maps(aten.pow.Tensor_Scalar, aten.pow.Tensor_Tensor)
def _pow(a, b):
    return a ** b


@maps(aten.sqrt.default)
def _sqrt(x):
    return F.sqrt(x)


@maps(aten.rsqrt.default)
def _rsqrt(x):
    return F.rsqrt(x)


@maps(aten.exp.default)
def _exp(x):
    return F.exp(x)


@maps(aten.neg.default)
def _neg(x):
    return -x


@maps(aten.eq.Scalar, aten.eq.Tensor)
def _eq(a, b):
    return a == b


@maps(aten.ne.Scalar, aten.ne.Tensor)
def _ne(a, b):
    return a != b


@maps(aten.gt.Scalar, aten.gt.Tensor)
def _gt(a, b):
    return a > b


@maps(aten.ge.Scalar, aten.ge.Tensor)
def _ge(a, b):
    return a >= b


@maps(aten.lt.Scalar, aten.lt.Tensor)
def _lt(a, b):
    return a < b


@maps(aten.le.Scalar, aten.le.Tensor)
def _le(a, b):
    return a <= b


@maps(aten.logical_not.default, aten.bitwise_not.default)
def _logical_not(x):
    return ~x


@maps(aten.bitwise_and.Tensor, aten.logical_and.default)
def _and(a, b):
    return a & b


@maps(aten.bitwise_or.Tensor, aten.logical_or.default)
def _or(a, b):
    return a | b


@maps(aten.abs.default)
def _abs(x):
    return abs(x)


@maps(aten._assert_tensor_metadata.default)
def _assert_metadata(x, *args, **kwargs):
    return None   # torch.export's own check of a tensor's dtype and shape: PTIR's types already hold it


@maps(aten.any.dim)
def _any(x, dim, keepdim=False):
    return reduce(cast(x, "i32"), "max", [dim], keepdim) != 0


@maps(aten.where.self)
def _where(cond, a, b):
    return F.where(cond, a, b)


@maps(aten.addmm.default)
def _addmm(bias, a, b, beta=1, alpha=1):
    out = F.matmul(a, b)
    out = out if alpha == 1 else out * alpha
    return out + (bias if beta == 1 else bias * beta)


@maps(aten.mm.default, aten.bmm.default)
def _matmul(a, b):
    return F.matmul(a, b)


@maps(aten.mean.dim)
def _mean(x, dim, keepdim=False, dtype=None):
    return x.mean(axis=list(dim) if dim else None, keepdims=keepdim)


@maps(aten.sum.dim_IntList)
def _sum(x, dim, keepdim=False, dtype=None):
    return x.sum(axis=list(dim) if dim else None, keepdims=keepdim)


@maps(aten._softmax.default)
def _softmax(x, dim, half_to_float):
    return F.softmax(x, dim)


@maps(aten._log_softmax.default)
def _log_softmax(x, dim, half_to_float):
    return F.log_softmax(x, dim)


@maps(aten.view.default)
def _view(x, shape):
    return reshape(x, _sizes(shape, x))


@maps(aten.permute.default)
def _permute(x, dims):
    return transpose(x, [d % x.ndim for d in dims])


@maps(aten.expand.default)
def _expand(x, sizes, implicit=False):
    lead = len(sizes) - x.ndim
    return x.broadcast_to([x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes)])


@maps(aten.unsqueeze.default)
def _unsqueeze(x, dim):
    dim = dim % (x.ndim + 1)
    return reshape(x, [*x.shape[:dim], 1, *x.shape[dim:]])


@maps(aten.squeeze.dims)
def _squeeze(x, dims):
    drop = {d % x.ndim for d in dims if x.shape[d % x.ndim] == 1}
    return reshape(x, [n for i, n in enumerate(x.shape) if i not in drop])


@maps(aten.clone.default, aten.alias.default)
def _identity(x, **kwargs):
    return x


@maps(aten._to_copy.default)
def _to_copy(x, dtype=None, **kwargs):
    return x if dtype is None else cast(x, DTYPES[dtype])


@maps(aten.cat.default)
def _cat(tensors, dim=0):
    return F.cat([t for t in tensors if t is not None], dim)


@maps(aten.split_with_sizes.default)
def _split(x, sizes, dim=0):
    return F.split(x, list(sizes), dim)


@maps(aten.select.int)
def _select(x, dim, index):
    dim = dim % x.ndim
    return x[(slice(None),) * dim + (index,)]


@maps(aten.slice.Tensor)
def _slice(x, dim=0, start=None, end=None, step=1):
    dim = dim % x.ndim
    n = x.shape[dim]
    start, end = max(-n, min(start or 0, n)), max(-n, min(n if end is None else end, n))
    return x[(slice(None),) * dim + (slice(start, end, step),)]


def _pool_check(node) -> str | None:
    users = [u for u in node.users if u.target is operator.getitem and u.args[1] == 1]
    return "max_pool2d's indices" if users else None


@maps(aten.max_pool2d_with_indices.default, check=_pool_check)
def _max_pool(x, kernel, stride=(), padding=0, dilation=1, ceil_mode=False):
    out = F.max_pool2d(x, _pair(kernel), _pair(stride) if stride else None, _pair(padding), _pair(dilation),
                       ceil_mode)
    return out, None


@maps(aten.avg_pool2d.default)
def _avg_pool(x, kernel, stride=(), padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
    return F.avg_pool2d(x, _pair(kernel), _pair(stride) if stride else None, _pair(padding), ceil_mode,
                        count_include_pad, divisor_override)


@maps(aten.constant_pad_nd.default)
def _pad(x, pad, value=0):
    return F.pad(x, list(pad), value=value)


def _strided_check(node) -> str | None:
    x, size, stride = node.args[0].meta["val"], node.args[1], node.args[2]
    offset = node.args[3] if len(node.args) > 3 else 0
    if offset or math.prod(size) != x.numel() or not x.is_contiguous() or _contiguous(size) != [
            s for s, n in zip(stride, size, strict=True) if n != 1]:
        return "as_strided other than a reshape of contiguous data"
    return None


def _contiguous(size) -> list[int]:
    """Row-major strides of `size`, for its dims longer than 1."""
    out, step = [], 1
    for n in reversed(size):
        if n != 1:
            out.append(step)
        step *= n
    return out[::-1]


@maps(aten.as_strided.default, check=_strided_check)
def _as_strided(x, size, stride, offset=0):
    return reshape(x, list(size))


@maps(aten.full.default)
def _full(size, value, dtype=None, **kwargs):
    return constant(np.full(list(size), value, _np(dtype or torch.float32)))


@maps(aten.full_like.default)
def _full_like(x, value, dtype=None, **kwargs):
    return constant(np.full(x.shape, value, _np(dtype) if dtype else x.dtype.np_dtype))


@maps(aten.scalar_tensor.default)
def _scalar_tensor(value, dtype=None, **kwargs):
    return constant(np.asarray(value, _np(dtype or torch.float32)))


@maps(aten.arange.start_step)
def _arange(*args, dtype=None, **kwargs):
    return constant(np.arange(*args, dtype=_np(dtype) if dtype else None))


@maps(aten.sin.default)
def _sin(x):
    return F.sin(x)


@maps(aten.cos.default)
def _cos(x):
    return F.cos(x)


@maps(aten.index_select.default)
def _index_select(x, dim, index):
    dim %= x.ndim
    return x.tracer.op("take", x, _wrapped(index, x.shape[dim]), axis=dim)


@maps(aten.embedding.default)
def _embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    return F.embedding(indices, weight)


def _index_check(node) -> str | None:
    indices = node.args[1]
    if any(i is None for i in indices):
        return "indexing that skips a dim (x[:, idx])"
    if any(i.meta["val"].dtype == torch.bool for i in indices):
        return "boolean-mask indexing (its result's shape depends on the data)"
    return None


@maps(aten.index.Tensor, check=_index_check)
def _index(x, indices):
    """x[i0, i1, ...] with integer tensors for the leading dims (broadcast together):
    their row-major linear index, then one `take` of those rows."""
    k = len(indices)
    shape = broadcast_shapes(*(i.shape for i in indices))
    linear = _linear([_wrapped(i, x.shape[d]) for d, i in enumerate(indices)], x.shape[:k], shape)
    rows = reshape(x, [math.prod(x.shape[:k]), *x.shape[k:]])
    return x.tracer.op("take", rows, linear, axis=0)


@maps(aten.gather.default)
def _gather(x, dim, index, sparse_grad=False):
    """torch.gather: out[..i..] = x[..index[..i..] at dim..]: the linear index of every
    output element into x flattened, then one `take`."""
    dim %= x.ndim
    coords = [_wrapped(index, x.shape[d]) if d == dim else iota(index.shape, d, "i64") for d in range(x.ndim)]
    flat = reshape(x, [math.prod(x.shape)])
    return x.tracer.op("take", flat, _linear(coords, x.shape, index.shape), axis=0)


@maps(aten.cumsum.default)
def _cumsum(x, dim, dtype=None):
    """Running sums along `dim` as one matmul with an upper-triangular matrix of ones
    (integers and booleans sum as i64, as torch does)."""
    out = DTYPES[dtype] if dtype else ("i64" if not x.dtype.is_float else x.dtype.name)
    x = cast(x, out)
    dim %= x.ndim
    n = x.shape[dim]
    perm = [d for d in range(x.ndim) if d != dim] + [dim]
    tri = constant(np.triu(np.ones((n, n))).astype(x.dtype.np_dtype))   # tri[i, j] = 1 where i <= j
    y = F.matmul(transpose(x, perm), tri)
    return transpose(y, [perm.index(d) for d in range(x.ndim)])


def _wrapped(i: Tensor, n: int) -> Tensor:
    """Integer indices into a dim of size n, negative ones counted from its end, as i64."""
    i = cast(i, "i64")
    return F.where(i < 0, i + n, i)


def _linear(coords: list[Tensor], shape, out_shape) -> Tensor:
    """The row-major linear index of `coords` (one per dim of `shape`), broadcast to out_shape."""
    linear, stride = None, 1
    for c, n in zip(reversed(coords), reversed(list(shape)), strict=True):
        term = c.broadcast_to(list(out_shape)) * stride if stride != 1 else c.broadcast_to(list(out_shape))
        linear = term if linear is None else linear + term
        stride *= n
    return linear


@maps(operator.getitem)
def _getitem(seq, i):
    return seq[i]


# --- helpers ---------------------------------------------------------------------------------------

def _pair(v):
    """An ATen int list of 1 or 2 window sizes (or an int) as the functionals take it."""
    v = list(v) if isinstance(v, list | tuple) else [v]
    return v[0] if len(v) == 1 else v


def _np(dtype) -> np.dtype:
    return dt.from_name(DTYPES[dtype]).np_dtype


def _sizes(shape, x: Tensor) -> list[int]:
    """A view's sizes with its one -1 filled in."""
    shape = list(shape)
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        shape[shape.index(-1)] = math.prod(x.shape) // max(known, 1)
    return shape


# --- the importer ----------------------------------------------------------------------------------

def _source(node) -> str:
    """The model's source line a node came from: the innermost frame of its stack trace
    outside torch itself (torch.nn's modules and functionals are not the user's code)."""
    lines = [ln.strip() for ln in (node.meta.get("stack_trace") or "").strip().splitlines()]
    frames = [ln.removeprefix("File ") for ln in lines if ln.startswith("File ")]
    own = [f for f in frames if "/torch/" not in f.split(",")[0]]
    return (own or frames or ["(no source line)"])[-1]


def traced_nodes(ep) -> set[str]:
    """The nodes whose values depend on the model's inputs or weights: PTIR computes
    those.  Every other node (a mask or an index table built from constants, as
    transformers' and Swin's are) torch computes once, at import, into a literal."""
    kinds = {s.arg.name: s.kind.name for s in ep.graph_signature.input_specs}
    out = set()
    for node in ep.graph.nodes:
        if node.op == "placeholder":
            if kinds.get(node.name) in ("USER_INPUT", "PARAMETER", "BUFFER") and isinstance(
                    node.meta.get("val"), torch.Tensor):
                out.add(node.name)
        elif any(a.name in out for a in node.all_input_nodes):
            out.add(node.name)
    return out


def unsupported(ep) -> list[tuple[str, str, str]]:
    """(ATen name, reason, source line) of every node of `ep` PTIR cannot import."""
    traced = traced_nodes(ep)
    out = []
    for node in ep.graph.nodes:
        if node.name not in traced:
            continue
        val = node.meta.get("val")
        for v in val if isinstance(val, list | tuple) else [val]:
            if isinstance(v, torch.Tensor):
                if v.dtype not in DTYPES:
                    out.append((node.name, f"dtype {v.dtype}", _source(node)))
                elif any(not isinstance(d, int) for d in v.shape):
                    out.append((node.name, f"dynamic shape {tuple(v.shape)}", _source(node)))
        if node.op != "call_function":
            continue
        entry = ATEN.get(node.target)
        if entry is None:
            out.append((str(node.target), "no mapping to PTIR", _source(node)))
        elif entry.check is not None and (why := entry.check(node)):
            out.append((str(node.target), why, _source(node)))
    return out


def _report(problems) -> TorchImportError:
    return unsupported_error(problems, TorchImportError)


def from_exported(ep, name: str = "main") -> tuple[Program, dict[str, np.ndarray]]:
    """An ExportedProgram (already decomposed to core ATen) as (Program, weights).

    User inputs become the entry's arguments, in order, named as the graph names them;
    parameters and buffers become `ptir.param` arguments named by their state_dict keys
    (the weights dict holds them as numpy arrays); lifted constants become literals.
    Raises TorchImportError listing every node PTIR cannot take."""
    problems = unsupported(ep)
    if problems:
        raise _report(problems)
    sig = ep.graph_signature
    weights, literals, user = {}, {}, []
    for spec in sig.input_specs:
        kind = spec.kind.name
        if kind in ("PARAMETER", "BUFFER"):
            source = ep.state_dict[spec.target] if spec.target in ep.state_dict else ep.constants[spec.target]
            weights[spec.arg.name] = (spec.target, source.detach().cpu().numpy())
        elif kind == "CONSTANT_TENSOR":
            literals[spec.arg.name] = ep.constants[spec.target]
        elif kind == "USER_INPUT":
            user.append(spec.arg.name)
        else:
            raise TorchImportError(f"cannot import an input of kind {kind} ({spec.arg.name})")
    vals = {n.name: n.meta.get("val") for n in ep.graph.nodes if n.op == "placeholder"}
    fixed = {n: vals[n] for n in user if not isinstance(vals[n], torch.Tensor)}   # use_cache=False: baked in
    user = [n for n in user if n not in fixed]
    args = [(n, tensor(tuple(vals[n].shape), DTYPES[vals[n].dtype])) for n in user]
    program = Program()
    builder = Builder.new_function(program, name, args)
    arrays = {arg: array for arg, (_, array) in weights.items()}
    tracer = Tracer(builder, {id(a): weights[arg][0] for arg, a in arrays.items()}, wrap=Tensor)
    with tracer.active():
        env = dict(zip(user, (Tensor(v, tracer) for v in builder.args), strict=True)) | fixed
        env |= {arg: tracer.param(a, a) for arg, a in arrays.items()}
        env |= literals   # torch tensors: literals where a traced node uses them
        outputs = _interpret(ep.graph, env, traced_nodes(ep))
    builder.ret(*(o.value for o in outputs))
    return verify(program), {key: array for key, array in weights.values()}


def _interpret(graph, env: dict, traced: set[str]) -> list[Tensor]:
    """Run the graph: traced nodes through their ATEN mapping on traced tensors, the rest
    with torch itself (values that do not depend on the inputs); the graph's outputs."""
    def value(a, literal: bool):
        if isinstance(a, torch.fx.Node):
            v = env[a.name]
            return constant(v.detach().cpu().numpy()) if literal and isinstance(v, torch.Tensor) else v
        if isinstance(a, list | tuple):
            return type(a)(value(x, literal) for x in a)
        return a

    for node in graph.nodes:
        if node.op == "call_function" and node.name not in traced:
            env[node.name] = node.target(*value(node.args, False), **value(node.kwargs, False))
        elif node.op == "call_function":
            try:
                env[node.name] = ATEN[node.target].build(*value(node.args, True), **value(node.kwargs, True))
            except PtirError as e:
                raise TorchImportError(f"{node.target} at {_source(node)}: {e.message}") from None
            except (TypeError, ValueError, AttributeError, IndexError) as e:   # a mapping's gap, not the user's
                raise TorchImportError(f"{node.target} at {_source(node)}: cannot map {node.format_node()}: "
                                       f"{type(e).__name__}: {e}") from None
        elif node.op == "output":
            outs = value(node.args[0], True)
            return [o for o in (outs if isinstance(outs, list | tuple) else [outs]) if o is not None]
    raise TorchImportError("the exported graph has no output")


def _example(x):
    return torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray | np.generic) else x


def from_torch(module, *example_args, dynamic_shapes=None, **example_kwargs) -> tuple[Program, dict[str, np.ndarray]]:
    """`module` (a torch.nn.Module, put in eval mode) exported with torch.export on
    `example_args` (torch tensors or numpy arrays; their shapes and dtypes are the
    program's) and constant `example_kwargs` (e.g. transformers' `use_cache=False`), and
    imported: (Program, weights by state_dict name).  Raises TorchImportError listing
    every node PTIR cannot take, or naming the export's own error."""
    module.eval()
    try:
        ep = torch.export.export(module, tuple(_example(x) for x in example_args), example_kwargs or None,
                                 dynamic_shapes=dynamic_shapes)
        ep = ep.run_decompositions()
    except Exception as e:   # torch.export's many error types: one message
        raise TorchImportError(f"torch.export could not capture the model: {type(e).__name__}: "
                           f"{str(e).strip().splitlines()[0] if str(e).strip() else ''}") from None
    return from_exported(ep)


def load(path: str) -> tuple[Program, dict[str, np.ndarray]]:
    """A program saved with torch.export.save (a .pt2 file) as (Program, weights).
    Raises TorchImportError for a missing file or one that is not such an archive
    (checked before torch reads it: torch logs a traceback of its own for those)."""
    import logging
    import os
    import zipfile

    if not os.path.isfile(path):
        raise TorchImportError(f"cannot read {path}: no such file")
    if not zipfile.is_zipfile(path):
        raise TorchImportError(f"cannot read {path}: not a torch.export archive (torch.export.save writes a zip)")
    quiet = logging.getLogger("torch.export")
    level = quiet.level
    quiet.setLevel(logging.ERROR)   # a damaged archive is reported below, in one line
    try:
        ep = torch.export.load(path)
    except Exception as e:
        raise TorchImportError(f"cannot read {path} as a torch.export program: {type(e).__name__}: "
                           f"{str(e).strip().splitlines()[0] if str(e).strip() else ''}") from None
    finally:
        quiet.setLevel(level)
    try:
        ep = ep.run_decompositions()
    except Exception as e:
        raise TorchImportError(f"{path}: torch could not decompose the program: {e}") from None
    return from_exported(ep)
