"""The workloads of `ptirc eval`, for any registered model family.

    validate   the logits against the torch reference, under configs/conformance.json
    trace      layer by layer against torch forward hooks, stopping at the first layer out of tolerance
    bench      PTIR and its peers (torch eager, ...) side by side: median latency and throughput
    run        classify an image (vision) or generate tokens (lm, the family's `generate`)

Each returns a Report: its JSON form, its rows for a table or CSV, and whether it passed.
Every ptir.compile made inside a workload (ours, or one inside a family's generate) is
profiled and, with a dump directory, dumps its stages.

This module is the public surface and `evaluate`; the rest is split by concern:

    options     EvalOptions (one run, or one suite entry) and Report
    watch       the `progress` spinner and the observers of every compile (profiler, progress, dumps)
    threads     set_threads: thread control for torch and IREE
    loading     Model, load_model (with its one-entry cache) and compile_forward
    reference   the torch reference (torch_forward, first_array) and tolerance_rules
    workloads   validate (with generation_checks), trace, run (with generate)
    bench       bench, bench_lm, their summaries and versions, and the PEERS table
"""

from __future__ import annotations

import os

import ptir
from ptir.errors import RunError, UsageError
from ptir.functional.sharding import sharding_plan
from ptir.runtime.profile import Profiler

from ..base import get_model
from ..parallel import mesh_plan
from .bench import PEERS, bench
from .loading import load_model
from .narrow import check_narrow
from .options import EvalOptions, Report
from .threads import set_threads
from .watch import observers, progress
from .workloads import run, trace, validate

WORKLOADS = ("validate", "trace", "bench", "run")
WORKLOAD_FNS = {"validate": validate, "trace": trace, "bench": bench, "run": run}


def evaluate(opts: EvalOptions, prof: Profiler | None = None) -> Report:
    """Load the model and run one workload; PtirError for bad input."""
    if opts.workload not in WORKLOAD_FNS:
        raise UsageError(f"unknown workload '{opts.workload}' (known: {', '.join(WORKLOADS)})")
    from ptir.runtime import TARGETS

    if opts.target not in TARGETS:
        raise UsageError(f"unknown target '{opts.target}' (known: {', '.join(TARGETS)})")
    if opts.iree_flags and opts.target != "llvm-cpu":
        raise UsageError("--iree-flag applies only to --target llvm-cpu")
    if opts.batch < 1:
        raise UsageError(f"--batch must be >= 1, not {opts.batch}")
    if opts.image and not os.path.isfile(opts.image):   # before minutes of weights and compiling
        raise RunError(f"cannot read image {opts.image}: no such file")
    check_narrow(get_model(opts.model), opts)
    prof = prof or Profiler()
    if opts.workload != "bench":
        set_threads(opts.threads)
    model = load_model(opts)
    with ptir.observing(*observers(prof, opts.dump_dir)), \
            sharding_plan(mesh_plan(opts.mesh, opts.target, model.family, model.config,
                                    1 if opts.workload == "run" else opts.batch)):   # run: 1 image
        return WORKLOAD_FNS[opts.workload](model, opts, prof)


__all__ = ["EvalOptions", "Report", "WORKLOADS", "PEERS", "evaluate", "progress"]
