"""Sharding plans for the model families (docs/sharding.md): which weights, inputs and
results are split over a device mesh, so that XLA's SPMD partitioner (target `xla-cpu`)
runs one model across the mesh's devices.  The models' code is untouched: a plan names
weights by their state_dict keys and is applied to every trace inside
`ptir.functional.sharding_plan(plan)`.

* GPT-2, tensor parallelism in the Megatron pattern (Shoeybi et al. 2019, "Megatron-LM",
  section 3): the QKV projection `attn.c_attn` and the first MLP projection `mlp.c_fc` are
  split by columns (their outputs by features: each device holds some heads' queries,
  keys and values and some MLP units), the attention output `attn.c_proj` and the second
  MLP projection `mlp.c_proj` by rows (each device's partial product is summed by one
  all-reduce per projection).  The KV caches are split by heads.  Embeddings, layer norms
  and the row-split layers' biases are replicated.  HF's c_attn stores [q | k | v] side
  by side, so its contiguous column blocks do not line up with head groups; XLA moves
  the misplaced q/k/v columns between devices (collective-permutes, docs/sharding.md
  gives the volume).
* Vision models, data parallelism: the images are split by batch, every weight is
  replicated, the logits stay split by batch (gathered when read); inference needs no
  collective at all.

Every plan splits over all the mesh's axes at once (x major), so `x=2,y=2` is 4-way.
"""

from __future__ import annotations

import re
import sys

from ptir.dialect.sharding import Mesh, Spec
from ptir.errors import UsageError
from ptir.functional.sharding import ShardingPlan, parse_mesh
from ptir.runtime.stages import Observer
from ptir.runtime.xla_backend import collective_traffic, device_problem, request_cpu_devices

# GPT-2's weights split by the Megatron pattern: state_dict key pattern -> which dim is split
# ("col": the output features, dim 1 of HF's (in, out) Conv1D weight; "row": the input
# features, dim 0; "vec": a column-split layer's bias).
MEGATRON = (("*.attn.c_attn.weight", "col"), ("*.attn.c_attn.bias", "vec"),
            ("*.mlp.c_fc.weight", "col"), ("*.mlp.c_fc.bias", "vec"),
            ("*.attn.c_proj.weight", "row"), ("*.mlp.c_proj.weight", "row"))


def gpt2_tensor_parallel(mesh: Mesh) -> ShardingPlan:
    """GPT-2 split over `mesh` in the Megatron pattern (module docstring); KV caches
    (B, n_head, capacity, head_dim), the only rank-4 arguments and results of the
    generation programs, are split by heads."""
    a = mesh.names
    dims = {"col": ((), a), "row": (a, ()), "vec": (a,)}
    heads: Spec = ((), a, (), ())
    return ShardingPlan(mesh, tuple((p, dims[d]) for p, d in MEGATRON), ((4, heads),), ((4, heads),))


def data_parallel(mesh: Mesh) -> ShardingPlan:
    """A vision model over `mesh`: images (N, C, H, W) and logits (N, classes) split by
    batch, weights replicated."""
    a = mesh.names
    return ShardingPlan(mesh, (), ((4, (a, (), (), ())),), ((2, (a, ())),))


def plan_for(family, config: dict, mesh: Mesh, batch: int = 1) -> ShardingPlan:
    """The plan of `family` (gpt2: tensor parallel; a vision family: data parallel over
    `batch` images), checked before anything is traced: UsageError naming the dim that
    the mesh does not divide, or for a family without a plan."""
    n = mesh.size
    where = f"--mesh {mesh_text(mesh)}"
    if family.kind not in ("vision", "lm") or (family.kind == "lm" and family.name != "gpt2"):
        raise UsageError(f"{where}: {family.name} has no sharding plan (models/parallel.py)")
    if family.kind == "lm":
        if config["n_head"] % n:
            raise UsageError(f"{where}: tensor parallelism splits {family.name}'s {config['n_head']} heads over "
                             f"{n} devices, and {n} does not divide {config['n_head']}")
        inner = config.get("n_inner") or 4 * config["n_embd"]
        if inner % n:
            raise UsageError(f"{where}: {n} devices do not divide {family.name}'s MLP width {inner}")
        return gpt2_tensor_parallel(mesh)
    if batch % n:
        raise UsageError(f"{where}: data parallelism splits the batch of {batch} over {n} devices, and {n} does "
                         f"not divide {batch} (give --batch a multiple of {n})")
    return data_parallel(mesh)


