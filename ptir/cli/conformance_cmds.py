"""`ptirc conformance`: every op, functional and (with --models) model against PyTorch,
on each target, baseline and optimized."""

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
    p.set_defaults(handler=cmd_conformance)


def cmd_conformance(args) -> int:
    from ptir.conformance.runner import CONFIG, PIPELINES, all_cases, failures, report_json, select
    from ptir.conformance.tolerance import load_rules

    from ..runtime import TARGETS

    rules = load_rules(args.rules or CONFIG)
    cases = select(all_cases(models=args.models), args.pattern)
    if not cases:
        raise UsageError(f"no case matches -k {args.pattern!r}")
    if args.list:
        for c in cases:
            print(f"{c.name}\t{c.covers}")
        return 0
    targets = args.target or list(TARGETS)
    results = _run_with_progress(cases, targets, rules, len(PIPELINES))
    report = report_json(results)
    if args.report:
        with atomic_output(args.report, "w") as f:
            json.dump(report, f, indent=1)
    _print(results, report, args.format)
    return 1 if failures(results) else 0


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
