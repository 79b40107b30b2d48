"""ptir.functional: portable tensor functions with torch.nn.functional's names and arguments.

Each function validates its operands at capture time (raising TypeRuleError naming the
function and the mismatch) and appends its canonical PTIR form to the traced program.
"""

from .attention import attention, rotary_cos_sin, rotary_embedding, scaled_dot_product_attention, update_cache
from .capture import trace
from .conv import adaptive_avg_pool2d, avg_pool2d, conv2d, max_pool2d
from .core import as_tensor
from .elementwise import (
    clamp,
    cos,
    erf,
    exp,
    gelu,
    log,
    maximum,
    minimum,
    relu,
    relu6,
    rsqrt,
    sigmoid,
    silu,
    sin,
    sqrt,
    tanh,
    where,
)
from .linalg import bmm, linear, matmul
from .normalization import batch_norm, layer_norm, log_softmax, rms_norm, softmax
from .shape import argmax, cat, concat, dropout, embedding, narrow, pad, split, topk
from .sharding import Mesh, ShardingPlan, shard, sharded, sharding_plan
from .tensor import Tensor
from .tracer import spec

__all__ = [
    "Tensor", "trace", "spec", "as_tensor",
    "linear", "matmul", "bmm",
    "relu", "relu6", "gelu", "silu", "sigmoid", "tanh", "exp", "log", "sqrt", "rsqrt", "erf", "sin", "cos",
    "maximum", "minimum", "clamp", "where",
    "softmax", "log_softmax", "layer_norm", "rms_norm", "batch_norm",
    "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
    "scaled_dot_product_attention", "attention", "update_cache", "rotary_cos_sin", "rotary_embedding",
    "embedding", "dropout", "pad", "cat", "concat", "narrow", "split", "argmax", "topk",
    "Mesh", "ShardingPlan", "shard", "sharded", "sharding_plan",
]
