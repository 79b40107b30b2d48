"""Layers with torch's parameter names, so a torch state_dict loads as it is."""

from __future__ import annotations

import math

from .. import functional as F
from ..functional.core import reshape, transpose
from ..functional.tracer import fail
from .module import Module, full, normal, uniform


class Linear(Module):
    """y = x W^T + b; weight (out_features, in_features), bias (out_features,)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype="f32"):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features) if in_features else 0.0
        self.weight = uniform((out_features, in_features), bound, dtype)
        if bias:
            self.bias = uniform((out_features,), bound, dtype)
        else:
            self.bias = None

    def forward(self, x):
        """x: (..., in_features) -> (..., out_features), the weight's dtype; see F.linear."""
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        """in_features, out_features and whether there is a bias."""
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class LayerNorm(Module):
    """Layer normalisation over the trailing `normalized_shape` dims (F.layer_norm), as
    torch.nn.LayerNorm: weight (ones) and bias (zeros) of that shape, both optional."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 dtype="f32"):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps = eps
        self.weight = full(self.normalized_shape, 1.0, dtype) if elementwise_affine else None
        self.bias = full(self.normalized_shape, 0.0, dtype) if elementwise_affine and bias else None

    def forward(self, x):
        """x: (..., *normalized_shape), float; same shape and dtype out.  See F.layer_norm."""
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)


class RMSNorm(Module):
    """RMS normalisation over the trailing `normalized_shape` dims (F.rms_norm), as
    torch.nn.RMSNorm: weight (ones) of that shape, optional; eps None means the dtype's epsilon."""

    def __init__(self, normalized_shape, eps: float | None = None, elementwise_affine: bool = True, dtype="f32"):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps = eps
        self.weight = full(self.normalized_shape, 1.0, dtype) if elementwise_affine else None

    def forward(self, x):
        """x: (..., *normalized_shape), float; same shape and dtype out.  See F.rms_norm."""
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)


