"""PTIR's functionals against PyTorch's own OpInfo samples (torch.testing's `op_db`).

For each `ptir.functional` function with a counterpart in `op_db` (`ENTRIES`, matched by
OpInfo name and variant), every sample `op.sample_inputs("cpu", dtype)` gives is traced
through the functional (its tensors as program arguments, everything else as given),
run on a target and compared with what torch's OpInfo op returns for the same sample.
Each sample is one of:

- ok: same number of results, shapes and dtypes, values within `TOLERANCE[dtype]`;
- refused: the functional raised a PtirError at capture (its validation message is kept);
- wrong: a result differs from torch's (a bug);
- crashed: any other exception, at capture, compile or run (a bug);
- skipped: torch itself rejects the sample, or the sample needs training mode (dropout
  with p > 0, batch norm's batch statistics), or a dtype the target does not carry
  (f64 on llvm-cpu, docs/semantics.md); counted apart, with the reason.

The share is ok / (ok + refused + wrong + crashed).  Samples are compiled in batches, one
program holding many samples (`BATCH`); a batch that fails to compile or run is split
until the failing sample is found, so one bad sample never hides the others.

    python -m ptir.conformance.opinfo --target llvm-cpu [--target xla-cpu] [-k max_pool]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

import ptir
import ptir.functional as F
from ptir.errors import PtirError

OK, REFUSED, WRONG, CRASHED, SKIPPED = "ok", "refused", "wrong", "crashed", "skipped"
STATUSES = (OK, REFUSED, WRONG, CRASHED, SKIPPED)

# rtol = atol per result dtype (numpy name); integers and booleans must be equal.
TOLERANCE = {"float16": 1e-2, "bfloat16": 2e-2, "float32": 1e-4, "float64": 1e-7}

BATCH = 48            # samples per compiled program
MAX_OPS = 4000        # ... and at most this many ops in one


def _training(flag: str, default: bool = False) -> Callable:
    """A sample needs training mode when keyword `flag` (default `default`) is true."""
    return lambda args, kwargs: bool(kwargs.get(flag, default))


def _dropout_training(args, kwargs) -> bool:
    # torch.nn.functional.dropout(input, p=0.5, training=True): random unless p == 0 or training=False
    p = args[0] if args else kwargs.get("p", 0.5)
    return bool(kwargs.get("training", args[1] if len(args) > 1 else True)) and p > 0


def _topk_ties(input, args, kwargs, got: list, want: list) -> list:
    """torch leaves open which of tied values' indices topk returns (integer samples tie
    often): indices that pick torch's values, each once, count as torch's."""
    dim = args[1] if len(args) > 1 else kwargs.get("dim", -1)
    values, indices = got
    if np.ndim(input) == 0 or indices.shape != want[1].shape or _compare([values], want[:1]):
        return got
    picked = np.take_along_axis(input, indices.astype(np.int64), dim)
    once = np.all(np.diff(np.sort(indices, axis=dim), axis=dim) != 0)
    return [values, want[1]] if once and not _compare([picked], want[:1]) else got


@dataclass(frozen=True)
class Entry:
    """One OpInfo (name, variant) and the functional it checks.

    call(input, args, kwargs) calls the functional as the OpInfo's `op` takes the sample
    (default: `F.<functional>(input, *args, **kwargs)`); training(args, kwargs) tells a
    sample that needs training mode (skipped); ties(input, args, kwargs, got, want) gives
    `got` with results torch leaves open replaced by torch's when they are as valid."""

    opinfo: str
    functional: str
    variant: str = ""
    call: Callable | None = None
    training: Callable | None = None
    ties: Callable | None = None

    @property
    def key(self) -> str:
        return self.opinfo + (f".{self.variant}" if self.variant else "")

    def apply(self, input, args, kwargs):
        if self.call is not None:
            return self.call(input, args, kwargs)
        return getattr(F, self.functional)(input, *args, **kwargs)


def _e(opinfo: str, functional: str | None = None, variant: str = "", **kw) -> Entry:
    return Entry(opinfo, functional or opinfo.rsplit(".", 1)[-1], variant, **kw)


