"""What one `ptirc eval` run is asked to do (EvalOptions, also one entry of a suite file)
and what it answers (Report)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from ptir.configs import CONFORMANCE
from ptir.errors import UsageError

CONFIG = CONFORMANCE   # the shipped tolerance rules


@dataclass
class EvalOptions:
    """One invocation of `ptirc eval` (also one entry of a suite file)."""

    model: str
    workload: str = "validate"
    target: str = "llvm-cpu"
    weights: str | None = None       # a checkpoint; without one, seeded random weights
    size: str = "full"               # of the random weights (a checkpoint carries its own config)
    seed: int = 0
    batch: int = 1
    image: str | None = None
    threads: int | None = None
    dump_dir: str | None = None
    runs: int = 20
    warmup: int = 3
    peers: list[str] = field(default_factory=lambda: ["torch-eager"])
    tolerances: str = CONFIG
    max_tokens: int = 16
    iree_flags: list[str] = field(default_factory=list)   # extra iree-compile flags (llvm-cpu)
    conv_algorithm: str = "auto"     # the conv-algorithm pass: auto (measured table) or one forced
    weights_dtype: str = "f32"       # bf16 or int8: weights stored narrow (lm; ptir.nn.quantize)
    mesh: str | None = None          # "x=2": the model split over a device mesh (xla-cpu; docs/sharding.md)

    @classmethod
    def from_dict(cls, entry: dict, where: str) -> EvalOptions:
        """The options of one suite entry (a JSON object keyed by field name); `where` names
        the entry in errors.  UsageError for an unknown key or a missing 'model'."""
        known = {f.name for f in fields(cls)}
        unknown = set(entry) - known
        if unknown:
            raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(sorted(known))})")
        if "model" not in entry:
            raise UsageError(f"{where}: needs a 'model'")
        return cls(**entry)


@dataclass
class Report:
    """A workload's result: `data` is its JSON, `rows` its table, `error` why it failed."""

    title: str
    data: dict
    rows: list[dict]
    error: str = ""

    @property
    def ok(self) -> bool:
        """Whether the workload passed (no error)."""
        return not self.error
