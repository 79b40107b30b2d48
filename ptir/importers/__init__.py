"""Ways into PTIR from the models people already have.

    program, weights = ptir.from_torch(module, torch.randn(1, 3, 224, 224))   # torch.export
    program, weights = ptir.importers.torch_export.load("model.pt2")        # torch.export.save

Each importer gives a verified Program whose weights are `ptir.param` arguments named as
the source names them, and a dict of those weights; what it cannot take is one error
listing every unsupported node.  torch is imported only when the torch importer is used.
"""

from __future__ import annotations


def from_torch(module, *example_args, dynamic_shapes=None, **example_kwargs):
    """A torch.nn.Module as (Program, weights) through torch.export; see
    ptir.importers.torch_export.from_torch."""
    from .torch_export import from_torch as _from_torch

    return _from_torch(module, *example_args, dynamic_shapes=dynamic_shapes, **example_kwargs)


__all__ = ["from_torch"]
