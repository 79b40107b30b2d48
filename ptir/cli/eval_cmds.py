"""`ptirc eval`: a model end to end (validate, trace, bench, run), or a suite of such runs."""

from __future__ import annotations

import csv
import io
import json
import os
import sys

from ..errors import PtirError, UsageError
from .io import add_conv_algorithm, add_output, atomic_output, count, positive, read_json

FORMATS = ("table", "json", "csv")


def register(sub) -> None:
    from ptir.models import MODELS
    from ptir.models.eval import WORKLOADS

    from ..runtime import TARGETS

    p = sub.add_parser(
        "eval", help="validate, trace, benchmark or run a model (resnet34, mobilenet_v2, gpt2)",
        description="Run a model family end to end on a target against its torch reference. Without --weights "
                    "the weights are seeded random ones of --size. validate compares the output with torch under "
                    "configs/conformance.json (test model.NAME) and exits 1 on a mismatch; trace compares layer by "
                    "layer and names the first layer out of tolerance; bench times PTIR and its peers side by side; "
                    "run prints the top-5 classes of --image (or of a random input), or generates tokens for a "
                    "language model. --suite runs every entry of a JSON file (its keys are these options; options "
                    "given here are defaults for every entry).")
    p.add_argument("--model", "-m", metavar="NAME", help=f"one of {', '.join(MODELS)}")
    p.add_argument("--workload", "-w", metavar="W", help=f"{', '.join(WORKLOADS)} (default validate)")
    p.add_argument("--target", "-t", metavar="TARGET", help=f"{', '.join(TARGETS)} (default llvm-cpu)")
    p.add_argument("--weights", metavar="W.safetensors",
                   help="weights from ptirc export, a safetensors file or a torch .pth state_dict")
    p.add_argument("--size", metavar="SIZE", help="full or tiny: the config of random weights (default full)")
    p.add_argument("--seed", type=count, help="seed of the random weights and inputs (default 0)")
    p.add_argument("--batch", type=positive, help="batch size (default 1)")
    p.add_argument("--image", metavar="FILE", help="run: a PNG/JPEG image to classify")
    p.add_argument("--threads", type=positive, metavar="N",
                   help="threads for torch and IREE's local-task workers (XLA keeps its own pool)")
    p.add_argument("--runs", type=positive, metavar="N", help="bench: timed rounds (default 20)")
    p.add_argument("--warmup", type=count, metavar="N", help="bench: warm-up rounds (default 3)")
    p.add_argument("--peers", metavar="LIST", type=lambda s: [x for x in s.split(",") if x],
                   help="bench: comma-separated implementations to compare with (default torch-eager)")
    p.add_argument("--max-tokens", type=positive, metavar="N", help="run (lm): tokens to generate (default 16)")
    p.add_argument("--iree-flag", dest="iree_flags", action="append", metavar="FLAG",
                   help="an extra iree-compile flag (llvm-cpu; repeatable), e.g. --iree-flag=--iree-opt-level=O2")
    add_conv_algorithm(p, default=None)
    p.add_argument("--mesh", metavar="AXES", help="xla-cpu: split the model over a device mesh, e.g. x=2 or "
                   "x=2,y=2 (gpt2: Megatron tensor parallel; vision: data parallel over --batch); validate also "
                   "compares with one device (docs/sharding.md)")
    p.add_argument("--weights-dtype", metavar="DTYPE",
                   help="lm: store the matmul weights in bf16 or int8 (per-channel scales), computing in f32; "
                        "validate then measures next-token agreement with f32 (default f32)")
    p.add_argument("--tolerances", metavar="FILE", help="tolerance rules (default configs/conformance.json)")
    p.add_argument("--dump-dir", metavar="DIR", help="write every compile stage's IR into DIR")
    p.add_argument("--suite", metavar="FILE", help="run the entries of a suite file (configs/suites/*.json)")
    p.add_argument("--format", "-f", choices=FORMATS, default="table", help="output format (default table)")
    add_output(p, "--plot", metavar="CHART.png",
                   help="bench: draw the comparison into a PNG (needs matplotlib)")
    p.add_argument("--profile", action="store_true", help="print the time per stage and per call (stderr)")
    add_output(p, "--trace-json", metavar="FILE", help="with --profile: write a Chrome trace JSON")
    p.set_defaults(handler=cmd_eval)


