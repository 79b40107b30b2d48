"""Full models built from ptir.nn, loading weights by torch state_dict names.

`MODELS` maps a model name to its `ModelFamily` (models/base.py), the one interface
that `ptirc export`, `ptirc eval`, `ptirc conformance --models` and the tests use.
"""

from .base import MODELS, ModelFamily, get_model

__all__ = ["MODELS", "ModelFamily", "get_model"]