class Embedding(Module):
    """weight (num_embeddings, embedding_dim), N(0, 1) initialised; the padding_idx row is zero."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, dtype="f32"):
        super().__init__()
        self.padding_idx = padding_idx
        self.weight = normal((num_embeddings, embedding_dim), dtype)
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0

    def forward(self, input):
        """Integer indices of any shape -> input.shape + (embedding_dim,) rows.  See F.embedding."""
        return F.embedding(input, self.weight, self.padding_idx)


class Conv2d(Module):
    """weight OIHW (out_channels, in_channels / groups, kh, kw) and bias as in torch, for
    either layout; with layout="nhwc" the weight is transposed to HWIO in the program."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, layout: str = "nchw", dtype="f32"):
        super().__init__()
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        if in_channels % groups or out_channels % groups:
            fail("Conv2d", f"groups {groups} must divide in_channels {in_channels} and out_channels {out_channels}")
        self.stride, self.padding, self.dilation, self.groups, self.layout = stride, padding, dilation, groups, layout
        bound = 1.0 / math.sqrt(in_channels // groups * kh * kw)
        self.weight = uniform((out_channels, in_channels // groups, kh, kw), bound, dtype)
        self.bias = uniform((out_channels,), bound, dtype) if bias else None

    def forward(self, x):
        """x: (N, C_in, H, W) (or NHWC), float -> (N, C_out, H', W').  See F.conv2d."""
        w = self.weight if self.layout == "nchw" else transpose(self.weight, (2, 3, 1, 0))
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups, layout=self.layout)


class BatchNorm2d(Module):
    """Inference batch norm: weight, bias and buffers running_mean, running_var,
    num_batches_tracked (the last unused, kept so torch state dicts load)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 layout: str = "nchw", dtype="f32"):
        super().__init__()
        self.eps, self.momentum, self.layout = eps, momentum, layout
        self.weight = full((num_features,), 1.0, dtype) if affine else None
        self.bias = full((num_features,), 0.0, dtype) if affine else None
        self.register_buffer("running_mean", full((num_features,), 0.0, dtype))
        self.register_buffer("running_var", full((num_features,), 1.0, dtype))
        self.register_buffer("num_batches_tracked", full((), 0, "i64"))

    def forward(self, x):
        """x: (N, C, ...) (or channels last), float; same shape and dtype out.  See F.batch_norm."""
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, eps=self.eps,
                            layout=self.layout)


ACTIVATIONS = {
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "silu": F.silu,
}


class FeedForward(Module):
    """The transformer MLP.  Plain: fc2(act(fc1(x))).  Gated (LLaMA's SwiGLU with "silu"):
    down_proj(act(gate_proj(x)) * up_proj(x))."""

    def __init__(self, dim: int, hidden_dim: int, activation: str = "gelu", bias: bool = True, gated: bool = False,
                 dtype="f32"):
        super().__init__()
        if activation not in ACTIVATIONS:
            fail("FeedForward", f"activation must be one of {', '.join(ACTIVATIONS)}, not {activation!r}")
        self.activation, self.gated = activation, gated
        if gated:
            self.gate_proj = Linear(dim, hidden_dim, bias, dtype)
            self.up_proj = Linear(dim, hidden_dim, bias, dtype)
            self.down_proj = Linear(hidden_dim, dim, bias, dtype)
        else:
            self.fc1 = Linear(dim, hidden_dim, bias, dtype)
            self.fc2 = Linear(hidden_dim, dim, bias, dtype)

    def forward(self, x):
        """x: (..., dim) -> (..., dim), the weights' dtype."""
        act = ACTIVATIONS[self.activation]
        if self.gated:
            return self.down_proj(act(self.gate_proj(x)) * self.up_proj(x))
        return self.fc2(act(self.fc1(x)))


class CausalSelfAttention(Module):
    """Multi-head causal self-attention over (B, T, embed_dim), with grouped kv heads
    (num_kv_heads < num_heads) and optional GPT-NeoX rotary embeddings on the first
    `rotary_dim` features of each head.  Projections q_proj, k_proj, v_proj, out_proj.

    forward(x) attends over x alone; forward(x, k_cache, v_cache, pos) writes the new keys
    and values into the (B, num_kv_heads, capacity, head_dim) caches at `pos` and returns
    (y, k_cache, v_cache): prefill with T tokens, then decode one token at a time."""

    def __init__(self, embed_dim: int, num_heads: int, num_kv_heads: int | None = None, bias: bool = True,
                 rotary_dim: int | None = None, rotary_base: float = 10000.0, dtype="f32"):
        super().__init__()
        kv = num_kv_heads or num_heads
        if embed_dim % num_heads or num_heads % kv:
            fail("CausalSelfAttention", f"num_heads {num_heads} must divide embed_dim {embed_dim} and be a "
                                        f"multiple of num_kv_heads {kv}")
        self.num_heads, self.num_kv_heads, self.head_dim = num_heads, kv, embed_dim // num_heads
        self.rotary_dim, self.rotary_base = rotary_dim, rotary_base
        self.q_proj = Linear(embed_dim, embed_dim, bias, dtype)
        self.k_proj = Linear(embed_dim, kv * self.head_dim, bias, dtype)
        self.v_proj = Linear(embed_dim, kv * self.head_dim, bias, dtype)
        self.out_proj = Linear(embed_dim, embed_dim, bias, dtype)

    def _heads(self, t, n: int):
        """(B, T, n * head_dim) -> (B, n, T, head_dim)."""
        b, s, _ = t.shape
        return transpose(reshape(t, (b, s, n, self.head_dim)), (0, 2, 1, 3))

    def forward(self, x, k_cache=None, v_cache=None, pos=None):
        """x: (B, T, embed_dim) -> y of that shape, or (y, k_cache, v_cache) with caches given.
        TypeRuleError unless k_cache, v_cache and pos come together."""
        if (k_cache is None) != (v_cache is None) or (k_cache is not None and pos is None):
            fail("CausalSelfAttention", "give k_cache, v_cache and pos together, or none of them")
        b, s, e = x.shape
        q, k, v = (self._heads(p(x), n) for p, n in ((self.q_proj, self.num_heads), (self.k_proj, self.num_kv_heads),
                                                     (self.v_proj, self.num_kv_heads)))
        if self.rotary_dim:
            cos, sin = F.rotary_cos_sin(s, self.rotary_dim, self.rotary_base, 0 if pos is None else pos, x.dtype)
            q, k = F.rotary_embedding(q, cos, sin), F.rotary_embedding(k, cos, sin)
        if k_cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        else:
            y, k_cache, v_cache = F.attention(q, k, v, k_cache, v_cache, pos)
        y = self.out_proj(reshape(transpose(y, (0, 2, 1, 3)), (b, s, e)))
        return y if k_cache is None else (y, k_cache, v_cache)


class Parameterless(Module):
    """An activation as a module (for Sequential)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        """The activation applied to x."""
        return self.fn(x)


def ReLU() -> Module:
    """F.relu as a module (torch.nn.ReLU), for Sequential."""
    return Parameterless(F.relu)


def GELU(approximate: str = "none") -> Module:
    """F.gelu as a module (torch.nn.GELU; approximate "none" or "tanh"), for Sequential."""
    return Parameterless(lambda x: F.gelu(x, approximate))


def SiLU() -> Module:
    """F.silu as a module (torch.nn.SiLU), for Sequential."""
    return Parameterless(F.silu)


