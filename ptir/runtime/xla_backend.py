"""The `xla-cpu` target: the same StableHLO that IREE gets, compiled and run by XLA
through JAX's PJRT CPU client.  XLA reads no IREE parameter globals, so weights are
ordinary arguments of @main, placed on the device once at compile time."""

from __future__ import annotations

import re

import numpy as np

from ..dialect.signature import bind_params, check_params, interleave
from ..errors import CompileError, RunError
from ..lower_stablehlo.linalg import is_splat
from ..lower_stablehlo.module import LoweredModule
from .backend import Backend, CompileOptions, Emit, Executable, no_emit
from .stages import StageEvent, Timer


def _client():
    import jax
    from jax.extend.backend import get_backend

    # PTIR types are exact: without x64, jax.device_put would turn i64/f64 arrays into 32 bits.
    jax.config.update("jax_enable_x64", True)

    backend = get_backend("cpu")
    # this process's first device: under jax.distributed, devices() lists every host's
    return backend, backend.local_devices()[0]


def _placements(module: LoweredModule) -> tuple[list, list, list | None]:
    """The devices the module runs on, where each argument of @main goes (the one device,
    or with a mesh a jax NamedSharding over the first `mesh.size` CPU devices), and with a
    mesh the sharding of each result."""
    import jax
    from jax.sharding import NamedSharding, PartitionSpec

    backend, device = _client()
    mesh = module.mesh
    if mesh is None:
        return [device], [device] * len(module.input_args), None
    problem = device_problem(mesh.size)
    if problem:
        raise CompileError(f"the mesh {mesh.to_attr()} {problem}")
    devices = backend.devices()
    jmesh = jax.sharding.Mesh(np.array(devices[:mesh.size]).reshape(mesh.shape), mesh.names)

    def spec(s, rank):
        dims = s if s is not None else ((),) * rank
        return PartitionSpec(*(None if not d else d[0] if len(d) == 1 else tuple(d) for d in dims))

    fn = module.function
    results = list(fn.result_shardings) or [None] * len(fn.result_types)
    return (list(jmesh.devices.flat),
            [NamedSharding(jmesh, spec(a.sharding, a.value.type.rank)) for a in module.input_args],
            [NamedSharding(jmesh, spec(r, t.rank)) for r, t in zip(results, fn.result_types, strict=True)])


DEVICE_COUNT_FLAG = "--xla_force_host_platform_device_count"


def device_problem(n: int) -> str | None:
    """Why XLA's CPU client cannot run a mesh of `n` devices (one line), or None."""
    have = len(_client()[0].devices())
    if have >= n:
        return None
    return f"needs {n} devices but XLA has {have} (set XLA_FLAGS={DEVICE_COUNT_FLAG}={n} before JAX starts)"


def request_cpu_devices(n: int) -> None:
    """Ask for `n` virtual CPU devices in this process (XLA_FLAGS), unless XLA_FLAGS already
    says how many or JAX is already imported (its CPU client may be running: too late)."""
    import os
    import sys

    flags = os.environ.get("XLA_FLAGS", "")
    if DEVICE_COUNT_FLAG not in flags and "jax" not in sys.modules:
        os.environ["XLA_FLAGS"] = f"{flags} {DEVICE_COUNT_FLAG}={n}".strip()


# The collectives XLA's SPMD partitioner inserts; `-start` is the asynchronous form of each.
COLLECTIVES = ("all-reduce", "all-gather", "reduce-scatter", "all-to-all", "collective-permute")
_COLLECTIVE = re.compile(r"^\s*(?:ROOT\s+)?%?[\w.\-]+ = (?P<type>\(.*?\)|\S+) (?P<op>"
                         + "|".join(COLLECTIVES) + r")(?:-start)?\(", re.M)
_ARRAY = re.compile(r"\b(?P<dtype>pred|[suf]\d+|bf16|c64|c128|f8\w*)\[(?P<dims>[\d,]*)\]")


def collective_traffic(hlo: str) -> dict[str, dict[str, int]]:
    """The collectives of XLA's optimized HLO text (`XlaExecutable.optimized_hlo`, stage
    `xla.hlo` of a dump): per kind of COLLECTIVES, how many ops and their bytes per device.
    An op's bytes are those of its result (all-reduce: the buffer reduced; all-gather: the
    gathered buffer; reduce-scatter: the scattered piece; collective-permute: the buffer
    sent), for an async `-start` op the largest buffer of its tuple.  Ops inside loops
    count once (static count)."""
    out = {k: {"ops": 0, "bytes": 0} for k in COLLECTIVES}
    for m in _COLLECTIVE.finditer(hlo):
        sizes = [_bytes(a["dtype"], a["dims"]) for a in _ARRAY.finditer(m["type"])]
        start = m.group(0).rstrip("(").endswith("-start")
        out[m["op"]]["ops"] += 1
        out[m["op"]]["bytes"] += max(sizes, default=0) if start else sum(sizes)
    return out


