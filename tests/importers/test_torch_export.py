"""The torch.export importer: each ATen mapping against torch, the complete list of what
a model needs that PTIR lacks, and torchvision's models on the compiled targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ptir
from ptir.cli import main
from ptir.configs import CONFORMANCE
from ptir.conformance.tolerance import compare, load_rules
from ptir.conformance.torch_zoo import ZOO, build
from ptir.importers.torch_export import ATEN, TorchImportError, aten, from_torch

RULES = load_rules(CONFORMANCE)
G = torch.Generator().manual_seed(0)


def randn(*shape):
    return torch.randn(shape, generator=G)


class Fn(torch.nn.Module):
    """A function as a module, for torch.export."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


class WithWeights(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.ln = torch.nn.LayerNorm(8)
        self.fc = torch.nn.Linear(8, 5)

    def forward(self, x):
        y = self.bn(self.conv(x)).relu()
        return self.fc(self.ln(y.mean((2,)).reshape(1, -1)[:, :8]))


# (id, function on tensors, example inputs): together they reach every entry of ATEN.
CASES = [
    ("conv_bn_ln_linear", WithWeights(), [randn(1, 3, 6, 6)]),
    ("arith", lambda a, b: (a + 2 * b - b / 3) * a - 1.5, [randn(2, 3), randn(2, 3)]),
    ("alpha", lambda a, b: torch.add(a, b, alpha=2) + torch.sub(a, b, alpha=3), [randn(4), randn(4)]),
    ("unary", lambda a: torch.sigmoid(a) + torch.tanh(a) + TF.gelu(a) + TF.gelu(a, approximate="tanh")
     + torch.exp(-a) - a.abs().sqrt() + a.abs().add(1).rsqrt() + (-a).relu() + torch.clamp(a, -0.5, 0.5)
     + TF.hardtanh(a) + a ** 2, [randn(3, 5)]),
    ("compare_where", lambda a: torch.where((a == 0.5) | ~(a != 0.25) | (a > 0) & (a >= -1) | (a < -2)
     | (a <= -3), a, torch.zeros_like(a)), [randn(3, 4)]),
    ("any_fmod", lambda a: torch.where((a > 1).any(-1, keepdim=True), torch.fmod(a, 0.7), a) + a % -0.6
     + a % (a * 0 + 0.3), [randn(3, 4) * 2]),
    ("matmuls", lambda a, b, c: torch.addmm(c, a, b, beta=0.5, alpha=2.0) + a @ b + (a[None] @ b[None])[0],
     [randn(3, 4), randn(4, 5), randn(5)]),
    ("reductions", lambda a: a.mean((1,), keepdim=True) + a.sum(-1, keepdim=True) + torch.softmax(a, -1)
     + torch.log_softmax(a, 0), [randn(3, 6)]),
    ("shapes", lambda a: a.view(2, -1).permute(1, 0).reshape(3, 4, 1).expand(3, 4, 5).unsqueeze(0).squeeze(0)
     .contiguous() + a.reshape(3, 4)[:, :, None], [randn(12)]),
    ("squeeze_all", lambda a: a.squeeze() * 2, [randn(1, 3, 1)]),
    ("cat_split_select", lambda a: torch.cat(a.split([1, 2], 1), 1) + a.split(2, 0)[0].sum(0, keepdim=True)
     + a[1] + a[:, 1:3].sum(), [randn(3, 3)]),
    ("slices", lambda a: a[1:, ::2] + a[-3:, -3:], [randn(4, 6)]),
    ("pools", lambda x: TF.max_pool2d(x, 3, 2, 1) + TF.avg_pool2d(x, 3, 2, 1)
     + TF.max_pool2d(x, 2, ceil_mode=True)[:, :, :3, :3], [randn(1, 2, 6, 6)]),
    ("adaptive_pool", lambda x: TF.adaptive_avg_pool2d(x, 1) + 1, [randn(1, 3, 4, 4)]),
    ("pad", lambda x: TF.pad(x, (1, 2, 0, 1), value=0.5), [randn(1, 2, 3, 3)]),
    ("constants", lambda a: a + torch.full((3,), 2.0) + torch.full_like(a, 3.0) + torch.arange(3)
     + torch.scalar_tensor(1.5), [randn(3)]),
    ("casts", lambda a: a.to(torch.int32).to(torch.float32) + a.clone().detach(), [randn(4) * 5]),
    ("tensor_compares", lambda a, b: torch.where(
        torch.logical_and(a > b, a >= b * 0) | torch.logical_or(a < b, a <= b - 1) | torch.logical_not(a == b)
        & (a != b), torch.fmod(a, b.abs() + 1), a ** b.abs()), [randn(3, 4), randn(3, 4)]),
    ("trig_cumsum", lambda a: torch.sin(a) * torch.cos(a) + torch.cumsum(a, 1) + torch.cumsum(a > 0, 0), [randn(3, 5)]),
    ("lookups", lambda a, i: TF.embedding(i, a) .sum(0) + a.index_select(0, i[0]) + a[i[0], i[1]][:, None]
     + torch.gather(a, 1, i.T[:, :1].expand(3, 4) % 4).sum(), [randn(3, 4), torch.tensor([[0, 2, 1], [1, 0, 2]])]),
    ("overloads", lambda a: aten.mul.Scalar(a, 2.0) + aten.as_strided(a.mean((2, 3), keepdim=True), (1, 4, 1, 1),
                                                                       (4, 1, 4, 4)), [randn(1, 4, 2, 2)]),
]


def _run(module, inputs, target="ref", kwargs=None):
    """(PTIR's first output on `target`, torch's)."""
    module = module if isinstance(module, torch.nn.Module) else Fn(module)
    program, weights = from_torch(module, *inputs, **(kwargs or {}))
    got = ptir.compile(program, target=target, params=weights)(*[x.numpy() for x in inputs])
    with torch.no_grad():
        want = module.eval()(*inputs, **(kwargs or {}))
    want = want[0] if isinstance(want, tuple | dict) or hasattr(want, "to_tuple") else want
    return (got[0] if isinstance(got, tuple) else got), want.numpy()


@pytest.mark.parametrize("fn,inputs", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_mapping_against_torch(fn, inputs):
    got, want = _run(fn, inputs)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_every_mapping_has_a_case():
    from torch.export import export

    seen = set()
    for _, fn, inputs in CASES:
        ep = export(fn.eval() if isinstance(fn, torch.nn.Module) else Fn(fn), tuple(inputs)).run_decompositions()
        seen |= {n.target for n in ep.graph.nodes if n.op == "call_function"}
    assert not [str(k) for k in ATEN if k not in seen]


def test_unsupported_nodes_are_listed_all_at_once(tmp_path, capsys):
    def uses_missing_ops(x):
        return torch.flip(x, [0]) + torch.flip(x, [1]) + x.sort(0).values + x.argsort(1)

    with pytest.raises(TorchImportError) as e:
        from_torch(Fn(uses_missing_ops), randn(3, 4))
    text = str(e.value)
    assert "cannot import" in text and "aten.flip.default: no mapping to PTIR (x2)" in text
    assert "aten.sort" in text and "test_torch_export.py" in text
    saved = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(Fn(uses_missing_ops), (randn(3, 4),)), saved)
    assert main(["import", str(saved), "-o", str(tmp_path / "m.ptir")]) == 1
    err = capsys.readouterr().err
    assert "aten.flip.default" in err and "Traceback" not in err and not (tmp_path / "m.ptir").exists()


def test_weights_keep_their_state_dict_names():
    module = WithWeights()
    program, weights = from_torch(module, randn(1, 3, 6, 6))
    params = program.entry().params
    assert set(params) == set(weights) == set(module.state_dict())
    assert all(np.array_equal(weights[k], module.state_dict()[k].numpy()) for k in weights)


def test_ptir_compile_takes_a_torch_module():
    module = WithWeights().eval()
    x = randn(1, 3, 6, 6)
    f = ptir.compile(module, x, target="ref")
    with torch.no_grad():
        np.testing.assert_allclose(f(x.numpy()), module(x).numpy(), rtol=1e-5, atol=1e-6)


def test_ptirc_import_lower_and_run_a_pt2(tmp_path, capsys):
    module = WithWeights().eval()
    x = randn(1, 3, 6, 6)
    saved = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(module, (x,)), saved)
    np.savez(tmp_path / "in.npz", x=x.numpy())
    assert main(["import", str(saved), "-o", str(tmp_path / "m.ptir"), "--params-out", str(tmp_path / "w.st")]) == 0
    assert main(["lower", str(saved), "--target", "llvm-cpu", "-o", str(tmp_path / "m.vmfb")]) == 0
    assert main(["run", str(tmp_path / "m.vmfb"), "--params", str(tmp_path / "w.st"), "--inputs",
                 str(tmp_path / "in.npz"), "-o", str(tmp_path / "a.npz")]) == 0
    assert main(["run", str(saved), "--target", "xla-cpu", "--inputs", str(tmp_path / "in.npz"), "-o",
                 str(tmp_path / "b.npz")]) == 0
    with torch.no_grad():
        want = module(x).numpy()
    for out in ("a.npz", "b.npz"):
        np.testing.assert_allclose(np.load(tmp_path / out)["result0"], want, rtol=1e-5, atol=1e-5)
    assert "ptir.param" in (tmp_path / "m.ptir").read_text()