OPTION_KEYS = ("model", "workload", "target", "weights", "size", "seed", "batch", "image", "threads", "runs",
               "warmup", "peers", "max_tokens", "tolerances", "dump_dir", "iree_flags", "mesh", "weights_dtype",
               "conv_algorithm")


def cmd_eval(args) -> int:
    from ptir.models.eval import EvalOptions, evaluate

    from ..runtime.profile import Profiler

    if args.trace_json and not args.profile:
        raise UsageError("--trace-json needs --profile")
    if args.mesh is not None:
        from ptir.models.parallel import parse_mesh_option

        parse_mesh_option(args.mesh)   # a malformed mesh stops before any weights load
    given = {k: getattr(args, k) for k in OPTION_KEYS if getattr(args, k) is not None}
    if args.suite:
        runs = read_suite(args.suite, given)
    elif args.model is None:
        raise UsageError("give --model NAME (or --suite FILE)")
    else:
        runs = [EvalOptions.from_dict(given, "command line")]
    prof = Profiler()
    reports, failed = [], 0
    for opts in runs:
        try:
            report = evaluate(opts, prof)
        except UsageError:
            raise
        except PtirError as e:
            if len(runs) == 1:
                raise
            print(f"ptirc: {opts.model} {opts.workload} on {opts.target}: {e}", file=sys.stderr)
            failed += 1
            continue
        reports.append(report)
        if args.format != "json":
            sys.stdout.write(render(report, args.format))
        if not report.ok:
            print(f"ptirc: error: {report.error}", file=sys.stderr)
            failed += 1
    if args.format == "json":
        data = [r.data | {"ok": r.ok} for r in reports]
        print(json.dumps(data if args.suite else data[0], indent=1))
    if args.plot and reports:
        _plot(reports, args.plot)
    if args.profile:
        print_profile(prof, args.trace_json)
    return 1 if failed else 0


def _plot(reports, path: str) -> None:
    import tempfile

    from ptir.models.plot import plot_bench

    with atomic_output(path, "wb") as f:   # matplotlib writes by name: draw to a temp file, then move
        with tempfile.TemporaryDirectory() as d:
            tmp = os.path.join(d, "chart.png")
            plot_bench(reports, tmp)
            with open(tmp, "rb") as g:
                f.write(g.read())


def read_suite(path: str, defaults: dict) -> list:
    """The suite's runs, checked before any starts; each entry's dump goes to its own folder."""
    from ptir.models import get_model
    from ptir.models.eval import EvalOptions

    suite = read_json(path, UsageError)
    entries = suite.get("runs") if isinstance(suite, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UsageError(f"{path}: a suite is an object with 'runs': a list of objects")
    runs = []
    for i, entry in enumerate(entries):
        opts = EvalOptions.from_dict(defaults | entry, f"{path}: runs[{i}]")
        get_model(opts.model)   # an unknown model stops the suite before it starts
        if opts.dump_dir:
            opts.dump_dir = os.path.join(opts.dump_dir, f"{i:02d}-{opts.model}-{opts.workload}")
        runs.append(opts)
    return runs


def _cell(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def render(report, fmt: str) -> str:
    """A report's rows as a rich table (with its title) or CSV."""
    rows = report.rows
    columns = list(dict.fromkeys(k for r in rows for k in r))
    if fmt == "csv":
        out = io.StringIO()
        w = csv.DictWriter(out, columns, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        return out.getvalue()
    return table(report.title, columns, [[_cell(r.get(c, "")) for c in columns] for r in rows])


def table(title: str, columns: list[str], cells: list[list[str]]) -> str:
    from rich.console import Console
    from rich.table import Table

    t = Table()
    for c in columns:
        t.add_column(c, justify="left" if c in ("impl", "layer", "name", "stage", "phase", "call", "model",
                                                    "target", "rule") else "right")
    for row in cells:
        t.add_row(*row)
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    console.print(t)
    return f"{title}\n{console.file.getvalue()}"


def print_profile(prof, trace_json: str | None) -> None:
    stages, calls = prof.stage_rows(), prof.call_rows()
    sys.stderr.write(table("time per stage (self time)", ["phase", "stage", "calls", "ms"],
                           [[_cell(r[k]) for k in ("phase", "stage", "calls", "ms")] for r in stages]))
    if calls:
        keys = list(calls[0])
        sys.stderr.write(table("time per compiled call", keys, [[_cell(r[k]) for k in keys] for r in calls]))
    if trace_json:
        with atomic_output(trace_json, "w") as f:
            json.dump(prof.chrome_trace(), f)
