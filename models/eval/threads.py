"""Thread control: how many threads torch and IREE use during a workload, and how each
implementation was told (XLA's pool is not settable per process)."""

from __future__ import annotations

from ptir.errors import UsageError


def set_threads(threads: int | None) -> dict[str, str]:
    """Use `threads` threads where each implementation lets us; says how, per implementation.

    Returns implementation ("torch", "llvm-cpu", "xla-cpu", "ref") -> how its threads are set.
    None keeps each one's default.  UsageError if `threads` < 1."""
    import torch

    from ptir.runtime.iree_backend import set_task_workers

    if threads is not None:
        if threads < 1:
            raise UsageError(f"--threads must be >= 1, not {threads}")
        torch.set_num_threads(threads)
    how = {"torch": f"torch.set_num_threads({torch.get_num_threads()})",
           "xla-cpu": "XLA's own thread pool (not settable per process)", "ref": "numpy"}
    n = set_task_workers(threads)
    how["llvm-cpu"] = f"IREE local-task, {n} workers" if n else "IREE local-task, default workers (one per core)"
    return how
