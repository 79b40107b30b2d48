"""ptir.nn layers against torch.nn layers holding the same state_dict."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ptir
import ptir.nn as nn
from ptir.nn import StateDictError

from ._util import close, randn, t


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    nn.manual_seed(0)


def check_layer(ours, theirs, x, target, rtol=1e-5, atol=1e-5):
    """Same state_dict keys (in torch's order), load torch's weights, same outputs."""
    theirs.eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]
    ours.load_state_dict(theirs.state_dict())
    got = ptir.compile(ours, x, target=target)(x)
    with torch.no_grad():
        close(got, theirs(t(x)), rtol, atol)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(1, 8), (2, 3, 8)])
def test_linear(shape, bias, target, rng):
    check_layer(nn.Linear(8, 5, bias), torch.nn.Linear(8, 5, bias), randn(rng, *shape), target, 1e-4)


def test_layer_norms(target, rng):
    x = randn(rng, 2, 3, 6)
    tln = torch.nn.LayerNorm(6)
    with torch.no_grad():
        tln.weight.normal_(), tln.bias.normal_()
    check_layer(nn.LayerNorm(6), tln, x, target, 1e-4)
    check_layer(nn.LayerNorm((3, 6), bias=False), torch.nn.LayerNorm((3, 6), bias=False), x, target, 1e-4)
    trms = torch.nn.RMSNorm(6, eps=1e-6)
    with torch.no_grad():
        trms.weight.normal_()
    check_layer(nn.RMSNorm(6, eps=1e-6), trms, x, target, 1e-4)


def test_embedding(target, rng):
    idx = rng.integers(0, 11, (2, 4)).astype(np.int64)
    check_layer(nn.Embedding(11, 3, padding_idx=0), torch.nn.Embedding(11, 3, padding_idx=0), idx, target)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=2),
                                dict(groups=4, padding=1, bias=False)])
def test_conv2d(kw, target, rng):
    x = randn(rng, 1, 4, 7, 7)
    check_layer(nn.Conv2d(4, 8, 3, **kw), torch.nn.Conv2d(4, 8, 3, **kw), x, target, 1e-4, 1e-4)


def test_conv2d_nhwc_keeps_torch_weights(target, rng):
    ours, theirs = nn.Conv2d(3, 5, (3, 2), stride=(2, 1), layout="nhwc"), torch.nn.Conv2d(3, 5, (3, 2), stride=(2, 1))
    ours.load_state_dict(theirs.state_dict())
    x = randn(rng, 2, 3, 6, 6)
    got = ptir.compile(ours, x.transpose(0, 2, 3, 1), target=target)(x.transpose(0, 2, 3, 1))
    close(got, theirs(t(x)).permute(0, 2, 3, 1), 1e-4, 1e-4)


def test_batch_norm2d(target, rng):
    theirs = torch.nn.BatchNorm2d(4)
    with torch.no_grad():
        for p in (theirs.weight, theirs.bias, theirs.running_mean):
            p.normal_()
        theirs.running_var.uniform_(0.5, 2.0)
    ours = nn.BatchNorm2d(4)
    assert [k for k, _ in ours.named_buffers()] == [k for k, _ in theirs.named_buffers()]
    check_layer(ours, theirs, randn(rng, 2, 4, 3, 3), target, 1e-4)
    # the unused num_batches_tracked buffer does not become an argument
    params = ours.trace(ptir.spec((2, 4, 3, 3))).entry().params
    assert sorted(params) == ["bias", "running_mean", "running_var", "weight"]


class TorchFeedForward(torch.nn.Module):
    def __init__(self, dim, hidden, gated):
        super().__init__()
        self.gated = gated
        if gated:
            self.gate_proj, self.up_proj = torch.nn.Linear(dim, hidden), torch.nn.Linear(dim, hidden)
            self.down_proj = torch.nn.Linear(hidden, dim)
        else:
            self.fc1, self.fc2 = torch.nn.Linear(dim, hidden), torch.nn.Linear(hidden, dim)

    def forward(self, x):
        if self.gated:
            return self.down_proj(TF.silu(self.gate_proj(x)) * self.up_proj(x))
        return self.fc2(TF.gelu(self.fc1(x), approximate="tanh"))


@pytest.mark.parametrize("gated", [False, True])
def test_feed_forward(gated, target, rng):
    ours = nn.FeedForward(6, 10, "silu" if gated else "gelu_tanh", gated=gated)
    check_layer(ours, TorchFeedForward(6, 10, gated), randn(rng, 2, 3, 6), target, 1e-4)


class TorchCausalSelfAttention(torch.nn.Module):
    """The reference: torch projections, GPT-NeoX rotary, F.scaled_dot_product_attention."""

    def __init__(self, dim, heads, kv_heads, rotary_dim=None):
        super().__init__()
        self.heads, self.kv_heads, self.hd, self.rot = heads, kv_heads, dim // heads, rotary_dim
        self.q_proj = torch.nn.Linear(dim, dim)
        self.k_proj = torch.nn.Linear(dim, kv_heads * self.hd)
        self.v_proj = torch.nn.Linear(dim, kv_heads * self.hd)
        self.out_proj = torch.nn.Linear(dim, dim)

    def forward(self, x):
        b, s, e = x.shape
        q = self.q_proj(x).view(b, s, self.heads, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.kv_heads, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.kv_heads, self.hd).transpose(1, 2)
        if self.rot:
            from .test_functional_numeric import _neox_rotary, _torch_cos_sin
            cos, sin = _torch_cos_sin(s, self.rot)
            q, k = _neox_rotary(q, cos, sin), _neox_rotary(k, cos, sin)
        y = TF.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        return self.out_proj(y.transpose(1, 2).reshape(b, s, e))


ATTN = [(8, 2, 2, None), (16, 4, 2, 4), (16, 4, 1, None)]   # dim, heads, kv heads, rotary dim


@pytest.mark.parametrize("dim,heads,kv,rot", ATTN)
def test_causal_self_attention(dim, heads, kv, rot, target, rng):
    ours = nn.CausalSelfAttention(dim, heads, kv, rotary_dim=rot)
    check_layer(ours, TorchCausalSelfAttention(dim, heads, kv, rot), randn(rng, 2, 5, dim), target, 1e-4)


def test_trace_binds_weights_by_state_dict_key():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2, bias=False))
    prog = ptir.trace(model, ptir.spec((3, 4)))
    fn = prog.entry()
    assert [a.value.name for a in fn.inputs] == ["x"]
    assert list(fn.params) == ["0.weight", "0.bias", "2.weight"]
    text = str(prog)
    assert '%0.weight: tensor<8x4xf32> {ptir.param = "0.weight"}' in text
    assert str(ptir.parse(text)) == text
    # a module called from a traced function is inlined as constants instead
    inlined = ptir.trace(lambda x: model(x) * 2, ptir.spec((3, 4))).entry()
    assert not inlined.params


def test_load_state_dict_errors():
    model = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8))
    state = {k: np.zeros(v.shape, v.dtype) for k, v in model.state_dict().items()}
    bad = dict(state)
    del bad["1.bias"]
    bad["0.weight"] = np.zeros((4, 8), np.float32)
    bad["head.weight"] = np.zeros(3, np.float32)
    with pytest.raises(StateDictError) as e:
        model.load_state_dict(bad)
    assert str(e.value) == ("error: Sequential.load_state_dict: missing keys: 1.bias; unexpected keys: head.weight; "
                            "shape mismatch: 0.weight: expected shape (8, 4), got (4, 8)")
    extra = {**state, "head.weight": np.zeros(3, np.float32)}
    model.load_state_dict(extra, strict=False)
    assert not model.state_dict()["0.weight"].any()
    model.load_state_dict({k: v.astype(np.float64) + 1 for k, v in state.items()})
    assert model.state_dict()["0.bias"].dtype == np.float32 and (model.state_dict()["0.bias"] == 1).all()


def test_safetensors_round_trip(tmp_path, target, rng):
    from ptir.weights import save_params

    theirs = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.GELU(), torch.nn.Linear(6, 3))
    path = tmp_path / "w.safetensors"
    save_params({k: v.numpy() for k, v in theirs.state_dict().items()}, path)
    ours = nn.Sequential(nn.Linear(4, 6), nn.GELU(), nn.Linear(6, 3)).load_safetensors(path)
    x = randn(rng, 2, 4)
    with torch.no_grad():
        want = theirs(t(x))
    close(ours.compile(x, target=target)(x), want, 1e-4)
    # the program keeps the weights out; they bind by name from the file
    prog = ptir.trace(ours, x)
    close(ptir.compile(prog, target=target, params=path)(x), want, 1e-4)
    with pytest.raises(StateDictError, match="missing keys: 0.bias, 2.weight, 2.bias"):
        save_params({"0.weight": np.zeros((6, 4), np.float32)}, tmp_path / "partial.safetensors")
        nn.Sequential(nn.Linear(4, 6), nn.GELU(), nn.Linear(6, 3)).load_safetensors(tmp_path / "partial.safetensors")
