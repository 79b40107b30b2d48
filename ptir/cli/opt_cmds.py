"""`ptirc opt`: run optimizer passes on a PTIR file and print the result."""

from __future__ import annotations

import sys

from ..errors import UsageError
from .io import load_program

AFTER = "// ----- after {} -----"


def register(sub) -> None:
    from ..passes import DEFAULT_PIPELINE

    p = sub.add_parser("opt", help="optimize a PTIR file",
                       description="Run optimizer passes on FILE and print the resulting program in canonical "
                                   "form. Every pass keeps results bit for bit.")
    p.add_argument("file", metavar="FILE", nargs="?", help="a .ptir file, or - for standard input")
    p.add_argument("--passes", metavar="A,B,...", default=",".join(DEFAULT_PIPELINE),
                   help=f"comma-separated passes to run in order (default: {','.join(DEFAULT_PIPELINE)}); "
                        "see --list")
    p.add_argument("--fold-params", action="store_true",
                   help="then hoist the work on weights (ptir.param arguments) out of the entry function, and "
                        "print the program that computes the new weights after the result")
    p.add_argument("--entry", default="main", metavar="NAME", help="the function --fold-params works on")
    p.add_argument("--print-after-all", action="store_true",
                   help=f"print '{AFTER.format('<pass>')}' and the program after every pass "
                        "(the last one is the result)")
    p.add_argument("--list", action="store_true", help="list the passes with what they do, and exit")
    p.set_defaults(handler=cmd_opt)


def cmd_opt(args) -> int:
    from ..passes import PASSES, fold_params, resolve, run_pipeline

    if args.list:
        width = max(map(len, PASSES))
        for p in PASSES.values():
            print(f"{p.name:<{width}}  {p.description}" + (" (reassociates floats)" if p.reassociates else ""))
        return 0
    if args.file is None:
        raise UsageError("opt needs a FILE (or --list)")
    passes = resolve(args.passes)    # unknown names fail before any work
    program = load_program(args.file)
    if args.fold_params:
        program.entry(args.entry)

    def show(name, prog):
        print(AFTER.format(name))
        sys.stdout.write(str(prog))

    program = run_pipeline(program, [p.name for p in passes], show if args.print_after_all else None)
    transform = None
    if args.fold_params:
        program, transform = fold_params(program, args.entry)
        if args.print_after_all:
            show("fold-params", program)
    if not args.print_after_all:
        sys.stdout.write(str(program))
    if transform is not None:
        print("// ----- fold-params: the new weights, computed from the original ones -----")
        for n in transform.names:
            print(f"// {n} <- {', '.join(transform.sources[n])}")
        sys.stdout.write(str(transform.program))
    return 0
