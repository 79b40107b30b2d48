"""The one compile pipeline: every way into a target (`ptir.compile`, `ptirc lower`,
`ptirc run`, `ptirc eval`, the conformance runner) goes through `compile` here.

    capture    a Python function or ptir.nn.Module traced on specs   (stage "ptir")
    verify     SSA and every op's type rule                          (stage "ptir")
    optimize   each pass in turn, then fold-params when weights are given   ("pass.<name>")
    lower      StableHLO, verified by MLIR, as the backend asks for it       ("stablehlo")
    compile    the target's compiler (IREE, XLA; none for ref)       ("iree.*", "xla.*")
    artifact   what the target runs, when it has a file form         ("artifact")

Each stage emits a StageEvent (runtime/stages.py) to the observers of the compile: those
passed in, a DumpDir for `dump_dir`, and those of every enclosing `observing` block
(how `ptirc eval` profiles compiles made deep inside a model family).  Observers only
watch: nothing here is replaced or wrapped at run time.
"""

from __future__ import annotations

import contextvars
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from .dialect import Program, verify
from .dialect.signature import bind_params
from .errors import UsageError
from .lower_stablehlo import LoweredModule, lower
from .passes import DEFAULT_PIPELINE, PassContext, optimize
from .passes.conv_algorithm import check_algorithm
from .runtime import CompileOptions, Executable, get_backend
from .runtime.backend import Artifact
from .runtime.stages import CompileJob, DumpDir, Observer, StageEvent, Timer
from .weights import load_params

_OBSERVERS: contextvars.ContextVar[tuple[Observer, ...]] = contextvars.ContextVar("ptir_observers", default=())

UNTIL = (None, "stablehlo")


@contextmanager
def observing(*observers: Observer) -> Iterator[None]:
    """Inside the block, every compile (and every call of what it compiled) is also
    reported to `observers`; blocks nest, inner observers after outer ones."""
    token = _OBSERVERS.set(_OBSERVERS.get() + observers)
    try:
        yield
    finally:
        _OBSERVERS.reset(token)


class Compiled:
    """A compiled entry function as a Python callable: numpy arrays in, one array out
    for one result, a tuple for several.

    `executable` is the backend's Executable (None when the pipeline stopped at
    StableHLO), `artifact` what the target runs as a file (an Artifact, e.g. the
    .vmfb bytes; None for xla-cpu and ref), `program` the program after the optimizer,
    `lowered` the StableHLO module (None for ref), `params` the weights it was bound to
    (after fold-params)."""

    def __init__(self, job: CompileJob, observers: tuple[Observer, ...], program: Program,
                 lowered: LoweredModule | None, executable: Executable | None, params: dict):
        self.job, self._observers = job, observers
        self.program, self.lowered, self.executable, self.params = program, lowered, executable, params

    @property
    def artifact(self) -> Artifact | None:
        return self.executable.artifact if self.executable is not None else None

    def __call__(self, *arrays):
        outs = [self.executable.to_host(v) for v in self.device_call(*arrays)]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def device_call(self, *values) -> list:
        """Executable.device_call, reported to the observers as one call."""
        if self.executable is None:
            raise UsageError("this program was compiled only to StableHLO (until='stablehlo'): it cannot run")
        if not self._observers:   # the hot path of a generation loop: nothing to time
            return self.executable.device_call(*values)
        timer = Timer()
        outs = self.executable.device_call(*values)
        for o in self._observers:
            o.called(self.job, timer.start, timer.seconds)
        return outs

    def to_host(self, value) -> np.ndarray:
        """A result of `device_call` as a numpy array that owns its memory."""
        return self.executable.to_host(value)


def compile(program, *specs, target: str = "ref", entry: str = "main", params=None, flags: Sequence[str] = (),
            dump_dir: str | None = None, passes: Sequence[str] | str | None = None,
            observers: Sequence[Observer] = (), until: str | None = None, conv_algorithm: str = "auto",
            **target_options) -> Compiled:
    """Compile `program`'s entry function for `target` (`ref`, `llvm-cpu`, `xla-cpu`).

    `program` is a Program, or a Python callable or ptir.nn.Module traced first on
    `specs` (TensorTypes from ptir.spec; a module's weights default to its state_dict),
    or a torch.nn.Module imported through torch.export on `specs` (example torch tensors
    or numpy arrays; ptir.importers.torch_export).
    With a Program, one positional argument names the target: `compile(prog, "llvm-cpu")`.
    `params` maps ptir.param names to arrays, or is a safetensors path.  `passes` is the
    optimizer pipeline (None: the default; `()`: none, the baseline); with weights given,
    fold-params computes the weight-only work once.  `flags` are extra IREE flags
    (llvm-cpu).  `dump_dir` receives every stage (DumpDir); `observers` see every stage.
    `until="stablehlo"` stops after lowering, with portable StableHLO (weights as
    arguments, or constants with embed_params=True) and no target compile.
    `conv_algorithm` is what the conv-algorithm pass does: `auto` (its measured table for
    the target and this host's CPU) or one of `direct`, `im2col`, `winograd2`, `winograd4`,
    `shifted`, forced on every convolution it suits.
    `target_options` are CompileOptions fields (cpu, driver, embed_params, cache).

    Raises UsageError (unknown target, option or pass), ParseError/VerifyError,
    LoweringError, CompileError (the target's compiler), RunError (bad weights).
    """
    if until not in UNTIL:
        raise UsageError(f"until must be one of {UNTIL}, not {until!r}")
    check_algorithm(conv_algorithm)
    if isinstance(program, Program) and specs:   # compile(program, "llvm-cpu"): the target by position
        (target,) = specs
    backend = get_backend(target)
    try:
        options = CompileOptions(entry=entry, flags=list(flags), **target_options)
    except TypeError:
        known = ", ".join(f for f in CompileOptions.__dataclass_fields__ if f not in ("entry", "flags", "params",
                                                                                     "scratch"))
        raise UsageError(f"unknown compile option(s) {', '.join(sorted(target_options))} (known: {known})") \
            from None
    name = program.name if isinstance(program, Program) else getattr(program, "__name__", type(program).__name__)
    job = CompileJob(name or entry, target)
    everyone = (*_OBSERVERS.get(), *observers, *((DumpDir(dump_dir),) if dump_dir else ()))
    run = _Run(job, everyone, PassContext.for_target(backend.name, options.cpu, conv_algorithm))
    for o in everyone:
        o.compile_started(job)
    ok = False
    try:
        compiled = run.stages(program, specs, params, backend, options, passes, until)
        ok = True
        return compiled
    finally:
        for o in everyone:
            o.compile_finished(job, ok)