# The functionals with a counterpart in op_db.  Left out: OpInfos of other functions that
# share a name (masked.*, torch.trace), and variants with no real dtype on CPU
# (silu.complex, batch_norm.without_cudnn).
ENTRIES = [
    _e("nn.functional.relu"), _e("nn.functional.relu6"), _e("nn.functional.gelu"), _e("nn.functional.silu"),
    _e("sigmoid"), _e("tanh"), _e("exp"), _e("log"), _e("sqrt"), _e("rsqrt"), _e("erf"), _e("sin"), _e("cos"),
    _e("maximum"), _e("minimum"), _e("clamp"),
    _e("where", call=lambda x, a, k: F.where(a[0], x, a[1], **k)),
    _e("softmax"), _e("softmax", variant="with_dtype"), _e("log_softmax"), _e("log_softmax", variant="with_dtype"),
    _e("nn.functional.layer_norm"), _e("nn.functional.rms_norm"),
    _e("nn.functional.batch_norm", training=_training("training")),
    _e("nn.functional.linear"), _e("matmul"), _e("bmm"), _e("bmm", variant="triton_optimized"),
    _e("nn.functional.conv2d"), _e("nn.functional.max_pool2d"), _e("nn.functional.avg_pool2d"),
    _e("nn.functional.adaptive_avg_pool2d"),
    _e("nn.functional.scaled_dot_product_attention", training=lambda a, k: k.get("dropout_p", 0.0) > 0),
    _e("nn.functional.embedding", call=lambda w, a, k: F.embedding(a[0], w, **k)),
    _e("nn.functional.dropout", training=_dropout_training),
    *(_e("nn.functional.pad", variant=v) for v in ("constant", "reflect", "replicate", "replicate_negative",
                                                   "circular")),
    _e("cat"), _e("narrow"), _e("split"), _e("split", variant="list_args"), _e("argmax"), _e("topk", ties=_topk_ties),
]


@dataclass
class Outcome:
    """What one sample (`index` among its entry's samples of `dtype`) gave on one target."""

    entry: str
    dtype: str
    index: int
    status: str
    detail: str = ""
    sample: str = ""


@dataclass
class _Sample:
    """A sample ready to run: its tensors as arrays and the call that takes them back."""

    entry: Entry
    dtype: str
    index: int
    text: str
    arrays: list[np.ndarray] = field(default_factory=list)
    rebuild: Callable | None = None      # traced tensors -> (input, args, kwargs)
    want: list[np.ndarray] = field(default_factory=list)
    skip: str = ""
    program: ptir.Program | None = None  # the sample captured alone (checks refusals)
    dtypes: set = field(default_factory=set)

    def call(self, *xs):
        return self.entry.apply(*self.rebuild(xs))

    def outcome(self, status: str, detail: str = "") -> Outcome:
        return Outcome(self.entry.key, self.dtype, self.index, status, detail, self.text)


def _describe(v) -> str:
    if isinstance(v, torch.Tensor):
        return f"{str(v.dtype).removeprefix('torch.')}{list(v.shape)}"
    if isinstance(v, list | tuple) and not isinstance(v, torch.Size):
        inner = ", ".join(_describe(i) for i in v)
        return f"[{inner}]" if isinstance(v, list) else f"({inner}{',' if len(v) == 1 else ''})"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}={_describe(i)}" for k, i in v.items()) + "}"
    return repr(tuple(v)) if isinstance(v, torch.Size) else repr(v)


def _numpy_dtype(d: torch.dtype) -> np.dtype:
    return torch.empty((), dtype=d).numpy().dtype