def _bytes(dtype: str, dims: str) -> int:
    """Bytes of an HLO array `dtype[dims]`: the bit width is the number after the letters
    (f32, bf16, f8e4m3fn), pred and sub-byte types count a byte per element."""
    bits = 8 if dtype == "pred" else int(re.match(r"[a-z]+(\d+)", dtype)[1])
    n = 1
    for d in filter(None, dims.split(",")):
        n *= int(d)
    return n * max(bits // 8, 1)


# XLA 0.10.2's CPU compiler hands reductions (reduce, reduce_window) to YNNPACK fusions by
# default (with its dot and convolution fusions); in a module with a convolution whose
# kernel is a splat (the ONNX light model zoo's ConstantOfShape weights), those give NaN
# or garbage, differing from process to process (jax.jit alone reproduces it: a 32x3x3x3
# splat kernel on a 1x3x16x16 input, summed; test_a_convolution_with_a_splat_kernel_is_right
# in tests/importers/test_onnx.py).  Such a module keeps YNNPACK's dot and convolution
# fusions, without its reductions.
YNN_NO_REDUCE = ("xla_cpu_experimental_ynn_fusion_type",
                 "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_INDIVIDUAL_CONVOLUTION")


def _spmd_options(module: LoweredModule, devices: list):
    """XLA's compile options: SPMD partitioning over the mesh (Shardy), as jax builds them
    (jax/_src/compiler.py get_compile_options), or the defaults for one device."""
    from jaxlib import xla_client as xc

    options = xc.CompileOptions()
    if any(op.name == "conv" and is_splat(op.operands[1]) for op in module.function.ops):
        options.env_option_overrides = [YNN_NO_REDUCE]
    if module.mesh is None:
        return options
    options.num_replicas, options.num_partitions = 1, module.mesh.size
    build = options.executable_build_options
    build.use_spmd_partitioning = True
    build.use_shardy_partitioner = True
    options.device_assignment = xc.DeviceAssignment.create(np.array([[d.id for d in devices]]))
    return options


class XlaExecutable(Executable):
    """A loaded XLA executable; its weights stay on the device between calls.  With a
    mesh, every argument is placed by its sharding and results come back as global
    jax arrays (to_host gathers them)."""

    def __init__(self, fn, loaded, weights, placements, result_placements=None):
        super().__init__(fn)
        self.loaded = loaded
        self.weights = weights   # device arrays, in param order; None when unbound
        self.placements = placements                 # per argument of @main: a device or a jax Sharding
        self.result_placements = result_placements   # per result, with a mesh: its jax Sharding

    def run_device(self, values):
        import jax

        if self.weights is None:
            check_params(self.fn, {})   # raises, naming the first missing weight
        placements = [p for a, p in zip(self.fn.args, self.placements, strict=True) if a.param is None]
        args = interleave(self.fn, [_place(v, p, self.on_device(v)) for v, p in zip(values, placements,
                                                                                     strict=True)],
                          self.weights or [])
        try:
            if self.result_placements is None:
                return list(self.loaded.execute(args))
            shards = self.loaded.execute_sharded(args).disassemble_into_single_device_arrays()
            return [jax.make_array_from_single_device_arrays(t.shape, p, list(pieces))
                    for t, p, pieces in zip(self.result_types, self.result_placements, shards, strict=True)]
        except Exception as e:   # jax.errors.JaxRuntimeError and friends
            raise RunError(f"XLA failed to run @{self.fn.name}: {e}") from None

    def on_device(self, value) -> bool:
        import jax

        return isinstance(value, jax.Array)

    def to_host(self, value) -> np.ndarray:
        return np.array(value, copy=True)

    def optimized_hlo(self) -> str:
        """XLA's HLO after its optimization passes, as text."""
        return "\n\n".join(m.to_string() for m in self.loaded.hlo_modules())


class XlaBackend(Backend):
    """XLA's CPU compiler through JAX's PJRT client; weights are ordinary arguments."""

    name = "xla-cpu"

    def compile(self, module: LoweredModule, options: CompileOptions, emit: Emit = no_emit) -> XlaExecutable:
        """Compile and load `module`; weights in `options.params` go to the device once.
        Raises CompileError with XLA's message when XLA rejects the module."""
        import jax
        from jaxlib import xla_client as xc

        fn = module.function
        backend, device = _client()
        devices, placements, result_placements = _placements(module)
        timer = Timer()
        try:
            loaded = backend.compile_and_load(module.text, xc.DeviceList(tuple(devices)),
                                              _spmd_options(module, devices))
        except Exception as e:
            raise CompileError(f"XLA failed to compile the module: {str(e).strip()[:1500]}") from None
        emit(StageEvent("xla.compile", seconds=timer.seconds, start=timer.start))
        exe = XlaExecutable(fn, loaded, None, placements, result_placements)
        emit(StageEvent("xla.hlo", exe.optimized_hlo(), ".txt"))
        if fn.params and options.params:
            where = {a.param: p for a, p in zip(fn.args, placements, strict=True) if a.param is not None}
            exe.weights = [jax.device_put(w, where[k]) for k, w in bind_params(fn, options.params).items()]
        elif not fn.params:
            exe.weights = []
        return exe


def _place(value, placement, on_device: bool):
    """`value` on its device or sharded over the mesh (a device array is moved only when
    it is placed otherwise)."""
    import jax

    if on_device and (not hasattr(placement, "mesh") or value.sharding == placement):
        return value
    return jax.device_put(value, placement)