def mesh_plan(text: str | None, target: str, family, config: dict, batch: int = 1) -> ShardingPlan | None:
    """The plan of a `--mesh TEXT` option (None without one); off xla-cpu a one-line
    notice on stderr says the shardings are ignored.  Asks for enough virtual CPU devices
    when JAX has not started.  UsageError for a malformed mesh, one that does not divide
    the model (plan_for), or one larger than XLA's device count."""
    if text is None:
        return None
    mesh = parse_mesh_option(text)
    if target != "xla-cpu":
        print(f"ptirc: note: --mesh {text} is ignored on {target}: shardings run on xla-cpu only "
              "(this runs on one device)", file=sys.stderr)
        return None
    plan = plan_for(family, config, mesh, batch)
    request_cpu_devices(mesh.size)
    problem = device_problem(mesh.size)
    if problem:
        raise UsageError(f"--mesh {mesh_text(mesh)}: the mesh {problem}")
    return plan


def mesh_text(mesh: Mesh) -> str:
    """The command-line form of `mesh`: x=2,y=2."""
    return ",".join(f"{name}={size}" for name, size in mesh.axes)


class CollectiveCounter(Observer):
    """Observes compiles and keeps the collectives XLA inserted into each (stage
    `xla.hlo`), in compile order: a list of (entry name, collective_traffic dict)."""

    def __init__(self):
        self.programs: list[tuple[str, dict]] = []

    def stage(self, job, event) -> None:
        """Count the collectives of an optimized HLO stage."""
        if event.stage == "xla.hlo":
            self.programs.append((job.name, collective_traffic(event.content)))


def traffic_text(traffic: dict) -> str:
    """One line for a collective_traffic dict: `all-reduce 4 ops 64.0 KiB; ...`, or `none`."""
    parts = [f"{kind} {t['ops']} ops {_kib(t['bytes'])}" for kind, t in traffic.items() if t["ops"]]
    return "; ".join(parts) or "none"


def _kib(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.2f} MiB"


def parse_mesh_option(text: str) -> Mesh:
    """The Mesh of `--mesh TEXT` (x=2 or x=2,y=2); UsageError naming the rule."""
    try:
        return parse_mesh(text)
    except ValueError as e:
        raise UsageError(f"--mesh: {re.sub(r'^ptir.mesh ', '', str(e))}") from None


def generation_vs_one_device(family, config: dict, weights: dict, prompt: list[int], steps: int, target: str,
                             plan: ShardingPlan) -> dict:
    """Greedy generation (KV cache) under `plan` against the same on one device: how many
    leading tokens agree, and the largest difference of the next-token logits along the
    sharded run's tokens."""
    import numpy as np

    from ptir.functional.sharding import sharding_plan

    from .generate import generator
    from .gpt2 import leading_agreement

    runs = []
    for p in (plan, None):
        with sharding_plan(p):
            gen = generator(family, config, weights, target)
            tokens = list(gen.generate(prompt, steps))
            runs.append((tokens, gen.logits_along(prompt, runs[0][0] if runs else tokens)))
    (tokens, logits), (single_tokens, single_logits) = runs
    return {"steps": steps, "agree": leading_agreement(tokens, single_tokens), "tokens": tokens,
            "one_device_tokens": single_tokens, "max_logit_diff": float(np.abs(logits - single_logits).max())}