def _flatten(value, arrays: list):
    """`value` with each tensor replaced by its slot in `arrays` (appended), torch dtypes
    by numpy's and torch.Size by a tuple; returns a function of the traced tensors giving
    the value back."""
    if isinstance(value, torch.Tensor):
        i = len(arrays)
        arrays.append(value.detach().cpu().numpy().copy())
        return lambda xs: xs[i]
    if isinstance(value, torch.dtype):
        d = _numpy_dtype(value)
        return lambda xs: d
    if isinstance(value, torch.Size):
        return lambda xs, v=tuple(value): v
    if isinstance(value, list | tuple):
        parts = [_flatten(v, arrays) for v in value]
        kind = list if isinstance(value, list) else tuple
        return lambda xs: kind(p(xs) for p in parts)
    if isinstance(value, dict):
        parts = {k: _flatten(v, arrays) for k, v in value.items()}
        return lambda xs: {k: p(xs) for k, p in parts.items()}
    return lambda xs: value


def _results(value) -> list:
    """The tensors of a result (a tensor, or a tuple or list of them) in order."""
    if isinstance(value, tuple | list):
        return [r for v in value for r in _results(v)]
    return [value]


def _prepare(entry: Entry, op, dtype: str, index: int, sample) -> _Sample:
    inp, args, kwargs = sample.input, tuple(sample.args), dict(sample.kwargs)
    s = _Sample(entry, dtype, index, _describe(inp) + " " + _describe(args) + " " + _describe(kwargs))
    if entry.training is not None and entry.training(args, kwargs):
        s.skip = "needs training mode"
        return s
    s.rebuild = _flatten((inp, args, kwargs), s.arrays)   # copies, before torch runs: some ops write their inputs
    try:
        with torch.no_grad():
            want = _results(op(inp, *args, **kwargs))
    except Exception as e:   # torch's own verdict on the sample: not ours to judge
        s.skip = f"torch rejects it: {str(e).splitlines()[0][:100]}"
        return s
    s.want = [w.detach().cpu().numpy() for w in want]
    s.dtypes = {a.dtype.name for a in s.arrays + s.want} | {
        v.name for v in _leaves(s.rebuild(s.arrays)) if isinstance(v, np.dtype)}
    return s


def _leaves(value):
    if isinstance(value, list | tuple):
        for v in value:
            yield from _leaves(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    else:
        yield value


def _compare(got: list[np.ndarray], want: list[np.ndarray]) -> str:
    """'' when `got` matches `want`, else what differs."""
    if len(got) != len(want):
        return f"{len(got)} results, torch gives {len(want)}"
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        g = np.asarray(g)
        if g.shape != w.shape:
            return f"result {i}: shape {g.shape}, torch gives {w.shape}"
        if g.dtype != w.dtype:
            return f"result {i}: dtype {g.dtype}, torch gives {w.dtype}"
        tol = TOLERANCE.get(w.dtype.name)
        if tol is None:
            bad = g != w
        else:
            g64, w64 = g.astype(np.float64), w.astype(np.float64)
            with np.errstate(invalid="ignore"):
                bad = ~(np.isclose(g64, w64, rtol=tol, atol=tol, equal_nan=True) | (g64 == w64))
        if bad.any():
            at = tuple(int(j) for j in np.argwhere(bad)[0])
            return f"result {i}: {int(bad.sum())} of {w.size} elements differ, e.g. at {at}: {g[at]} vs {w[at]}"
    return ""


def _error(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:200] if text else ''}"


def _capture(s: _Sample) -> Outcome | None:
    """Trace the sample alone: a refusal or a capture crash as its outcome, else None."""
    try:
        s.program = ptir.trace(s.call, *s.arrays)
    except PtirError as e:
        return s.outcome(REFUSED, str(e).removeprefix("error: "))
    except Exception as e:
        return s.outcome(CRASHED, "capture: " + _error(e))
    return None


def _combined(batch: list[_Sample]) -> ptir.Program:
    """One program computing every sample of the batch, their arguments and results in turn."""
    if len(batch) == 1:
        return batch[0].program

    def combined(*xs):
        outs, at = [], 0
        for s in batch:
            outs += _results(s.call(*xs[at:at + len(s.arrays)]))
            at += len(s.arrays)
        return tuple(outs)

    return ptir.trace(combined, *(a for s in batch for a in s.arrays))


