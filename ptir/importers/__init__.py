"""Ways into PTIR from the models people already have.

    program, weights = ptir.from_torch(module, torch.randn(1, 3, 224, 224))   # torch.export
    program, weights = ptir.importers.torch_export.load("model.pt2")        # torch.export.save
    program, weights = ptir.from_onnx("model.onnx")                          # ONNX

Each importer gives a verified Program whose weights are `ptir.param` arguments named as
the source names them, and a dict of those weights; what it cannot take is one error
listing every unsupported node.  torch (onnx) is imported only when the torch (ONNX)
importer is used.
"""

from __future__ import annotations


def from_torch(module, *example_args, dynamic_shapes=None, **example_kwargs):
    """A torch.nn.Module as (Program, weights) through torch.export; see
    ptir.importers.torch_export.from_torch."""
    from .torch_export import from_torch as _from_torch

    return _from_torch(module, *example_args, dynamic_shapes=dynamic_shapes, **example_kwargs)


def from_onnx(model, *, constants=None, shapes=None, name: str = "main"):
    """An ONNX model (a path, bytes or an onnx.ModelProto) as (Program, weights).

    The entry's arguments are the graph's inputs that are not initializers, with the
    shapes and dtypes the model declares (`shapes={name: shape}` fixes dynamic dims);
    initializers become `ptir.param` arguments under their ONNX names, their arrays the
    weights dict.  `constants={name: array}` binds graph inputs known at import (a shape).
    Opsets 13 to the installed onnx's newest; older models are converted first.  Raises
    OnnxImportError listing every node PTIR cannot take (ptir.importers.onnx.from_onnx)."""
    from .onnx import from_onnx as _from_onnx

    return _from_onnx(model, constants=constants, shapes=shapes, name=name)


__all__ = ["from_torch", "from_onnx"]
