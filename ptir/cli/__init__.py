"""`ptirc`: the PTIR command line.

Each command lives in a module of this package that defines `register(subparsers)`;
`main` turns every PtirError into one line `file:line:col: error: ...` and an exit
code (1 for errors in the input, 2 for usage), never a Python traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import PtirError, UsageError
from .io import check_outputs

COMMAND_MODULES = ("program_cmds", "import_cmds", "lower_cmds", "opt_cmds", "conformance_cmds", "generate_cmds",
                   "export_cmds", "eval_cmds")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = _Parser(prog="ptirc", description="PTIR: verify, optimize, lower and run portable tensor "
                     "programs on IREE (llvm-cpu), XLA (xla-cpu) and the numpy reference (ref).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"ptirc: warning: {message}\n"   # the user needs the message, not our source line


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.formatwarning = _one_line_warning
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_outputs(args)   # before any work: a bad output path fails in a moment, not after a compile
        return args.handler(args) or 0
    except UsageError as e:
        print(f"ptirc: {e}", file=sys.stderr)
        return 2
    except PtirError as e:
        print(str(e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ptirc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except MemoryError:   # the machine's, not the input's limit: say what to try
        print("ptirc: error: out of memory (the program's tensors or a model's weights do not fit; "
              "try a smaller size or batch)", file=sys.stderr)
        return 1
    except OSError as e:   # the environment (disk full, permissions) rather than ptirc
        where = f"{e.filename}: " if e.filename else ""
        print(f"ptirc: error: {where}{e.strerror or e}", file=sys.stderr)
        return 1
    except Exception as e:  # a bug in ptirc itself: say so plainly, traceback only on request
        if os.environ.get("PTIR_DEBUG"):
            raise
        print(f"ptirc: internal error: {type(e).__name__}: {e} (set PTIR_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