def _run_batch(batch: list[_Sample], target: str, passes, program: ptir.Program | None = None) -> list[Outcome]:
    """Compile the samples as one program and judge each; a batch that fails is split in
    two until the sample that fails is alone (crashed)."""
    arrays = [a for s in batch for a in s.arrays]
    flags = _QUIET if target == "llvm-cpu" else ()
    try:
        program = program or _combined(batch)
        got = _results(ptir.compile(program, target=target, passes=passes, flags=flags)(*arrays))
    except Exception as e:
        if len(batch) > 1:
            half = len(batch) // 2
            return _run_batch(batch[:half], target, passes) + _run_batch(batch[half:], target, passes)
        s = batch[0]
        return [s.outcome(CRASHED, _error(e))]
    out, at = [], 0
    for s in batch:
        mine = got[at:at + len(s.want)]
        at += len(s.want)
        if s.entry.ties is not None:
            mine = s.entry.ties(*s.rebuild(s.arrays), mine, s.want)
        diff = _compare(mine, s.want)
        out.append(s.outcome(WRONG if diff else OK, diff))
    return out


# IREE warns of uninitialised reads in a product over a zero-size dim (whose result is
# zeros and is checked like any other); the warning would flood the report.
_QUIET = ("--iree-global-opt-enable-warn-on-uninitialized-values=false",)


def _batches(samples: list[_Sample]):
    batch, ops = [], 0
    for s in samples:
        n = len(s.program.entry("main").ops)
        if batch and (len(batch) >= BATCH or ops + n > MAX_OPS):
            yield batch
            batch, ops = [], 0
        batch.append(s)
        ops += n
    if batch:
        yield batch


def _unsupported_dtype(s: _Sample, target: str) -> str:
    if target == "llvm-cpu" and "float64" in s.dtypes:
        return "f64 on llvm-cpu (IREE demotes f64 to f32: docs/semantics.md)"
    return ""


def _op_db() -> dict[tuple[str, str], object]:
    from torch.testing._internal.common_methods_invocations import op_db  # slow; only when a census runs
    return {(o.name, o.variant_test_name): o for o in op_db}


def _spread(n: int, limit: int | None) -> list[int]:
    """`limit` indices evenly spread over range(n) (all of them without a limit)."""
    if limit is None or n <= limit:
        return list(range(n))
    return sorted({round(i * (n - 1) / max(limit - 1, 1)) for i in range(limit)})


def census(targets=("ref",), names: str | None = None, dtypes=(torch.float32,), limit: int | None = None,
           passes=None, seed: int = 0) -> dict[str, list[Outcome]]:
    """Every sample of every entry (those whose key contains `names`, if given) for each
    dtype, on each target: {target: [Outcome]} in ENTRIES, dtype and sample order.

    limit: at most that many samples of each entry and dtype, evenly spread; passes: the
    optimizer pipeline (None: the default one, `()`: none); seed: torch's seed for the
    sample generators.  Samples are captured once for all targets and compiled in batches
    of any entries' samples (BATCH samples, MAX_OPS ops), each traced once for all targets."""
    ops = _op_db()
    results: dict[str, list[Outcome]] = {t: [] for t in targets}
    groups: dict[tuple, list[_Sample]] = {}   # the samples each set of targets runs
    order: dict[tuple, int] = {}              # (entry, dtype) -> its place in the report
    for entry in ENTRIES:
        if names and names not in entry.key:
            continue
        op = ops[(entry.opinfo, entry.variant)]
        for dtype in dtypes:
            if dtype not in op.supported_dtypes("cpu"):
                continue
            name = str(dtype).removeprefix("torch.")
            order[(entry.key, name)] = len(order)
            torch.manual_seed(seed)
            raw = list(op.sample_inputs("cpu", dtype, requires_grad=False))
            for i in _spread(len(raw), limit):
                s = _prepare(entry, op, name, i, raw[i])
                o = s.outcome(SKIPPED, s.skip) if s.skip else _capture(s)
                skips = {t: _unsupported_dtype(s, t) for t in targets} if o is None else {}
                for t in targets:
                    if o is not None or skips[t]:
                        results[t].append(o or s.outcome(SKIPPED, skips[t]))
                if o is None:
                    groups.setdefault(tuple(t for t in targets if not skips[t]), []).append(s)
    for group, runnable in groups.items():
        for batch in _batches(runnable):
            program = _combined(batch)
            for t in group:
                results[t] += _run_batch(batch, t, passes, program)
    return {t: sorted(r, key=lambda o: (order[(o.entry, o.dtype)], o.index)) for t, r in results.items()}