@pytest.mark.parametrize("target", ["llvm-cpu", "xla-cpu"])
@pytest.mark.parametrize("name", sorted(ZOO))
def test_torchvision_models(name, target):
    """torchvision's and transformers' own definitions, imported and run against torch
    (rules: model.torch.NAME)."""
    module, inputs, kwargs = build(name)
    got, want = _run(module, inputs, target, kwargs)
    tol = RULES.lookup(f"model.torch.{name}", target, "f32")
    c = compare(got, want, tol.atol, tol.rtol)
    assert c.ok, f"{name} on {target}: {c.message}"
    assert np.abs(want).max() > 0.1, "degenerate weights: the comparison would prove nothing"


@pytest.mark.parametrize("name", ["resnet34", "mobilenet_v2"])
def test_built_in_families_match_their_imported_twins(name):
    """The hand-built family and torchvision's module imported, with the same weights,
    give the same outputs."""
    from ptir.models import get_model

    family = get_model(name)
    config = family.config("tiny")
    weights = family.random_weights(config)
    x = family.example_inputs(config)[0]
    twin = family.torch_module(config, weights)
    imported, imported_weights = from_torch(twin, x)
    ours = ptir.compile(family.bind(config, weights).forward, ptir.spec(x.shape), target="llvm-cpu",
                        params=family.bind(config, weights).state_dict())(x)
    theirs = ptir.compile(imported, target="llvm-cpu", params=imported_weights)(x)
    tol = RULES.lookup(f"model.{name}", "llvm-cpu", "f32")
    c = compare(ours, theirs, tol.atol, tol.rtol)
    assert c.ok, c.message
