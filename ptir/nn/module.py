"""Module: named weights and submodules, state_dict keys like torch's, tracing with
weights as `ptir.param` arguments."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..dialect import dtypes as dt
from ..errors import PtirError
from ..functional.capture import trace
from ..functional.tracer import current_tracer, to_dtype


class StateDictError(PtirError):
    """A state dict or weights file that does not fit a module's weights."""

    stage = "load"


class Parameter:
    """A weight held as a numpy array; while its module is traced, reading it gives the
    traced tensor bound to its state_dict key."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = np.asarray(data)

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={self.shape}, dtype={self.dtype})"

    def traced(self, tracer):
        """What reading this weight gives while `tracer` captures its module: the weight's
        `ptir.param` argument (ptir.nn.quantize overrides it for narrow weights)."""
        return tracer.param(self, self.data)


_rng = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Reseed the generator that initialises new modules' weights."""
    global _rng
    _rng = np.random.default_rng(seed)


def uniform(shape, bound: float, dtype="f32") -> Parameter:
    """A Parameter drawn uniformly from [-bound, bound), in `dtype` (Linear and Conv2d pass
    torch's default bound, 1/sqrt(fan_in))."""
    return Parameter(_rng.uniform(-bound, bound, shape).astype(to_dtype(dtype).np_dtype))


def normal(shape, dtype="f32") -> Parameter:
    """A Parameter drawn from N(0, 1), in `dtype` (torch's Embedding init)."""
    return Parameter(_rng.standard_normal(shape).astype(to_dtype(dtype).np_dtype))


def full(shape, value, dtype="f32") -> Parameter:
    """A Parameter of `shape` filled with `value`, in `dtype`."""
    return Parameter(np.full(shape, value, to_dtype(dtype).np_dtype))


def _to_numpy(v) -> np.ndarray:
    """numpy arrays as they are; torch tensors (bf16 included) copied to numpy."""
    if hasattr(v, "detach"):
        v = v.detach().cpu()
        if str(v.dtype) == "torch.bfloat16":
            return v.float().numpy().astype(dt.bf16.np_dtype)
        return v.numpy()
    return np.asarray(v)


