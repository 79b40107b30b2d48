"""Every public function and class of the user-facing API has a docstring (shapes,
dtypes, units and the errors raised are the contents the guide asks for; this test can
only check that one is there)."""

from __future__ import annotations

import inspect

import pytest

import ptir
import ptir.functional
import ptir.nn
import ptir.pipeline
import ptir.runtime
import ptir.runtime.iree_backend
import ptir.runtime.ref
import ptir.runtime.xla_backend

# The modules whose public names users call directly: the facade, the frontend, the
# pipeline and the backends.
API = {m.__name__: m for m in (ptir, ptir.functional, ptir.nn, ptir.pipeline, ptir.runtime,
                                ptir.runtime.iree_backend, ptir.runtime.xla_backend, ptir.runtime.ref)}


def public(module) -> list[tuple[str, object]]:
    names = getattr(module, "__all__", None) or [n for n, v in vars(module).items() if not n.startswith("_")
                                                 and getattr(v, "__module__", None) == module.__name__]
    out = []
    for name in names:
        obj = getattr(module, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            out.append((name, obj))
            if inspect.isclass(obj):
                out += [(f"{name}.{m}", getattr(obj, m)) for m, f in vars(obj).items()
                        if not m.startswith("_") and inspect.isfunction(f) and f.__module__.startswith("ptir")]
    return out


@pytest.mark.parametrize("module", sorted(API))
def test_public_api_has_docstrings(module):
    # inspect.getdoc: an override documented by the method it overrides counts as documented
    missing = [name for name, obj in public(API[module]) if not (inspect.getdoc(obj) or "").strip()]
    assert not missing, f"{module}: public names without a docstring: {missing}"