def _is_torch_module(obj) -> bool:
    """Whether `obj` is a torch.nn.Module (without importing torch for anything else)."""
    return any(c.__module__ == "torch.nn.modules.module" and c.__name__ == "Module" for c in type(obj).__mro__)


class _Run:
    """One compile's stages, each reported to the observers as it ends."""

    def __init__(self, job: CompileJob, observers: tuple[Observer, ...], context: PassContext):
        self.job, self.observers, self.context = job, observers, context
        self.wants_ir = any(o.wants_ir for o in observers)

    def text(self, program: Program) -> str | None:
        """The program's text for a stage event, printed only when an observer wants it."""
        return str(program) if self.wants_ir else None

    def emit(self, event: StageEvent) -> None:
        for o in self.observers:
            o.stage(self.job, event)

    def stages(self, program, specs, params, backend, options: CompileOptions, passes, until) -> Compiled:
        program, params = self.capture(program, specs, params)
        program, params = self.optimize(program, params, passes, options.entry)
        options.params = dict(params or {})
        if not backend.lowers:
            lowered = None
            exe = backend.compile(program, options, self.emit)
        else:
            lowered = self.lower(program, backend, options, until)
            if until == "stablehlo":
                return Compiled(self.job, self.observers, program, lowered, None, options.params)
            exe = self.target_compile(backend, lowered, options)
        if exe.artifact is not None:
            self.emit(StageEvent("artifact", exe.artifact.data, exe.artifact.ext))
        return Compiled(self.job, self.observers, program, lowered, exe, options.params)

    def capture(self, program, specs, params):
        """Stage `ptir`: trace a callable (or take the Program), load weights, verify."""
        from .functional.capture import capture

        timer = Timer()
        if _is_torch_module(program):
            from .importers.torch_export import from_torch

            program, weights = from_torch(program, *specs)
            params = weights if params is None else params
        elif not isinstance(program, Program):
            program, params = capture(program, specs, params)
        if isinstance(params, str | os.PathLike):
            params = load_params(params)
        program = verify(program)
        self.emit(StageEvent("ptir", self.text(program), ".ptir", timer.seconds, timer.start))
        return program, params

    def optimize(self, program: Program, params, passes, entry: str):
        """Stages `pass.<name>`: each pass, then fold-params when the weights are known
        (not in the baseline, `passes=()`)."""
        if passes is None:
            passes = DEFAULT_PIPELINE
        if not passes:   # the baseline: the program exactly as given, weights included
            return program, params
        last = [time.perf_counter()]

        def on_stage(name: str, p: Program) -> None:
            now = time.perf_counter()
            self.emit(StageEvent(f"pass.{name}", self.text(p), ".ptir", now - last[0], last[0]))
            last[0] = now

        program, folded = optimize(program, params, passes, entry=entry, on_stage=on_stage, context=self.context)
        return program, folded if folded is not None else params

    def lower(self, program: Program, backend, options: CompileOptions, until) -> LoweredModule:
        """Stage `stablehlo`, in the form the backend asks for (portable with until)."""
        timer = Timer()
        fn = program.entry(options.entry)
        if until == "stablehlo":
            how = {"params_mode": "constants" if options.embed_params else "arguments"}
        else:
            how = backend.lowering(fn, options)
        weights = bind_params(fn, options.params) if how["params_mode"] == "constants" else None
        lowered = lower(program, entry=options.entry, params=weights, **how)
        self.emit(StageEvent("stablehlo", lowered.text, ".mlir", timer.seconds, timer.start))
        return lowered

    def target_compile(self, backend, lowered: LoweredModule, options: CompileOptions) -> Executable:
        """The target's compiler; its intermediate files go to a scratch folder only
        when an observer wants them, and the folder is gone when it returns."""
        if not any(o.wants_files for o in self.observers):
            return backend.compile(lowered, options, self.emit)
        options.scratch = tempfile.mkdtemp(prefix="ptir-stages-")
        try:
            return backend.compile(lowered, options, self.emit)
        finally:
            shutil.rmtree(options.scratch, ignore_errors=True)
            options.scratch = None