def counts(outcomes: list[Outcome]) -> dict[str, Counter]:
    """{entry key (and dtype, when there are several): Counter of statuses}, in the
    outcomes' order."""
    several = len({o.dtype for o in outcomes}) > 1
    table: dict[str, Counter] = {}
    for o in outcomes:
        table.setdefault(o.entry + (f" {o.dtype}" if several else ""), Counter())[o.status] += 1
    return table


def share(c: Counter) -> float:
    """ok / (ok + refused + wrong + crashed); 1.0 when nothing counts."""
    judged = c[OK] + c[REFUSED] + c[WRONG] + c[CRASHED]
    return c[OK] / judged if judged else 1.0


def mean_share(outcomes: list[Outcome]) -> float:
    """The entries' shares averaged, each entry (and dtype) counting once."""
    rows = counts(outcomes)
    return sum(share(c) for c in rows.values()) / len(rows) if rows else 1.0


def table(outcomes: list[Outcome], target: str) -> str:
    """The per-entry counts, the share of all samples and the mean of the entries' shares, as text."""
    rows = counts(outcomes)
    total = sum(rows.values(), Counter())
    mean = "mean of the entries' shares"
    width = max([len(k) for k in rows] + [len(mean)])
    lines = [f"OpInfo census on {target}",
             f"{'entry':<{width}}  " + "  ".join(f"{s:>7}" for s in STATUSES) + "    share"]
    for key, c in [*rows.items(), ("total", total)]:
        lines.append(f"{key:<{width}}  " + "  ".join(f"{c[s]:>7}" for s in STATUSES) + f"  {share(c):7.1%}")
    lines.append(f"{mean:<{width}}  " + " " * (9 * len(STATUSES) - 2) + f"  {mean_share(outcomes):7.1%}")
    return "\n".join(lines)


def details(outcomes: list[Outcome], statuses=(REFUSED, WRONG, CRASHED)) -> str:
    """One line per sample of the given statuses: its entry, index, sample and message."""
    return "\n".join(f"{o.status:>7} {o.entry}[{o.dtype} {o.index}] {o.sample}: {o.detail}"
                     for o in outcomes if o.status in statuses)


def main(argv=None) -> int:
    """`python -m ptir.conformance.opinfo`: print the census table of each target; exit
    1 when any sample is wrong or crashed."""
    p = argparse.ArgumentParser(prog="python -m ptir.conformance.opinfo", description=__doc__.split("\n\n")[0])
    p.add_argument("--target", action="append", help="ref, llvm-cpu or xla-cpu (repeatable; default llvm-cpu)")
    p.add_argument("-k", dest="names", help="only the entries whose OpInfo name contains this")
    p.add_argument("--dtype", action="append", help="torch dtype names (default float32)")
    p.add_argument("--limit", type=int, help="at most this many samples per entry, evenly spread")
    p.add_argument("--no-passes", action="store_true", help="compile without the optimizer (the baseline)")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="list the wrong and crashed samples (-vv: refused and skipped too)")
    a = p.parse_args(argv)
    dtypes = [getattr(torch, d) for d in a.dtype or ["float32"]]
    start = time.perf_counter()
    results = census(a.target or ["llvm-cpu"], a.names, dtypes, a.limit, () if a.no_passes else None)
    bad = 0
    for target, outcomes in results.items():
        print(table(outcomes, target))
        shown = (WRONG, CRASHED) + ((REFUSED, SKIPPED) if a.verbose > 1 else ())
        listing = details(outcomes, shown) if a.verbose else details(outcomes, (WRONG, CRASHED))
        if listing:
            print(listing)
        print()
        bad += sum(o.status in (WRONG, CRASHED) for o in outcomes)
    print(f"{time.perf_counter() - start:.0f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