class Module:
    """Base of all layers: assign Parameters and Modules as attributes to register them."""

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"call Module.__init__() before assigning {name!r}")
        if name in self._buffers and not isinstance(value, Parameter | Module):
            self._buffers[name] = Parameter(value)   # an array assigned to a buffer replaces its value
            return
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        if isinstance(value, Parameter | Module):
            self.__dict__.pop(name, None)   # a plain attribute of that name would shadow it
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers"):
            if name in d.get(store, {}):
                w = d[store][name]
                tracer = current_tracer()
                return w.traced(tracer) if tracer is not None else w
        if name in d.get("_modules", {}):
            return d["_modules"][name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def register_buffer(self, name: str, value) -> None:
        """A non-trainable tensor that is part of the state dict (e.g. running statistics)."""
        self._buffers[name] = value if isinstance(value, Parameter) else Parameter(value)

    def forward(self, *args, **kwargs):
        """The computation on traced tensors; every layer overrides it (here: NotImplementedError)."""
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # --- names ---------------------------------------------------------------------------------

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module ("" or `prefix`) and all below it, depth first."""
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def _named(self, stores=("_parameters", "_buffers")) -> Iterator[tuple[str, Parameter]]:
        """Weights module by module, each module's parameters before its buffers: torch's
        state_dict order."""
        for prefix, m in self.named_modules():
            for store in stores:
                for name, w in m.__dict__[store].items():
                    yield (f"{prefix}.{name}" if prefix else name), w

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """(state_dict key, Parameter) of every parameter below this module, buffers left out."""
        return self._named(("_parameters",))

    def named_buffers(self) -> Iterator[tuple[str, Parameter]]:
        """(state_dict key, Parameter) of every buffer (e.g. running_mean) below this module."""
        return self._named(("_buffers",))

    def parameters(self) -> Iterator[Parameter]:
        """Every parameter below this module, in state_dict order."""
        return (w for _, w in self.named_parameters())

    def state_dict(self) -> dict[str, np.ndarray]:
        """Key -> numpy array of every parameter and buffer, in torch's order and with its keys
        (`0.weight`, `bn.running_mean`); the arrays are the module's own, not copies."""
        return {k: w.data for k, w in self._named()}

    def param_keys(self) -> dict[int, str]:
        """id(weight) -> state_dict key: what tracing binds each weight's argument to."""
        return {id(w): k for k, w in self._named()}

    # --- loading -------------------------------------------------------------------------------

    def load_state_dict(self, state_dict, strict: bool = True) -> Module:
        """Copy weights in by key (torch tensors or numpy arrays, cast to each weight's dtype).

        Raises StateDictError listing every missing, unexpected (when strict) and mis-shaped key."""
        own = dict(self._named())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own] if strict else []
        arrays = {k: _to_numpy(v) for k, v in state_dict.items() if k in own}
        bad = [f"{k}: expected shape {own[k].shape}, got {a.shape}" for k, a in arrays.items()
               if a.shape != own[k].shape]
        # a weight stored narrow takes its stored form only: casting floats to int8 would
        # drop the scale silently (load first, then ptir.nn.quantize_weights)
        narrow = [f"{k} ({own[k].dtype}, given {a.dtype})" for k, a in arrays.items()
                  if own[k].dtype.kind in "iu" and a.dtype.kind == "f"]
        problems = ([f"missing keys: {', '.join(missing)}"] * bool(missing)
                    + [f"unexpected keys: {', '.join(unexpected)}"] * bool(unexpected)
                    + [f"shape mismatch: {'; '.join(bad)}"] * bool(bad)
                    + [f"float values for integer weights: {', '.join(narrow)}"] * bool(narrow))
        if problems:
            raise StateDictError("; ".join(problems), op=f"{type(self).__name__}.load_state_dict")
        for k, a in arrays.items():
            own[k].data = np.asarray(a.astype(own[k].dtype, copy=False), order="C")   # keeps 0-d 0-d
        return self

    def load_safetensors(self, path, strict: bool = True) -> Module:
        """`load_state_dict` from a safetensors file; StateDictError as there."""
        from ..weights import load_params

        return self.load_state_dict(load_params(path), strict)

    def save_safetensors(self, path) -> None:
        """Write `state_dict()` to a safetensors file at `path`."""
        from ..weights import save_params

        save_params(self.state_dict(), path)

    # --- capture -------------------------------------------------------------------------------

    def trace(self, *specs, name: str = "main"):
        """The captured program of forward(*specs), weights as `ptir.param` arguments."""
        return trace(self, *specs, name=name)

    def compile(self, *specs, target: str = "ref", **options):
        """Trace and compile with this module's weights."""
        from .. import compile as _compile

        return _compile(self, *specs, target=target, params=self.state_dict(), **options)

    def extra_repr(self) -> str:
        """The settings shown inside `Name(...)` by repr; layers override it, the base shows none."""
        return ""

    def __repr__(self) -> str:
        lines = [f"  ({n}): " + repr(m).replace("\n", "\n  ") for n, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ("\n" + "\n".join(lines) + "\n)" if lines else ")")


class Sequential(Module):
    """Modules applied in order, named "0", "1", ... as in torch."""

    def __init__(self, *modules: Module):
        super().__init__()
        for i, m in enumerate(modules):
            setattr(self, str(i), m)

    def forward(self, x):
        """x through each module in turn; the last one's output."""
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)


class ModuleList(Module):
    """A list of modules named "0", "1", ... as in torch."""

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, m: Module) -> ModuleList:
        """Add `m` under the next index as its name; returns the list."""
        setattr(self, str(len(self._modules)), m)
        return self

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __iter__(self):
        return iter(self._modules.values())

    def __len__(self) -> int:
        return len(self._modules)
