"""`ptirc conformance`: every op, functional and (with --models) model against PyTorch,
on each target, baseline and optimized; with --onnx, ONNX's own backend test cases."""

from __future__ import annotations

import json
import sys

from ..errors import UsageError
from .io import add_output, atomic_output


def register(sub) -> None:
    from ..runtime import TARGETS

    p = sub.add_parser(
        "conformance", help="check ops, functionals and models against PyTorch",
        description="Run the conformance suite: each case on each --target, without passes (baseline) and "
                    "with the default pipeline (optimized), compared with torch under the tolerance rules "
                    "of configs/conformance.json. Exits 1 when any case fails.")
    p.add_argument("--target", "-t", action="append", choices=list(TARGETS), metavar="TARGET",
                   help=f"a target to check (repeatable; default all: {', '.join(TARGETS)})")
    p.add_argument("-k", dest="pattern", metavar="PATTERN", help="only cases whose name matches (glob or substring)")
    p.add_argument("--models", action="store_true", help="also check the full models (tiny configurations)")
    p.add_argument("--rules", metavar="FILE", help="tolerance rules (default configs/conformance.json)")
    add_output(p, "--report", metavar="REPORT.json", help="write the JSON report here")
    p.add_argument("--format", choices=("table", "json", "md"), default="table", help="what to print at the end")
    p.add_argument("--list", action="store_true", help="list the selected cases and exit")
    p.add_argument("--onnx", nargs="?", const="all", choices=("node", "models", "all", "ci"), metavar="SET",
                   help="run ONNX's backend test cases instead: node, models (light model zoo, pytorch-converted, "
                        "pytorch-operator, simple), all (the default), or ci (the CI sample); each imported, "
                        "compiled with the default pipeline and compared with ONNX's expected outputs")
    p.set_defaults(handler=cmd_conformance)


def cmd_conformance(args) -> int:
    from ptir.conformance.runner import CONFIG, PIPELINES, all_cases, failures, report_json, select
    from ptir.conformance.tolerance import load_rules

    from ..runtime import TARGETS

    rules = load_rules(args.rules or CONFIG)
    if args.onnx:
        return _onnx(args, rules, args.target or list(TARGETS))
    cases = select(all_cases(models=args.models), args.pattern)
    if _listed(cases, args, lambda c: f"{c.name}\t{c.covers}"):
        return 0
    targets = args.target or list(TARGETS)
    results = _run_with_progress(cases, targets, rules, len(PIPELINES))
    report = report_json(results)
    if args.report:
        with atomic_output(args.report, "w") as f:
            json.dump(report, f, indent=1)
    _print(results, report, args.format)
    return 1 if failures(results) else 0


def _listed(cases, args, line) -> bool:
    """Whether the command is done once its cases are chosen: UsageError when none matches
    -k; with --list, one `line(case)` each is printed and it is."""
    if not cases:
        raise UsageError(f"no case matches -k {args.pattern!r}")
    if args.list:
        for c in cases:
            print(line(c))
    return args.list


def _run_with_progress(cases, targets, rules, n_pipelines):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ptir.conformance.runner import run_suite

    total = len(cases) * len(targets) * n_pipelines
    with Progress(TextColumn("conformance"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True, console=_stderr_console()) as bar:
        task = bar.add_task("cases", total=total)
        return run_suite(cases, targets, rules, progress=lambda n: bar.advance(task, n))


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def _print(results, report, fmt: str) -> None:
    from ptir.conformance.runner import COLUMNS, failures, report_markdown, rows, summary

    if fmt == "json":
        json.dump(report, sys.stdout, indent=1)
        print()
        return
    if fmt == "md":
        print(report_markdown(results))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(*COLUMNS, box=None, pad_edge=False)
        style = {"ok": "green", "fail": "bold red", "xfail": "yellow", "xpass": "magenta"}
        for row, r in zip(rows(results), results, strict=True):
            table.add_row(*row, style=style[r.status] if r.status != "ok" else None)
        Console(width=200).print(table)
    counts = summary(results)
    print(", ".join(f"{n} {s}" for s, n in counts.items()))
    for r in failures(results) + [r for r in results if r.status == "xpass"]:
        print(f"{r.status}: {r.test} [{r.target}, {r.pipeline}]: {r.message}", file=sys.stderr)


def _onnx(args, rules, targets: list[str]) -> int:
    """ONNX's backend test cases on each target: a line of counts per target (and each
    count's share of all cases), the commonest reasons, the failures; exit 1 on a failure."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ptir.conformance import onnx_cases

    kinds = {"node": ("node",), "ci": ("node",), "models": onnx_cases.KINDS[1:], "all": onnx_cases.KINDS}[args.onnx]
    cases = onnx_cases.select(onnx_cases.cases(kinds), args.pattern, ci=args.onnx == "ci")
    if _listed(cases, args, lambda c: c.test):
        return 0
    results = {}
    with Progress(TextColumn("onnx {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True, console=_stderr_console()) as bar:
        for target in targets:
            task = bar.add_task(target, total=len(cases))
            results[target] = onnx_cases.run_cases(cases, target, rules, progress=lambda n, t=task: bar.advance(t, n))
    report = {target: {"summary": onnx_cases.summary(rs), "cases": [r.as_json() for r in rs]}
              for target, rs in results.items()}
    if args.report:
        with atomic_output(args.report, "w") as f:
            json.dump(report, f, indent=1)
    if args.format == "json":
        json.dump({t: r["summary"] for t, r in report.items()}, sys.stdout, indent=1)
        print()
    else:
        print(onnx_cases.summary_markdown(results))
    failed = [r for rs in results.values() for r in rs if r.status == "failed"]
    for r in failed:
        print(f"failed: {r.test} [{r.target}]: {r.reason}", file=sys.stderr)
    return 1 if failed else 0
